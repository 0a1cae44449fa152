"""Domains, projects and project tags over HTTP (Keystone v3), as Tempest and the CLI use them."""
from __future__ import annotations

import pytest

from tests.identity_fixtures import *  # noqa: F403
from tests.identity_fixtures import IdentityEnv, err


def make_domain(env: IdentityEnv, name: str = "dom", **extra) -> dict:
    return env.admin.ok("POST", "/v3/domains", 201,
                        json={"domain": {"name": name, **extra}})["domain"]


def make_project(env: IdentityEnv, name: str = "proj", **extra) -> dict:
    return env.admin.ok("POST", "/v3/projects", 201,
                        json={"project": {"name": name, **extra}})["project"]


# -- domains ---------------------------------------------------------------------------------
def test_default_domain_is_readable_by_its_members(identity_env: IdentityEnv):
    env = identity_env
    domain = env.alice.ok("GET", "/v3/domains/default")["domain"]
    assert domain["name"] == "Default" and domain["enabled"] is True
    listed = env.admin.ok("GET", "/v3/domains?name=Default")["domains"]
    assert [d["id"] for d in listed] == ["default"]
    err(env.alice.get("/v3/domains"), 403)  # listing is for admins and readers of a scope


def test_domain_lifecycle(identity_env: IdentityEnv):
    env = identity_env
    domain = make_domain(env, "lab", description="Lab domain")
    assert domain["description"] == "Lab domain" and domain["enabled"] is True
    assert domain["links"]["self"].endswith(f"/v3/domains/{domain['id']}")
    assert env.admin.ok("GET", f"/v3/domains/{domain['id']}")["domain"] == domain
    updated = env.admin.ok("PATCH", f"/v3/domains/{domain['id']}",
                           json={"domain": {"name": "lab2", "enabled": False}})["domain"]
    assert (updated["name"], updated["enabled"]) == ("lab2", False)
    disabled = env.admin.ok("GET", "/v3/domains?enabled=false")["domains"]
    assert [d["name"] for d in disabled] == ["lab2"]
    assert all(d["enabled"] for d in env.admin.ok("GET", "/v3/domains?enabled=true")["domains"])
    assert env.admin.delete(f"/v3/domains/{domain['id']}").status_code == 204
    err(env.admin.get(f"/v3/domains/{domain['id']}"), 404, "domain")


def test_domain_refusals(identity_env: IdentityEnv):
    env = identity_env
    domain = make_domain(env, "busy")
    err(env.admin.delete(f"/v3/domains/{domain['id']}"), 403, "disable it first")
    err(env.admin.post("/v3/domains", json={"domain": {"name": "busy"}}), 409, "Duplicate")
    for name in ("", "a" * 65, "   "):
        err(env.admin.post("/v3/domains", json={"domain": {"name": name}}), 400)
    err(env.admin.post("/v3/domains", json={"domain": {"name": "x", "bogus": 1}}), 400)
    err(env.admin.patch("/v3/domains/default", json={"domain": {"enabled": False}}), 403)
    err(env.admin.delete("/v3/domains/nope"), 404)
    err(env.alice.post("/v3/domains", json={"domain": {"name": "mine"}}), 403)
    err(env.alice.patch(f"/v3/domains/{domain['id']}", json={"domain": {"name": "z"}}), 403)
    err(env.alice.delete(f"/v3/domains/{domain['id']}"), 403)


def test_deleting_a_domain_deletes_what_it_owns(identity_env: IdentityEnv):
    env = identity_env
    domain = make_domain(env, "doomed")
    did = domain["id"]
    project = make_project(env, "p", domain_id=did)
    child = make_project(env, "c", parent_id=project["id"])
    user = env.admin.ok("POST", "/v3/users", 201, json={"user": {
        "name": "u", "domain_id": did, "password": "pw"}})["user"]
    group = env.admin.ok("POST", "/v3/groups", 201, json={"group": {
        "name": "g", "domain_id": did}})["group"]
    role = env.admin.ok("POST", "/v3/roles", 201, json={"role": {
        "name": "doomed-role", "domain_id": did}})["role"]
    member = env.role_id("member")
    env.admin.ok("PUT", f"/v3/projects/{project['id']}/users/{user['id']}/roles/{member}", 204)
    env.admin.ok("PUT", f"/v3/projects/{env.ids['demo']}/groups/{group['id']}/roles/{member}",
                 204)
    env.admin.ok("PATCH", f"/v3/domains/{did}", json={"domain": {"enabled": False}})
    env.admin.ok("DELETE", f"/v3/domains/{did}", 204)
    for path in (f"/v3/projects/{project['id']}", f"/v3/projects/{child['id']}",
                 f"/v3/users/{user['id']}", f"/v3/groups/{group['id']}",
                 f"/v3/roles/{role['id']}"):
        err(env.admin.get(path), 404)
    left = env.admin.ok("GET", "/v3/role_assignments")["role_assignments"]
    assert not [a for a in left if {a.get("user", {}).get("id"), a.get("group", {}).get("id")}
                & {user["id"], group["id"]}]


