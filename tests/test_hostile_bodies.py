"""Every JSON endpoint of every service, fed hostile and schema-generated bodies: only 4xx.

Each service's app runs in-process on its own test fixtures (fakes only at the process
boundaries). For each route that reads a JSON body, ``tests.hostile`` derives hostile variants
from the route's own schemas, and hypothesis-jsonschema generates bodies that satisfy them,
which go past validation into the handlers. No answer may be a 5xx. A route that accepts a
write without declaring a schema must be one of the few that read no JSON at all.
"""
from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from tests.compute_fixtures import *  # noqa: F403
from tests.compute_fixtures import mv
from tests.hostile import GENERIC, assert_never_5xx, json_routes
from tests.identity_fixtures import *  # noqa: F403
from tests.images_fixtures import *  # noqa: F403
from tests.keymanager_fixtures import *  # noqa: F403
from tests.roles import write_routes
from tests.volumes_fixtures import *  # noqa: F403

#: Write routes that read no JSON body: grants and memberships are the URL itself, image data
#: is octet-stream, actions and tags carry no body.
NO_JSON_BODY = {
    "identity": {
        ("PUT", "/v3/domains/<target_id>/groups/<actor_id>/roles/<role_id>"),
        ("PUT", "/v3/domains/<target_id>/users/<actor_id>/roles/<role_id>"),
        ("PUT", "/v3/groups/<group_id>/users/<user_id>"),
        ("PUT", "/v3/projects/<project_id>/tags/<tag>"),
        ("PUT", "/v3/projects/<target_id>/groups/<actor_id>/roles/<role_id>"),
        ("PUT", "/v3/projects/<target_id>/users/<actor_id>/roles/<role_id>"),
        ("PUT", "/v3/roles/<prior_id>/implies/<implied_id>"),
        ("PUT", "/v3/system/groups/<actor_id>/roles/<role_id>"),
        ("PUT", "/v3/system/users/<actor_id>/roles/<role_id>"),
    },
    "image": {
        ("POST", "/v2/images/<image_id>/actions/deactivate"),
        ("POST", "/v2/images/<image_id>/actions/reactivate"),
        ("PUT", "/v2/images/<image_id>/file"),
        ("PUT", "/v2/images/<image_id>/stage"),
        ("PUT", "/v2/images/<image_id>/tags/<tag>"),
        ("PUT", "/v2/cache/<image_id>"),
        ("POST", "/v2/metadefs/namespaces/<namespace>/tags/<tag_name>"),
    },
    "compute": {("PUT", "/v2.1/servers/<server_id>/tags/<tag>")},
    "volume": set(),
    # a secret's payload is sent as itself, typed by Content-Type
    "key_manager": {("PUT", "/v1/secrets/<secret_id>")},
}
SERVICES = sorted(NO_JSON_BODY)


class Target:
    """One service's app as its admin sees it, with ids of real resources for the URLs."""

    def __init__(self, app, client, token: str, ids: dict[str, str],
                 headers: dict[str, str] | None = None) -> None:
        self.app, self.client, self.token, self.ids = app, client, token, ids
        self.headers = headers or {}

    def send(self, method: str, path: str, data: bytes):
        return self.client.open(path, method=method, data=data, headers={
            "X-Auth-Token": self.token, "Content-Type": self._content_type(method),
            **self.headers})

    def _content_type(self, method: str) -> str:
        return ("application/openstack-images-v2.1-json-patch" if method == "PATCH"
                and "image" in self.app.name else "application/json")


@pytest.fixture(params=SERVICES)
def target(request) -> Target:
    name = request.param
    if name == "identity":
        env = request.getfixturevalue("identity_env")
        return Target(env.app, env.admin.client, env.admin.token, {
            "project_id": env.ids["demo"], "user_id": env.user_ids["alice"],
            "domain_id": "default", "target_id": env.ids["demo"]})
    if name == "image":
        # The image cache on: its routes are fed too.
        env = request.getfixturevalue("make_images_env")(**{
            "image.cache_enabled": True, "image.cache_prefetcher_interval": 0})
        image = env.alice.create(name="target", disk_format="raw", container_format="bare")
        namespace = env.admin.post("/v2/metadefs/namespaces", json={
            "namespace": "target", "objects": [{"name": "o"}], "tags": [{"name": "t"}],
            "properties": {"p": {"title": "P", "type": "string"}}})
        assert namespace.status_code == 201, namespace.json
        return Target(env.app, env.admin.client, env.admin.token, {
            "image_id": image["id"], "member_id": env.bob.project_id,
            "namespace": "target", "object_name": "o", "property_name": "p",
            "tag_name": "t", "resource_type": "OS::Glance::Image"})
    if name == "compute":
        env = request.getfixturevalue("compute_env")
        server = env.create_server(metadata={"k": "v"})
        return Target(env.app, env.admin.client, env.admin.token, {
            "server_id": server, "flavor_id": "6", "key": "k",
            "project_id": env.alice.project_id}, mv("2.96"))
    if name == "key_manager":
        env = request.getfixturevalue("km_env")
        made = env.users["alice"].post("/v1/secrets", json={"name": "target"})
        assert made.status_code == 201, made.json
        admin = env.users["admin"]
        return Target(env.app, admin.client, admin.token,
                      {"secret_id": made.json["secret_ref"].rsplit("/", 1)[1]})
    env = request.getfixturevalue("volenv")
    volume = env.create(name="target")
    return Target(env.app, env.admin.client, env.admin.token, {
        "volume_id": volume["id"], "project_id": env.alice.project_id,
        "attachment_id": str(uuid.uuid4())}, {"OpenStack-API-Version": "volume 3.70"})


def test_every_write_route_declares_a_schema_or_reads_no_json(target):
    service = next(name for name in SERVICES if name in target.app.name or (
        name == "volume" and "volume" in target.app.name))
    writes = {(m, r) for m, r in write_routes(target.app) if m in ("POST", "PUT", "PATCH")}
    with_schema = {(r.method, r.rule) for r in json_routes(target.app)}
    assert writes - with_schema == NO_JSON_BODY[service]


def test_hostile_bodies_get_4xx_never_5xx(target):
    routes = json_routes(target.app)
    assert routes
    sent = sum(assert_never_5xx(target.send, route, target.ids) for route in routes)
    assert sent > len(GENERIC) * len(routes)  # generic documents plus schema variants


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(data=st.data())
def test_schema_valid_bodies_never_get_a_5xx(target, data):
    for route in json_routes(target.app):
        schema = route.schemas[0][0]
        body = data.draw(from_schema(schema), label=f"{route.method} {route.rule}")
        resp = target.send(route.method, route.path(target.ids), json.dumps(body).encode())
        assert resp.status_code < 500, (route.method, route.rule, body,
                                        resp.get_data(as_text=True)[:300])
