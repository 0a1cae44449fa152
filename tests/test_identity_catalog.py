"""The catalog APIs of identity (regions, services, endpoints, endpoint groups, policy blobs,
OAuth1 consumers) and the catalog tokens carry, on the Flask test client with a real
catalog database (see tests/identity_catalog_fixtures.py)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from minicloud.config import Config
from minicloud.identity.catalog import (
    build_catalog,
    cloud_entries,
    endpoint_url,
    register_cloud,
)
from minicloud.identity.catalog_models import CatalogService, Endpoint, OAuthConsumer, Region
from tests.identity_catalog_fixtures import *  # noqa: F403
from tests.identity_catalog_fixtures import CatalogEnv, err


def _by_type(catalog: list[dict]) -> dict[str, dict]:
    return {entry["type"]: entry for entry in catalog}


# -- the catalog in tokens ---------------------------------------------------------------------
def test_catalog_lists_the_registered_services(catalog_env: CatalogEnv):
    env = catalog_env
    body = env.alice.ok("GET", "/v3/auth/catalog")
    assert body["links"]["self"].endswith("/v3/auth/catalog")
    types = _by_type(body["catalog"])
    assert set(types) == {"identity", "image", "compute", "volumev3", "block-storage",
                          "key-manager"}
    assert types["identity"]["name"] == "keystone"
    [endpoint] = types["identity"]["endpoints"]
    assert endpoint["url"] == "http://127.0.0.1:5000/v3"
    assert endpoint["interface"] == "public"
    assert endpoint["region_id"] == endpoint["region"] == "RegionOne"
    project = env.alice.project_id
    for kind in ("volumev3", "block-storage"):  # the project is part of Cinder's URL
        assert types[kind]["endpoints"][0]["url"] == f"http://127.0.0.1:8776/v3/{project}"
    assert types["image"]["endpoints"][0]["url"] == "http://127.0.0.1:9292"
    assert types["key-manager"]["name"] == "barbican"
    assert types["key-manager"]["endpoints"][0]["url"] == "http://127.0.0.1:9311"


def test_catalog_follows_the_database(catalog_env: CatalogEnv):
    """Operators' services and endpoints appear; disabled ones disappear."""
    admin = catalog_env.admin
    svc = admin.ok("POST", "/v3/services", {"service": {"type": "metric", "name": "gnocchi"}},
                   201)["service"]
    ep = admin.ok("POST", "/v3/endpoints", {"endpoint": {
        "service_id": svc["id"], "interface": "internal", "region_id": "RegionOne",
        "url": "http://metric.example:8041/$(tenant_id)s/x"}}, 201)["endpoint"]
    types = _by_type(catalog_env.alice.ok("GET", "/v3/auth/catalog")["catalog"])
    assert types["metric"]["endpoints"] == [{
        "id": ep["id"], "interface": "internal", "region_id": "RegionOne",
        "region": "RegionOne",
        "url": f"http://metric.example:8041/{catalog_env.alice.project_id}/x"}]
    admin.ok("PATCH", f"/v3/endpoints/{ep['id']}", {"endpoint": {"enabled": False}})
    types = _by_type(catalog_env.alice.ok("GET", "/v3/auth/catalog")["catalog"])
    assert types["metric"]["endpoints"] == []
    admin.ok("PATCH", f"/v3/services/{svc['id']}", {"service": {"enabled": False}})
    assert "metric" not in _by_type(catalog_env.alice.ok("GET", "/v3/auth/catalog")["catalog"])


def test_token_bodies_carry_the_catalog(catalog_env: CatalogEnv):
    resp = catalog_env.client.post("/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "alice", "domain": {"id": "default"}, "password": "alice-pw"}}},
        "scope": {"project": {"id": catalog_env.alice.project_id}}}})
    assert resp.status_code == 201, resp.json
    types = _by_type(resp.json["token"]["catalog"])
    assert types["compute"]["endpoints"][0]["url"] == "http://127.0.0.1:8774/v2.1"


@pytest.mark.parametrize(("url", "expected"), [
    ("http://h/v3/$(project_id)s", "http://h/v3/P"),
    ("http://h/v1/AUTH_%(tenant_id)s", "http://h/v1/AUTH_P"),
    ("http://h/u/$(user_id)s/p/%(project_id)s", "http://h/u/U/p/P"),
    ("http://h/a%20b/100%", "http://h/a%20b/100%"),  # no placeholder: left alone
    ("http://h/$(unknown)s", None),                   # unknown: the endpoint is left out
])
def test_endpoint_url_placeholders(url, expected):
    assert endpoint_url(url, "P", "U") == expected