# -- projects --------------------------------------------------------------------------------
def test_project_create_show_list_equal(identity_env: IdentityEnv):
    env = identity_env
    project = make_project(env, "lab", description="d", tags=["a", "b"], colour="blue")
    assert project["domain_id"] == "default" and project["parent_id"] == "default"
    assert project["is_domain"] is False and sorted(project["tags"]) == ["a", "b"]
    assert project["colour"] == "blue"  # extra attributes are kept, as in Keystone
    shown = env.admin.ok("GET", f"/v3/projects/{project['id']}")["project"]
    listed = next(p for p in env.admin.ok("GET", "/v3/projects")["projects"]
                  if p["id"] == project["id"])
    assert shown == listed == project


def test_project_update_and_delete(identity_env: IdentityEnv):
    env = identity_env
    project = make_project(env, "lab")
    pid = project["id"]
    body = {"project": {"name": "lab2", "description": "new", "enabled": False,
                        "tags": ["x"]}}
    updated = env.admin.ok("PATCH", f"/v3/projects/{pid}", json=body)["project"]
    assert (updated["name"], updated["description"], updated["enabled"], updated["tags"]) == \
        ("lab2", "new", False, ["x"])
    err(env.admin.patch(f"/v3/projects/{pid}", json={"project": {"domain_id": "other"}}),
        400, "domain_id")
    err(env.admin.patch(f"/v3/projects/{pid}", json={"project": {}}), 400)
    env.admin.ok("DELETE", f"/v3/projects/{pid}", 204)
    err(env.admin.get(f"/v3/projects/{pid}"), 404)
    err(env.admin.delete(f"/v3/projects/{pid}"), 404)


def test_project_hierarchy(identity_env: IdentityEnv):
    env = identity_env
    domain = make_domain(env, "tree")
    root = make_project(env, "root", domain_id=domain["id"])
    assert root["parent_id"] == domain["id"]
    leaf = make_project(env, "leaf", parent_id=root["id"])
    assert (leaf["parent_id"], leaf["domain_id"]) == (root["id"], domain["id"])
    children = env.admin.ok("GET", f"/v3/projects?parent_id={root['id']}")["projects"]
    assert [p["id"] for p in children] == [leaf["id"]]
    err(env.admin.delete(f"/v3/projects/{root['id']}"), 403, "not a leaf")
    err(env.admin.post("/v3/projects", json={"project": {
        "name": "x", "parent_id": root["id"], "domain_id": "default"}}), 400)
    err(env.admin.post("/v3/projects", json={"project": {"name": "x", "parent_id": "nope"}}),
        404)


def test_project_acting_as_domain(identity_env: IdentityEnv):
    env = identity_env
    project = make_project(env, "as-domain", domain_id=None, is_domain=True)
    assert project["is_domain"] is True and project["domain_id"] is None
    assert project["id"] in [d["id"] for d in env.admin.ok("GET", "/v3/domains")["domains"]]
    listed = env.admin.ok("GET", "/v3/projects?is_domain=true")["projects"]
    assert project["id"] in [p["id"] for p in listed]
    assert project["id"] not in [p["id"] for p in env.admin.ok("GET", "/v3/projects")
                                 ["projects"]]
    err(env.admin.delete(f"/v3/projects/{project['id']}"), 403)  # still enabled
    env.admin.ok("PATCH", f"/v3/projects/{project['id']}", json={"project": {"enabled": False}})
    env.admin.ok("DELETE", f"/v3/projects/{project['id']}", 204)
    err(env.admin.get(f"/v3/domains/{project['id']}"), 404)


def test_project_filters(identity_env: IdentityEnv):
    env = identity_env
    domain = make_domain(env, "filters")
    make_project(env, "off", enabled=False, tags=["red", "big"])
    make_project(env, "on", tags=["red"])
    make_project(env, "elsewhere", domain_id=domain["id"])

    def names(query: str) -> list[str]:
        return sorted(p["name"] for p in env.admin.ok("GET", f"/v3/projects?{query}")
                      ["projects"])

    assert names("enabled=false") == ["off"]
    assert names("name=on") == ["on"]
    assert names(f"domain_id={domain['id']}") == ["elsewhere"]
    assert names("tags=red,big") == ["off"]
    assert names("tags-any=big,red") == ["off", "on"]
    assert "off" not in names("not-tags=red,big") and "on" in names("not-tags=red,big")
    assert "on" not in names("not-tags-any=red")
    err(env.admin.get("/v3/projects?enabled=maybe"), 400)


