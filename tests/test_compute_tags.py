"""Server tags (2.26): the tag routes, Nova's limits, tags in the server body and at create
(2.52), the list's tag filters, and Tempest's schemas."""
from __future__ import annotations

from pathlib import Path

from tests.compute_fixtures import *  # noqa: F403
from tests.compute_fixtures import IMAGE_ID, err, mv
from tests.tempest_schemas import COMPUTE_CLIENTS as CLIENTS
from tests.tempest_schemas import assert_valid

V = mv("2.26")


def _tags(env, sid: str, who=None) -> list[str]:
    resp = (who or env.alice).get(f"/v2.1/servers/{sid}/tags", headers=V)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["tags"]


def test_add_check_replace_delete(compute_env):
    env = compute_env
    sid = env.create_server()
    assert _tags(env, sid, env.reader) == []
    added = env.alice.put(f"/v2.1/servers/{sid}/tags/blue", headers=V)
    assert added.status_code == 201
    assert added.headers["Location"].endswith(f"/v2.1/servers/{sid}/tags/blue")
    again = env.alice.put(f"/v2.1/servers/{sid}/tags/blue", headers=V)
    assert again.status_code == 204 and again.headers["Location"] == added.headers["Location"]
    assert env.reader.get(f"/v2.1/servers/{sid}/tags/blue", headers=V).status_code == 204
    err(env.reader.get(f"/v2.1/servers/{sid}/tags/red", headers=V), 404, "has no tag 'red'")
    replaced = env.alice.put(f"/v2.1/servers/{sid}/tags", headers=V,
                             json={"tags": ["web", "db", "web"]})
    assert replaced.status_code == 200 and replaced.get_json() == {"tags": ["db", "web"]}
    assert _tags(env, sid) == ["db", "web"]
    shown = env.alice.get(f"/v2.1/servers/{sid}", headers=V).get_json()["server"]
    assert shown["tags"] == ["db", "web"]
    assert env.alice.delete(f"/v2.1/servers/{sid}/tags/db", headers=V).status_code == 204
    err(env.alice.delete(f"/v2.1/servers/{sid}/tags/db", headers=V), 404, "has no tag")
    assert env.alice.delete(f"/v2.1/servers/{sid}/tags", headers=V).status_code == 204
    assert _tags(env, sid) == []


def test_nova_limits(compute_env):
    env = compute_env
    sid = env.create_server()
    url = f"/v2.1/servers/{sid}/tags"
    err(env.alice.put(url, headers=V, json={"tags": [f"t{i}" for i in range(51)]}), 400,
        "exceeded the per-server limit 50")
    assert env.alice.put(url, headers=V, json={"tags": [f"t{i}" for i in range(50)]}
                         ).status_code == 200
    err(env.alice.put(f"{url}/one-more", headers=V), 400, "exceeded the per-server limit 50")
    assert len(_tags(env, sid)) == 50
    env.alice.delete(url, headers=V)
    err(env.alice.put(f"{url}/{'x' * 61}", headers=V), 400, "is invalid")
    err(env.alice.put(f"{url}/a,b", headers=V), 400, "is invalid")
    assert env.alice.put(f"{url}/{'x' * 60}", headers=V).status_code == 201
    for bad in (["a/b"], ["a,b"], [""], ["x" * 61], [1], "a"):
        err(env.alice.put(url, headers=V, json={"tags": bad}), 400, "tags")
    assert _tags(env, sid) == ["x" * 60]


def test_not_before_2_26_and_not_while_building(compute_env):
    env = compute_env
    sid = env.create_server()
    err(env.alice.get(f"/v2.1/servers/{sid}/tags", headers=mv("2.25")), 404, "")
    err(env.alice.put(f"/v2.1/servers/{sid}/tags/a", headers=mv("2.25")), 404, "")
    assert "tags" not in env.alice.get(f"/v2.1/servers/{sid}", headers=mv("2.25")
                                       ).get_json()["server"]
    building = env.create_server(name="b", active=False)
    err(env.alice.put(f"/v2.1/servers/{building}/tags/a", headers=V), 409,
        f"Cannot 'update tag' instance {building} while it is in vm_state building")
    err(env.alice.put(f"/v2.1/servers/{building}/tags", headers=V, json={"tags": ["a"]}), 409,
        "Cannot 'update tags'")
    err(env.bob.get(f"/v2.1/servers/{sid}/tags", headers=V), 404, "could not be found")
    err(env.reader.put(f"/v2.1/servers/{sid}/tags/a", headers=V), 403, "doesn't allow")


