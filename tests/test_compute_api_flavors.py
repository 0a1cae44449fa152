"""Flavors over the compute API in-process: list (filters, order, pages), show, create (and
its refusals), describe, delete, extra specs."""
from __future__ import annotations

import pytest

from tests.compute_fixtures import *  # noqa: F403
from tests.compute_fixtures import IMAGE_ID, err, mv

FLAVOR = {"name": "f.test", "ram": 128, "vcpus": 1, "disk": 1}


def create(env, headers=None, **flavor):
    return env.admin.post("/v2.1/flavors", json={"flavor": {**FLAVOR, **flavor}},
                          headers=headers or {})


def _ids(resp) -> list[str]:
    assert resp.status_code == 200, resp.get_json()
    return [f["id"] for f in resp.get_json()["flavors"]]


def test_list_order_filters_and_pages(compute_env):
    get = compute_env.alice.get
    assert _ids(get("/v2.1/flavors")) == ["1", "2", "3", "4", "5", "6", "7"]
    assert _ids(get("/v2.1/flavors?minRam=4096")) == ["3", "4", "5"]
    assert _ids(get("/v2.1/flavors?minDisk=80&sort_key=memory_mb&sort_dir=desc")) == [
        "5", "4"]
    err(get("/v2.1/flavors?minRam=lots"), 400, "minRam")
    err(get("/v2.1/flavors?sort_key=colour"), 400, "sort_key")
    err(get("/v2.1/flavors?sort_dir=sideways"), 400, "sort_dir")
    err(get("/v2.1/flavors?marker=nope"), 400, "marker")
    err(get("/v2.1/flavors?bogus=1", headers=mv("2.75")), 400, "bogus")
    seen, url = [], "/v2.1/flavors/detail?limit=3"
    while url:
        body = get(url).get_json()
        seen += [f["id"] for f in body["flavors"]]
        links = body.get("flavors_links")
        url = links[0]["href"].removeprefix("http://localhost") if links else None
    assert seen == ["1", "2", "3", "4", "5", "6", "7"]


def test_private_flavors_are_for_admins(compute_env):
    private = create(compute_env, id="priv", **{"os-flavor-access:is_public": "False"})
    assert private.status_code == 200, private.get_json()
    assert "priv" not in _ids(compute_env.alice.get("/v2.1/flavors?is_public=none"))
    err(compute_env.alice.get("/v2.1/flavors/priv"), 404, "could not be found")
    assert _ids(compute_env.admin.get("/v2.1/flavors?is_public=false")) == ["priv"]
    assert "priv" in _ids(compute_env.admin.get("/v2.1/flavors?is_public=none"))
    err(compute_env.admin.get("/v2.1/flavors?is_public=perhaps"), 400, "is_public")
    err(compute_env.alice.post("/v2.1/servers", json={"server": {
        "name": "x", "imageRef": IMAGE_ID, "flavorRef": "priv"}}), 400,
        "Flavor priv could not")


def test_create_show_describe_delete(compute_env):
    resp = create(compute_env, id="lab 1", swap="0", rxtx_factor="2.5",
                  description="for labs", headers=mv("2.55"),
                  **{"OS-FLV-EXT-DATA:ephemeral": 2, "os-flavor-access:is_public": "True"})
    assert resp.status_code == 200, resp.get_json()
    flavor = resp.get_json()["flavor"]
    assert (flavor["id"], flavor["description"], flavor["rxtx_factor"],
            flavor["OS-FLV-EXT-DATA:ephemeral"], flavor["os-flavor-access:is_public"]) == (
        "lab 1", "for labs", 2.5, 2, True)
    generated = create(compute_env, name="auto", id=None).get_json()["flavor"]["id"]
    assert len(generated) == 36
    changed = compute_env.admin.put("/v2.1/flavors/lab 1", headers=mv("2.55"),
                                    json={"flavor": {"description": "new"}})
    assert changed.get_json()["flavor"]["description"] == "new"
    err(compute_env.admin.put("/v2.1/flavors/lab 1", json={"flavor": {"description": "x"}}),
        404, "could not be found")
    err(create(compute_env, id="other"), 409, "name f.test already exists")
    err(create(compute_env, name="other", id="lab 1"), 409, "ID lab 1 already exists")
    assert compute_env.admin.delete("/v2.1/flavors/lab 1").status_code == 202
    err(compute_env.admin.get("/v2.1/flavors/lab 1"), 404, "could not be found")
    err(compute_env.admin.delete("/v2.1/flavors/lab 1"), 404, "could not be found")