@pytest.mark.parametrize("project, status", [
    ({"name": ""}, 400), ({"name": "a" * 65}, 400), ({}, 400), ({"name": 5}, 400),
    ({"name": "x", "enabled": "yes"}, 400), ({"name": "x", "domain_id": "nope"}, 404),
    ({"name": "x", "tags": ["a/b"]}, 400), ({"name": "x", "tags": ["t"] * 2}, 400),
    ({"name": "x", "tags": [str(i) for i in range(81)]}, 400),
])
def test_project_create_refusals(identity_env: IdentityEnv, project: dict, status: int):
    err(identity_env.admin.post("/v3/projects", json={"project": project}), status)


def test_project_duplicate_and_policy(identity_env: IdentityEnv):
    env = identity_env
    make_project(env, "dup")
    err(env.admin.post("/v3/projects", json={"project": {"name": "dup"}}), 409)
    err(env.alice.post("/v3/projects", json={"project": {"name": "mine"}}), 403)
    err(env.alice.get("/v3/projects"), 403)
    err(env.alice.delete(f"/v3/projects/{env.ids['demo']}"), 403)
    own = env.alice.ok("GET", f"/v3/projects/{env.ids['demo']}")["project"]
    assert own["name"] == "demo"  # a member reads its own project
    err(env.alice.get(f"/v3/projects/{env.ids['other']}"), 403)


# -- tags ------------------------------------------------------------------------------------
def test_project_tags(identity_env: IdentityEnv):
    env = identity_env
    pid = make_project(env, "tagged")["id"]
    base = f"/v3/projects/{pid}/tags"
    assert env.admin.put(f"{base}/one").status_code == 201
    assert env.admin.get(f"{base}/one").status_code == 204
    assert env.admin.head(f"{base}/one").status_code == 204
    err(env.admin.get(f"{base}/two"), 404)
    assert env.admin.ok("PUT", base, json={"tags": ["b", "a"]})["tags"] == ["a", "b"]
    assert env.admin.ok("GET", base)["tags"] == ["a", "b"]
    env.admin.ok("DELETE", f"{base}/a", 204)
    err(env.admin.delete(f"{base}/a"), 404)
    env.admin.ok("DELETE", base, 204)
    assert env.admin.ok("GET", base)["tags"] == []
    err(env.admin.put(base, json={"tags": ["x,y"]}), 400)
    err(env.admin.put(base, json={"tags": "x"}), 400)
    err(env.admin.put(f"{base}/{'x' * 256}"), 400)
    err(env.admin.get("/v3/projects/nope/tags"), 404)
    # members read their own project's tags, but do not change them
    demo = f"/v3/projects/{env.ids['demo']}/tags"
    assert env.alice.ok("GET", demo)["tags"] == []
    err(env.alice.put(f"{demo}/mine"), 403)


# -- domain configuration --------------------------------------------------------------------
def test_domain_config(identity_env: IdentityEnv):
    env = identity_env
    did = make_domain(env, "configured")["id"]
    base = f"/v3/domains/{did}/config"
    err(env.admin.get(base), 404)
    config = {"identity": {"driver": "ldap"}, "ldap": {"url": "ldap://x", "password": "s"}}
    created = env.admin.ok("PUT", base, 201, json={"config": config})["config"]
    assert created == {"identity": {"driver": "ldap"}, "ldap": {"url": "ldap://x"}}
    assert env.admin.ok("GET", f"{base}/ldap")["config"] == {"ldap": {"url": "ldap://x"}}
    assert env.admin.ok("GET", f"{base}/ldap/url")["config"] == {"url": "ldap://x"}
    err(env.admin.get(f"{base}/ldap/password"), 404)  # sensitive: never shown
    updated = env.admin.ok("PATCH", f"{base}/identity", json={"config": {
        "identity": {"list_limit": 5}}})["config"]
    assert updated["identity"] == {"driver": "ldap", "list_limit": 5}
    env.admin.ok("PATCH", f"{base}/identity/driver", json={"config": {"driver": "sql"}})
    env.admin.ok("DELETE", f"{base}/identity/driver", 204)
    err(env.admin.get(f"{base}/identity/driver"), 404)
    env.admin.ok("DELETE", f"{base}/identity", 204)
    err(env.admin.get(f"{base}/identity"), 404)
    err(env.admin.put(base, json={"config": {"nova": {"x": 1}}}), 403)
    err(env.admin.put(base, json={"config": {"ldap": {"bogus": 1}}}), 403)
    err(env.admin.patch(f"{base}/identity", json={"config": {"ldap": {"url": "u"}}}), 400)
    err(env.alice.put(base, json={"config": config}), 403)
    env.admin.ok("DELETE", base, 204)
    err(env.admin.get(base), 404)
    err(env.admin.get("/v3/domains/nope/config"), 404)
    defaults = env.admin.ok("GET", "/v3/domains/config/default")["config"]
    assert defaults["identity"]["driver"] == "sql" and "url" in defaults["ldap"]
    assert env.admin.ok("GET", "/v3/domains/config/identity/list_limit/default")["config"] \
        == {"list_limit": None}
    err(env.admin.get("/v3/domains/config/nova/default"), 403)