def _create(env, version: str, **extra):
    body = {"name": "tagged", "imageRef": IMAGE_ID, "flavorRef": "6", "networks": "none",
            **extra}
    return env.alice.post("/v2.1/servers", json={"server": body}, headers=mv(version))


def test_create_with_tags_from_2_52(compute_env):
    env = compute_env
    err(_create(env, "2.51", tags=["a"]), 400, "Additional properties are not allowed")
    err(_create(env, "2.52", tags=[f"t{i}" for i in range(51)]), 400, "tags")
    err(_create(env, "2.52", tags=["a/b"]), 400, "tags")
    for version in ("2.52", "2.74"):
        resp = _create(env, version, tags=["b", "a"])
        assert resp.status_code == 202, resp.get_json()
        assert _tags(env, resp.get_json()["server"]["id"]) == ["a", "b"]


def test_list_filters(compute_env):
    env = compute_env
    ids = {}
    for name, tags in (("ab", ["a", "b"]), ("a", ["a"]), ("c", ["c"]), ("none", [])):
        ids[name] = env.create_server(name=name)
        env.alice.put(f"/v2.1/servers/{ids[name]}/tags", headers=V, json={"tags": tags})

    def listed(query: str, version: str = "2.26") -> set[str]:
        resp = env.alice.get(f"/v2.1/servers?{query}", headers=mv(version))
        assert resp.status_code == 200, resp.get_json()
        return {s["name"] for s in resp.get_json()["servers"]}

    assert listed("tags=a,b") == {"ab"}
    assert listed("tags=a") == {"ab", "a"}
    assert listed("tags-any=b,c") == {"ab", "c"}
    assert listed("not-tags=a,b") == {"a", "c", "none"}
    assert listed("not-tags-any=a,c") == {"none"}
    assert listed("tags=a&not-tags-any=b", "2.96") == {"a"}
    assert listed("tags=a", "2.25") == {"ab", "a", "c", "none"}  # not a filter before 2.26


def test_bodies_pass_tempest_schemas(compute_env, tmp_path: Path):
    env = compute_env
    sid = env.create_server()
    cases = []

    def add(op: str, method: str, path: str, version: str, **kw) -> None:
        resp = env.alice.client.open(path, method=method, headers={
            "X-Auth-Token": env.alice.token, **mv(version)}, **kw)
        assert resp.status_code < 300, resp.get_json()
        cases.append({"client": f"{CLIENTS}.servers_client.ServersClient", "op": op,
                      "version": version, "status": resp.status_code,
                      "headers": {k.lower(): v for k, v in resp.headers.items()},
                      "body": resp.get_json() if resp.data else None})

    for version in ("2.26", "2.52", "2.96"):
        add("update_tag", "PUT", f"/v2.1/servers/{sid}/tags/t-{version}", version)
        add("update_all_tags", "PUT", f"/v2.1/servers/{sid}/tags", version,
            json={"tags": ["x", f"t-{version}"]})
        add("list_tags", "GET", f"/v2.1/servers/{sid}/tags", version)
        add("check_tag_existence", "GET", f"/v2.1/servers/{sid}/tags/x", version)
        add("get_server", "GET", f"/v2.1/servers/{sid}", version)
        add("list_servers_detail", "GET", "/v2.1/servers/detail?tags=x", version)
        add("delete_tag", "DELETE", f"/v2.1/servers/{sid}/tags/x", version)
        add("delete_all_tags", "DELETE", f"/v2.1/servers/{sid}/tags", version)
    assert_valid(cases, tmp_path)