def test_a_placeholder_without_a_project_leaves_the_endpoint_out():
    assert endpoint_url("http://h/v3/$(project_id)s", None) is None
    assert endpoint_url("http://h/v3", None) == "http://h/v3"


def test_register_cloud_is_idempotent_and_follows_the_ports(catalog_env: CatalogEnv):
    env = catalog_env

    def rows():
        with env.db.session() as s:
            return ({e.id: (e.url, e.region_id, e.enabled) for e in s.scalars(select(Endpoint))},
                    {c.id: (c.type, c.name, c.enabled) for c in
                     s.scalars(select(CatalogService))})

    before = rows()
    register_cloud(env.db, env.conf)
    assert rows() == before
    assert len(before[0]) == len(cloud_entries(env.conf)) == 6

    image_entry = next(e for e in cloud_entries(env.conf) if e["type"] == "image")
    env.admin.ok("PATCH", f"/v3/services/{image_entry['service_id']}",
                 {"service": {"enabled": False, "description": "maintenance"}})
    moved = Config.load(env.state_dir, overrides={"image.port": 19292, "volume.port": 18776,
                                                  "DEFAULT.region": "Lab"}, environ={})
    register_cloud(env.db, moved)
    endpoints, svcs = rows()
    assert set(endpoints) == set(before[0])  # updated in place, nothing added
    assert endpoints[image_entry["endpoint_id"]] == ("http://127.0.0.1:19292", "Lab", True)
    assert svcs[image_entry["service_id"]] == ("image", "glance", False)  # operator's choice
    with env.db.session() as s:
        assert s.get(Region, "Lab") is not None
    types = _by_type(build_catalog(env.db, "P"))
    assert types["volumev3"]["endpoints"][0]["url"] == "http://127.0.0.1:18776/v3/P"


# -- regions -----------------------------------------------------------------------------------
def test_region_lifecycle(catalog_env: CatalogEnv):
    admin = catalog_env.admin
    made = admin.ok("POST", "/v3/regions", {"region": {"description": "generated"}}, 201)
    region = made["region"]
    assert len(region["id"]) == 32 and region["parent_region_id"] is None
    assert region["links"]["self"].endswith(f"/v3/regions/{region['id']}")
    child = admin.ok("POST", "/v3/regions", {"region": {
        "id": "child", "parent_region_id": region["id"], "extra_key": "kept"}}, 201)["region"]
    assert child == {**child, "id": "child", "parent_region_id": region["id"],
                     "description": "", "extra_key": "kept"}
    put = admin.ok("PUT", "/v3/regions/chosen", {"region": {"description": "by PUT"}},
                   201)["region"]
    assert put["id"] == "chosen"
    listed = admin.ok("GET", f"/v3/regions?parent_region_id={region['id']}")["regions"]
    assert [r["id"] for r in listed] == ["child"]
    assert {"RegionOne", "child", "chosen", region["id"]} <= \
        {r["id"] for r in admin.ok("GET", "/v3/regions")["regions"]}
    updated = admin.ok("PATCH", "/v3/regions/child", {"region": {
        "parent_region_id": "chosen", "description": "moved"}})["region"]
    assert (updated["parent_region_id"], updated["description"]) == ("chosen", "moved")
    assert admin.ok("GET", "/v3/regions/child")["region"]["extra_key"] == "kept"
    admin.ok("DELETE", "/v3/regions/chosen", status=204)  # its child goes with it
    err(admin.get("/v3/regions/child"), 404, "could not find region")
    admin.ok("DELETE", f"/v3/regions/{region['id']}", status=204)


