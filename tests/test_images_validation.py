"""Hostile input on every image route that reads a body or a number: each is a 4xx with
OpenStack's error body (400 naming the problem, 413 beyond the size limit), never a 500.

Routes are found from the app itself: every view that declares a ``@body_schema`` is sent
malformed JSON, the wrong JSON kind, unsafe JSON (NUL, lone surrogates, deep nesting,
64-bit overflow) and, for each property its schema declares, values of every wrong type,
"²" and 100 KB strings."""
from __future__ import annotations

import json
from typing import Any

import pytest

from images import schema
from tests.images_fixtures import *  # noqa: F403 - the fixtures
from tests.images_fixtures import PATCH_TYPE, Env, err

DATA = bytes(range(250)) * 40
HUGE = "x" * 100_000
HOSTILE_VALUES: list[Any] = [None, True, -1, 1.5, 2 ** 63 - 1, "²", "", HUGE, [], [HUGE],
                             {}, {"a": {"b": "²"}}, "\x7f", "a/b~c"]
UNSAFE_BODIES = [
    (b"{nope", "not valid JSON"),
    (b'{"a": "\\u0000"}', "NUL"),
    (b'{"a": "\\ud800"}', "surrogate"),
    (b'{"a": 18446744073709551616}', "64-bit"),
    (b'{"a": NaN}', "not a JSON number"),
    (b"[" * 200 + b"]" * 200, "nested deeper"),
    (('{"a":' * 100 + "1" + "}" * 100).encode(), "nested deeper"),
]


def _schema_views(env: Env) -> list[tuple[str, str, list]]:
    out = []
    for rule in env.app.url_map.iter_rules():
        view = env.app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if getattr(view, "minicloud_schemas", None):
                out.append((method, rule.rule, view.minicloud_schemas))
    return out


@pytest.fixture
def world(images_env) -> dict[str, str]:
    alice = images_env.alice
    img = alice.create(name="target", disk_format="raw", container_format="bare",
                       tags=["t"])
    alice.post(f"/v2/images/{img['id']}/members", json={"member": images_env.bob.project_id})
    resp = images_env.admin.post("/v2/metadefs/namespaces", json={
        "namespace": "ns", "objects": [{"name": "o"}], "tags": [{"name": "t"}],
        "properties": {"p": {"title": "P", "type": "string"}}})
    assert resp.status_code == 201, resp.json
    return {"image_id": img["id"], "member_id": images_env.bob.project_id, "tag": "t",
            "namespace": "ns", "object_name": "o", "property_name": "p", "tag_name": "t"}


def _send(env: Env, method: str, rule: str, world: dict[str, str], data: bytes,
          user: str = "alice"):
    path = rule
    for key, value in world.items():
        path = path.replace(f"<{key}>", value)
    ctype = PATCH_TYPE if method == "PATCH" else "application/json"
    return getattr(env, user)._call(method, path, data=data,
                                    headers={"Content-Type": ctype})


MD = "/v2/metadefs/namespaces"
METADEF_SCHEMA_VIEWS = {
    ("POST", MD), ("PUT", f"{MD}/<namespace>"), ("POST", f"{MD}/<namespace>/resource_types"),
    ("POST", f"{MD}/<namespace>/objects"), ("PUT", f"{MD}/<namespace>/objects/<object_name>"),
    ("POST", f"{MD}/<namespace>/properties"),
    ("PUT", f"{MD}/<namespace>/properties/<property_name>"),
    ("POST", f"{MD}/<namespace>/tags"), ("PUT", f"{MD}/<namespace>/tags/<tag_name>")}


def test_the_image_api_declares_a_schema_for_every_json_body(images_env):
    declared = {(m, r) for m, r, _ in _schema_views(images_env)}
    assert declared == {
        ("POST", "/v2/images"), ("PATCH", "/v2/images/<image_id>"),
        ("POST", "/v2/images/<image_id>/members"),
        ("PUT", "/v2/images/<image_id>/members/<member_id>"),
        ("POST", "/v2/images/<image_id>/import"), ("POST", "/v2/tasks"),
        *METADEF_SCHEMA_VIEWS}