@pytest.mark.parametrize("flavor, version, message", [
    ({"id": "sec/x"}, "2.1", "id"),
    ({"id": " lead"}, "2.1", "id"),
    ({"id": ""}, "2.1", "id"),
    ({"name": "bad\x00"}, "2.1", "NUL"),
    ({"name": "tab\tname"}, "2.1", "name"),
    ({"ram": 0}, "2.1", "ram"),
    ({"ram": "2²"}, "2.1", "ram"),
    ({"vcpus": -1}, "2.1", "vcpus"),
    ({"disk": "one"}, "2.1", "disk"),
    ({"disk": 2 ** 31}, "2.1", "disk"),
    ({"swap": -1}, "2.1", "swap"),
    ({"rxtx_factor": 0}, "2.1", "rxtx_factor"),
    ({"os-flavor-access:is_public": "sometimes"}, "2.1", "is_public"),
    ({"description": "d"}, "2.54", "description"),
    ({"description": "d" * 65536}, "2.55", "description"),
    ({"extra": 1}, "2.1", "extra"),
])
def test_create_refusals(compute_env, flavor, version, message):
    err(create(compute_env, headers=mv(version), **flavor), 400, message)
    assert "f.test" not in [f["name"] for f in compute_env.admin.get(
        "/v2.1/flavors?is_public=none").get_json()["flavors"]]


def test_extra_specs(compute_env):
    admin, base = compute_env.admin, "/v2.1/flavors/6/os-extra_specs"
    assert admin.post(base, json={"extra_specs": {"hw:cpu_policy": "shared", "n": 2}}
                      ).get_json() == {"extra_specs": {"hw:cpu_policy": "shared", "n": "2"}}
    assert admin.put(f"{base}/n", json={"n": "3"}).get_json() == {"n": "3"}
    assert compute_env.alice.get(base).get_json() == {"extra_specs": {
        "hw:cpu_policy": "shared", "n": "3"}}
    assert compute_env.alice.get(f"{base}/n").get_json() == {"n": "3"}
    assert compute_env.alice.get("/v2.1/flavors/6", headers=mv("2.61")).get_json()[
        "flavor"]["extra_specs"] == {"hw:cpu_policy": "shared", "n": "3"}
    err(admin.put(f"{base}/n", json={"m": "3"}), 400, "Request body and URI mismatch")
    err(admin.put(f"{base}/n", json={"n": "3", "m": "4"}), 400, "too many properties")
    err(admin.post(base, json={"extra_specs": {"bad/key": "v"}}), 400, "bad/key")
    err(admin.post(base, json={"extra_specs": {"k": "v" * 256}}), 400, "extra_specs")
    err(admin.post(base, json={"extra_specs": {"k": None}}), 400, "extra_specs")
    err(admin.post(base, json={"specs": {}}), 400, "extra_specs")
    assert admin.delete(f"{base}/n").status_code == 200
    err(admin.get(f"{base}/n"), 404, "no extra specs with key n")
    err(admin.delete(f"{base}/n"), 404, "no extra spec")
    err(admin.post("/v2.1/flavors/99/os-extra_specs", json={"extra_specs": {"k": "v"}}),
        404, "Flavor 99 could not be found")