def test_region_refusals(catalog_env: CatalogEnv):
    admin = catalog_env.admin
    err(admin.post("/v3/regions", {"region": {"id": "RegionOne"}}), 409, "duplicate")
    err(admin.put("/v3/regions/x", {"region": {"id": "y"}}), 400, "does not match")
    err(admin.post("/v3/regions", {"region": {"parent_region_id": "nowhere"}}), 404,
        "nowhere")
    admin.ok("POST", "/v3/regions", {"region": {"id": "a"}}, 201)
    admin.ok("POST", "/v3/regions", {"region": {"id": "b", "parent_region_id": "a"}}, 201)
    err(admin.patch("/v3/regions/a", {"region": {"parent_region_id": "b"}}), 400, "circular")
    err(admin.patch("/v3/regions/a", {"region": {"parent_region_id": "a"}}), 400, "circular")
    err(admin.patch("/v3/regions/a", {"region": {}}), 400, "")
    err(admin.post("/v3/regions", {"region": {"description": 5}}), 400, "description")
    err(admin.post("/v3/regions", {"region": {"id": "x" * 256}}), 400, "")
    err(admin.post("/v3/regions", {"regions": {}}), 400, "")
    err(admin.delete("/v3/regions/nowhere"), 404, "nowhere")
    svc = catalog_env.admin.ok("POST", "/v3/services", {"service": {"type": "t"}},
                               201)["service"]
    admin.ok("POST", "/v3/endpoints", {"endpoint": {
        "service_id": svc["id"], "interface": "public", "url": "http://x", "region_id": "b"}},
        201)
    err(admin.delete("/v3/regions/a"), 403, "associated endpoints")  # b is a's child


# -- services ----------------------------------------------------------------------------------
def test_service_lifecycle(catalog_env: CatalogEnv):
    admin = catalog_env.admin
    svc = admin.ok("POST", "/v3/services", {"service": {
        "type": "orchestration", "name": "heat", "description": "stacks"}}, 201)["service"]
    assert svc == {**svc, "type": "orchestration", "name": "heat", "description": "stacks",
                   "enabled": True}
    bare = admin.ok("POST", "/v3/services", {"service": {"type": "bare"}}, 201)["service"]
    assert "name" not in bare and "description" not in bare
    assert [s["id"] for s in admin.ok("GET", "/v3/services?type=orchestration")["services"]] \
        == [svc["id"]]
    assert [s["id"] for s in admin.ok("GET", "/v3/services?name=heat")["services"]] == \
        [svc["id"]]
    assert {"identity", "image", "compute", "orchestration", "bare"} <= \
        {s["type"] for s in admin.ok("GET", "/v3/services")["services"]}
    updated = admin.ok("PATCH", f"/v3/services/{svc['id']}",
                       {"service": {"description": "v2", "enabled": False}})["service"]
    assert (updated["description"], updated["enabled"]) == ("v2", False)
    assert admin.ok("GET", f"/v3/services/{svc['id']}")["service"] == updated
    ep = admin.ok("POST", "/v3/endpoints", {"endpoint": {
        "service_id": svc["id"], "interface": "public", "url": "http://heat"}}, 201)["endpoint"]
    admin.ok("DELETE", f"/v3/services/{svc['id']}", status=204)
    err(admin.get(f"/v3/services/{svc['id']}"), 404, "could not find service")
    err(admin.get(f"/v3/endpoints/{ep['id']}"), 404, "")  # the service's endpoints went too


@pytest.mark.parametrize("body", [
    {"service": {"name": "no-type"}},
    {"service": {"type": ""}},
    {"service": {"type": "t", "name": "   "}},
    {"service": {"type": "t", "enabled": "True"}},
    {"service": {"type": "t" * 256}},
    {"service": "t"},
    [],
])
def test_service_bad_bodies(catalog_env: CatalogEnv, body):
    err(catalog_env.admin.post("/v3/services", body), 400)