def test_unsafe_or_malformed_json_is_400_everywhere(images_env, world):
    for method, rule, _ in _schema_views(images_env):
        for data, text in UNSAFE_BODIES:
            err(_send(images_env, method, rule, world, data), 400, text)
        wrong_kind = b"{}" if method == "PATCH" else b"[]"
        for data in (b"", b"null", b'"x"', b"1", wrong_kind):
            err(_send(images_env, method, rule, world, data), 400, "Malformed request body")


def test_bodies_over_the_limit_are_413(make_images_env):
    env = make_images_env(max_request_body_size="16K")
    img = env.alice.create(name="x")
    for method, rule, _ in _schema_views(env):
        world = {"image_id": img["id"], "member_id": "p", "tag": "t"}
        data = json.dumps({"name": "x" * 20_000}).encode()
        err(_send(env, method, rule, world, data), 413, "larger than")


def _bodies(method: str, schema_: dict) -> list[Any]:
    """Bodies with one hostile value in one declared place each."""
    if method == "PATCH":
        ops = []
        for value in HOSTILE_VALUES:
            ops += [[{"op": value, "path": "/x", "value": "1"}],
                    [{"op": "add", "path": value, "value": "1"}],
                    [{"add": value, "value": "1"}]]
            ops += [[{"op": "add", "path": f"/{key}", "value": value}]
                    for key in list(schema.IMAGE["properties"]) + ["custom", "tags/0"]]
        return ops
    bodies = []
    for key, spec in schema_.get("properties", {}).items():
        nested = spec.get("properties", {})
        for value in HOSTILE_VALUES:
            bodies.append({key: value})
            bodies += [{key: {inner: value}} for inner in nested]
    return bodies


@pytest.mark.parametrize("index", range(5 + len(METADEF_SCHEMA_VIEWS)))
def test_hostile_values_in_every_declared_field_are_never_a_500(images_env, world, index):
    env = images_env
    method, rule, schemas = sorted(_schema_views(env))[index]
    for body in _bodies(method, schemas[0][0]):
        resp = _send(env, method, rule, world, json.dumps(body).encode())
        assert resp.status_code < 500, (method, rule, body, resp.json)
        if resp.status_code >= 400:
            detail = next(iter(resp.json.values()))
            assert detail["code"] == resp.status_code and detail["message"]


@pytest.mark.parametrize("body", [
    {"name": "²" * 256}, {"min_ram": "²"}, {"min_disk": 2 ** 40}, {"tags": ["²" * 256]},
    {"visibility": "²"}, {"protected": "²"}, {"x": HUGE}, {"id": "²"},
])
def test_hostile_create_values_are_400(images_env, body):
    err(images_env.alice.post("/v2/images", json=body), 400, "Invalid input")


@pytest.mark.parametrize("query", [
    "limit=²", "limit=%D9%A5", "limit=+5", "limit= 5", "limit=99999999999999999999999",
    "limit=-1", "size_min=²", "size_max=1.5", "size_min=%D9%A5",
    "marker=00000000-0000-0000-0000-000000000000", "marker=%00",
])
def test_hostile_queries_are_400(images_env, query):
    err(images_env.alice.get(f"/v2/images?{query}"), 400, "")


def test_hostile_size_headers_are_ignored_not_crashing(images_env):
    env = images_env
    img = env.alice.create(name="x", disk_format="raw", container_format="bare")
    resp = env.alice.upload(img["id"], DATA, headers={"X-OpenStack-Image-Size": "²"})
    assert resp.status_code == 204
    img = env.alice.create(name="y", disk_format="raw", container_format="bare")
    resp = env.alice.upload(img["id"], DATA, headers={"X-OpenStack-Image-Size": "9" * 40})
    assert resp.status_code == 204


def test_hostile_path_segments(images_env, world):
    env = images_env
    image = world["image_id"]
    err(env.alice.put(f"/v2/images/{image}/tags/{'²' * 256}"), 400, "tag")
    err(env.alice.get("/v2/images/%C2%B2"), 404, "No image found")
    err(env.alice.get(f"/v2/images/{image}/members/%00"), 404, "not a member")
    err(env.alice.delete(f"/v2/images/{'9' * 5000}"), 404, "No image found")