# -- endpoints ---------------------------------------------------------------------------------
def test_endpoint_lifecycle(catalog_env: CatalogEnv):
    admin = catalog_env.admin
    one = admin.ok("POST", "/v3/services", {"service": {"type": "one"}}, 201)["service"]["id"]
    two = admin.ok("POST", "/v3/services", {"service": {"type": "two"}}, 201)["service"]["id"]
    ep = admin.ok("POST", "/v3/endpoints", {"endpoint": {
        "service_id": one, "interface": "public", "url": "https://one.example",
        "region": "legacy-region"}}, 201)["endpoint"]
    assert ep == {**ep, "service_id": one, "interface": "public", "enabled": True,
                  "url": "https://one.example", "region": "legacy-region",
                  "region_id": "legacy-region"}
    admin.ok("GET", "/v3/regions/legacy-region")  # a legacy region is created when missing
    internal = admin.ok("POST", "/v3/endpoints", {"endpoint": {
        "service_id": two, "interface": "internal", "url": "http://two", "enabled": False,
        "region_id": "RegionOne"}}, 201)["endpoint"]

    def ids(query: str) -> list[str]:
        return [e["id"] for e in admin.ok("GET", f"/v3/endpoints{query}")["endpoints"]]

    assert ids(f"?service_id={one}") == [ep["id"]]
    assert internal["id"] in ids("?interface=internal") and ep["id"] not in \
        ids("?interface=internal")
    assert ids(f"?region_id=legacy-region&service_id={one}") == [ep["id"]]
    assert len(ids("")) == 8  # the cloud's 6 + 2 made here
    updated = admin.ok("PATCH", f"/v3/endpoints/{ep['id']}", {"endpoint": {
        "service_id": two, "interface": "internal", "url": "http://new",
        "region": "second-region", "enabled": False}})["endpoint"]
    assert updated == {**updated, "service_id": two, "interface": "internal",
                       "url": "http://new", "region": "second-region", "enabled": False}
    assert admin.ok("GET", f"/v3/endpoints/{ep['id']}")["endpoint"] == updated
    admin.ok("DELETE", f"/v3/endpoints/{ep['id']}", status=204)
    assert ep["id"] not in ids("")
    err(admin.delete(f"/v3/endpoints/{ep['id']}"), 404, "could not find endpoint")


@pytest.mark.parametrize(("endpoint", "status"), [
    ({"interface": "public", "url": "http://x"}, 400),                       # no service_id
    ({"service_id": "S", "interface": "private", "url": "http://x"}, 400),
    ({"service_id": "S", "interface": "public", "url": "no-scheme"}, 400),
    ({"service_id": "S", "interface": "public", "url": "http://x", "enabled": "False"}, 400),
    ({"service_id": "S", "interface": "public", "url": "http://x", "enabled": "True"}, 400),
    ({"service_id": "S", "interface": "public", "url": "http://" + "x" * 230}, 400),
    ({"service_id": "nope", "interface": "public", "url": "http://x"}, 404),
    ({"service_id": "S", "interface": "public", "url": "http://x", "region_id": "nope"}, 404),
    ({"service_id": "S", "interface": "public", "url": "http://x", "region_id": "RegionOne",
      "region": "Other"}, 400),
])
def test_endpoint_refusals(catalog_env: CatalogEnv, endpoint, status):
    admin = catalog_env.admin
    sid = admin.ok("POST", "/v3/services", {"service": {"type": "s"}}, 201)["service"]["id"]
    if endpoint.get("service_id") == "S":
        endpoint = {**endpoint, "service_id": sid}
    err(admin.post("/v3/endpoints", {"endpoint": endpoint}), status)


def test_endpoint_update_refusals(catalog_env: CatalogEnv):
    admin = catalog_env.admin
    sid = admin.ok("POST", "/v3/services", {"service": {"type": "s"}}, 201)["service"]["id"]
    ep = admin.ok("POST", "/v3/endpoints", {"endpoint": {
        "service_id": sid, "interface": "public", "url": "http://x"}}, 201)["endpoint"]["id"]
    for enabled in ("False", "True"):
        err(admin.patch(f"/v3/endpoints/{ep}", {"endpoint": {"enabled": enabled}}), 400,
            "enabled")
    err(admin.patch(f"/v3/endpoints/{ep}", {"endpoint": {}}), 400)
    err(admin.patch(f"/v3/endpoints/{ep}", {"endpoint": {"service_id": "gone"}}), 404, "gone")


# -- endpoint groups (OS-EP-FILTER) -----------------------------------------------------------
def test_endpoint_group_lifecycle(catalog_env: CatalogEnv):
    admin = catalog_env.admin
    base = "/v3/OS-EP-FILTER/endpoint_groups"
    sid = admin.ok("POST", "/v3/services", {"service": {"type": "s"}}, 201)["service"]["id"]
    ep = admin.ok("POST", "/v3/endpoints", {"endpoint": {
        "service_id": sid, "interface": "admin", "url": "http://x"}}, 201)["endpoint"]["id"]
    group = admin.ok("POST", base, {"endpoint_group": {
        "name": "g", "description": "d", "filters": {"service_id": sid}}}, 201)["endpoint_group"]
    assert group == {**group, "name": "g", "description": "d", "filters": {"service_id": sid}}
    assert group in admin.ok("GET", base)["endpoint_groups"]
    assert admin.ok("GET", f"{base}/{group['id']}")["endpoint_group"] == group
    assert admin.call("HEAD", f"{base}/{group['id']}").status_code == 200
    assert [e["id"] for e in admin.ok("GET", f"{base}/{group['id']}/endpoints")["endpoints"]] \
        == [ep]
    changed = admin.ok("PATCH", f"{base}/{group['id']}", {"endpoint_group": {
        "name": "g2", "filters": {"interface": "public"}}})["endpoint_group"]
    assert (changed["name"], changed["filters"]) == ("g2", {"interface": "public"})
    admin.ok("DELETE", f"{base}/{group['id']}", status=204)
    err(admin.call("HEAD", f"{base}/{group['id']}"), 404)
    for bad in ({"name": "g"}, {"name": "g", "filters": {"color": "red"}},
                {"name": "g", "filters": {}}, {"name": "g", "filters": {}, "other": 1}):
        err(admin.post(base, {"endpoint_group": bad}), 400)


# -- policy blobs ------------------------------------------------------------------------------
def test_policy_blob_lifecycle(catalog_env: CatalogEnv):
    admin = catalog_env.admin
    policy = admin.ok("POST", "/v3/policies", {"policy": {
        "blob": '{"default": ""}', "type": "application/json"}}, 201)["policy"]
    assert (policy["blob"], policy["type"]) == ('{"default": ""}', "application/json")
    assert policy["id"] in [p["id"] for p in admin.ok("GET", "/v3/policies")["policies"]]
    assert admin.ok("GET", "/v3/policies?type=other")["policies"] == []
    changed = admin.ok("PATCH", f"/v3/policies/{policy['id']}",
                       {"policy": {"type": "text/yaml"}})["policy"]
    assert (changed["type"], changed["blob"]) == ("text/yaml", policy["blob"])
    assert admin.ok("GET", f"/v3/policies/{policy['id']}")["policy"] == changed
    admin.ok("DELETE", f"/v3/policies/{policy['id']}", status=204)
    err(admin.get(f"/v3/policies/{policy['id']}"), 404, "could not find policy")
    err(admin.post("/v3/policies", {"policy": {"blob": "x"}}), 400, "type")


# -- OAuth1 consumers --------------------------------------------------------------------------
def test_consumer_lifecycle(catalog_env: CatalogEnv):
    admin = catalog_env.admin
    base = "/v3/OS-OAUTH1/consumers"
    made = admin.ok("POST", base, {"consumer": {"description": "app"}}, 201)["consumer"]
    assert made["secret"] and made["description"] == "app"
    shown = admin.ok("GET", f"{base}/{made['id']}")["consumer"]
    assert "secret" not in shown
    assert {k: made[k] for k in ("id", "description", "links")} == \
        {k: shown[k] for k in ("id", "description", "links")}
    with catalog_env.db.session() as s:  # only a hash of the secret is kept
        assert made["secret"] not in s.get(OAuthConsumer, made["id"]).secret_hash
    assert made["id"] in [c["id"] for c in admin.ok("GET", base)["consumers"]]
    admin.ok("PATCH", f"{base}/{made['id']}", {"consumer": {"description": "new"}})
    assert admin.ok("GET", f"{base}/{made['id']}")["consumer"]["description"] == "new"
    err(admin.patch(f"{base}/{made['id']}", {"consumer": {"secret": "mine"}}), 400, "secret")
    admin.ok("DELETE", f"{base}/{made['id']}", status=204)
    err(admin.get(f"{base}/{made['id']}"), 404, "could not find consumer")


# -- discovery -----------------------------------------------------------------------------------
def test_discovery(catalog_env: CatalogEnv):
    client = catalog_env.client
    root = client.get("/")
    assert root.status_code == 300
    for version in root.json["versions"]["values"]:
        assert {"id", "links", "media-types", "status", "updated"} <= set(version)
    v3 = client.get("/v3").json["version"]
    assert {"base": "application/json",
            "type": "application/vnd.openstack.identity-v3+json"} in v3["media-types"]
    assert v3["status"] in ("stable", "current")
    assert catalog_env.alice.ok("GET", "/v3/auth/system")["system"] == []
