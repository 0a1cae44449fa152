"""Roles, implied roles, grants on projects, domains and the system, and role assignments."""
from __future__ import annotations

import pytest

from tests.identity_fixtures import *  # noqa: F403
from tests.identity_fixtures import IdentityEnv, err


def make_role(env: IdentityEnv, name: str, **extra) -> dict:
    return env.admin.ok("POST", "/v3/roles", 201, json={"role": {"name": name, **extra}})["role"]


def make_user(env: IdentityEnv, name: str = "carol") -> dict:
    return env.admin.ok("POST", "/v3/users", 201, json={"user": {
        "name": name, "password": f"{name}-pw"}})["user"]


# -- roles -----------------------------------------------------------------------------------
def test_bootstrap_roles_and_implications(identity_env: IdentityEnv):
    env = identity_env
    names = [r["name"] for r in env.admin.ok("GET", "/v3/roles")["roles"]]
    assert {"admin", "manager", "member", "reader", "service"} <= set(names)
    rules = env.admin.ok("GET", "/v3/role_inferences")["role_inferences"]
    pairs = {(r["prior_role"]["name"], i["name"]) for r in rules for i in r["implies"]}
    assert pairs == {("admin", "manager"), ("manager", "member"), ("member", "reader")}


def test_role_lifecycle(identity_env: IdentityEnv):
    env = identity_env
    role = make_role(env, "auditor", description="reads logs")
    assert (role["domain_id"], role["description"]) == (None, "reads logs")
    assert env.admin.ok("GET", f"/v3/roles/{role['id']}")["role"] == role
    assert env.admin.ok("GET", "/v3/roles?name=auditor")["roles"] == [role]
    updated = env.admin.ok("PATCH", f"/v3/roles/{role['id']}",
                           json={"role": {"name": "auditor2"}})["role"]
    assert updated["name"] == "auditor2"
    err(env.admin.post("/v3/roles", json={"role": {"name": "admin"}}), 409)
    err(env.admin.post("/v3/roles", json={"role": {"name": ""}}), 400)
    err(env.admin.post("/v3/roles", json={"role": {"name": "x" * 256}}), 400)
    err(env.alice.post("/v3/roles", json={"role": {"name": "mine"}}), 403)
    err(env.alice.get("/v3/roles"), 403)
    env.admin.ok("DELETE", f"/v3/roles/{role['id']}", 204)
    err(env.admin.get(f"/v3/roles/{role['id']}"), 404)


def test_domain_roles(identity_env: IdentityEnv):
    env = identity_env
    domain = env.admin.ok("POST", "/v3/domains", 201, json={"domain": {"name": "d"}})["domain"]
    role = make_role(env, "d-role", domain_id=domain["id"])
    assert env.admin.ok("GET", f"/v3/roles?domain_id={domain['id']}")["roles"] == [role]
    assert role not in env.admin.ok("GET", "/v3/roles")["roles"]  # global roles only
    err(env.admin.post("/v3/roles", json={"role": {"name": "x", "domain_id": "nope"}}), 404)
    # A domain role cannot be granted outside its domain...
    user = make_user(env)
    err(env.admin.put(f"/v3/projects/{env.ids['demo']}/users/{user['id']}/roles/"
                      f"{role['id']}"), 403)
    # ...and never shows in tokens or effective assignments: only what it implies does.
    project = env.admin.ok("POST", "/v3/projects", 201, json={"project": {
        "name": "dp", "domain_id": domain["id"]}})["project"]
    env.admin.ok("PUT", f"/v3/projects/{project['id']}/users/{user['id']}/roles/{role['id']}",
                 204)
    query = f"/v3/role_assignments?effective&user.id={user['id']}"
    assert env.admin.ok("GET", query)["role_assignments"] == []
    env.admin.ok("PUT", f"/v3/roles/{role['id']}/implies/{env.role_id('reader')}", 201)
    effective = env.admin.ok("GET", query)["role_assignments"]
    assert [a["role"]["id"] for a in effective] == [env.role_id("reader")]
    _, token = env.login("carol", "carol-pw", {"project": {"id": project["id"]}})
    assert [r["name"] for r in token["roles"]] == ["reader"]


# -- implied roles ---------------------------------------------------------------------------
def test_implied_roles(identity_env: IdentityEnv):
    env = identity_env
    a, b, c = (make_role(env, n) for n in "abc")
    created = env.admin.ok("PUT", f"/v3/roles/{a['id']}/implies/{b['id']}", 201)
    inference = created["role_inference"]
    assert (inference["prior_role"]["id"], inference["implies"]["id"]) == (a["id"], b["id"])
    assert set(inference["prior_role"]) == {"id", "name", "links"}
    env.admin.ok("PUT", f"/v3/roles/{a['id']}/implies/{c['id']}", 201)
    assert env.admin.head(f"/v3/roles/{a['id']}/implies/{b['id']}").status_code == 204
    assert env.admin.ok("GET", f"/v3/roles/{a['id']}/implies/{b['id']}") == created
    listed = env.admin.ok("GET", f"/v3/roles/{a['id']}/implies")["role_inference"]
    assert sorted(r["id"] for r in listed["implies"]) == sorted([b["id"], c["id"]])
    env.admin.ok("DELETE", f"/v3/roles/{a['id']}/implies/{b['id']}", 204)
    err(env.admin.get(f"/v3/roles/{a['id']}/implies/{b['id']}"), 404)
    err(env.admin.delete(f"/v3/roles/{a['id']}/implies/{b['id']}"), 404)
    err(env.admin.put(f"/v3/roles/{a['id']}/implies/nope"), 404)
    err(env.admin.put(f"/v3/roles/{a['id']}/implies/{env.role_id('admin')}"), 403)
    err(env.alice.put(f"/v3/roles/{a['id']}/implies/{b['id']}"), 403)
    env.admin.ok("DELETE", f"/v3/roles/{c['id']}", 204)  # its inference goes with it
    assert env.admin.ok("GET", f"/v3/roles/{a['id']}/implies")["role_inference"]["implies"] \
        == []


def test_global_role_cannot_imply_domain_role(identity_env: IdentityEnv):
    env = identity_env
    domain = env.admin.ok("POST", "/v3/domains", 201, json={"domain": {"name": "d"}})["domain"]
    local = make_role(env, "local", domain_id=domain["id"])
    err(env.admin.put(f"/v3/roles/{env.role_id('member')}/implies/{local['id']}"), 403)
    env.admin.ok("PUT", f"/v3/roles/{local['id']}/implies/{env.role_id('member')}", 201)


def test_implied_roles_change_tokens_at_once(identity_env: IdentityEnv):
    env = identity_env
    extra = make_role(env, "extra")
    env.admin.ok("PUT", f"/v3/roles/{env.role_id('member')}/implies/{extra['id']}", 201)
    roles = env.alice.ok("GET", "/v3/auth/tokens", headers={
        "X-Subject-Token": env.alice.token})["token"]["roles"]
    assert sorted(r["name"] for r in roles) == ["extra", "member", "reader"]


# -- grants ----------------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["projects", "domains", "system"])
@pytest.mark.parametrize("actor", ["users", "groups"])
def test_grants(identity_env: IdentityEnv, target: str, actor: str):
    env = identity_env
    role = make_role(env, "granted")
    if actor == "users":
        actor_id = make_user(env)["id"]
    else:
        actor_id = env.admin.ok("POST", "/v3/groups", 201,
                                json={"group": {"name": "g"}})["group"]["id"]
    where = {"projects": f"projects/{env.ids['demo']}", "domains": "domains/default",
             "system": "system"}[target]
    base = f"/v3/{where}/{actor}/{actor_id}/roles"
    err(env.admin.head(f"{base}/{role['id']}"), 404)
    env.admin.ok("PUT", f"{base}/{role['id']}", 204)
    env.admin.ok("PUT", f"{base}/{role['id']}", 204)  # idempotent
    assert [r["id"] for r in env.admin.ok("GET", base)["roles"]] == [role["id"]]
    assert env.admin.head(f"{base}/{role['id']}").status_code == 204
    assert env.admin.get(f"{base}/{role['id']}").status_code == 204
    err(env.alice.put(f"{base}/{role['id']}"), 403)
    err(env.alice.delete(f"{base}/{role['id']}"), 403)
    env.admin.ok("DELETE", f"{base}/{role['id']}", 204)
    err(env.admin.delete(f"{base}/{role['id']}"), 404)
    assert env.admin.ok("GET", base)["roles"] == []
    err(env.admin.put(f"{base}/nope"), 404)
    err(env.admin.put(f"/v3/{where}/{actor}/nope/roles/{role['id']}"), 404)


def test_grants_on_missing_targets(identity_env: IdentityEnv):
    env = identity_env
    user = env.user_ids["alice"]
    member = env.role_id("member")
    err(env.admin.put(f"/v3/projects/nope/users/{user}/roles/{member}"), 404)
    err(env.admin.put(f"/v3/domains/nope/users/{user}/roles/{member}"), 404)
    err(env.admin.get(f"/v3/projects/nope/users/{user}/roles"), 404)


# -- role assignments ------------------------------------------------------------------------
def test_role_assignments_filters_and_names(identity_env: IdentityEnv):
    env = identity_env
    demo, alice = env.ids["demo"], env.user_ids["alice"]
    rows = env.admin.ok("GET", f"/v3/role_assignments?scope.project.id={demo}")
    pairs = {(a["user"]["id"], a["role"]["id"]) for a in rows["role_assignments"]}
    assert pairs == {(alice, env.role_id("member")),
                     (env.user_ids["reader"], env.role_id("reader"))}
    one = env.admin.ok("GET", f"/v3/role_assignments?user.id={alice}&include_names=true")
    [entry] = one["role_assignments"]
    assert entry["user"]["name"] == "alice" and entry["role"]["name"] == "member"
    assert entry["scope"]["project"]["name"] == "demo"
    assert entry["scope"]["project"]["domain"] == {"id": "default", "name": "Default"}
    assert entry["links"]["assignment"].endswith(
        f"/v3/projects/{demo}/users/{alice}/roles/{env.role_id('member')}")
    system = env.admin.ok("GET", "/v3/role_assignments?scope.system=all")["role_assignments"]
    assert {a["user"]["id"] for a in system} == {env.user_ids["admin"]}
    assert system[0]["scope"] == {"system": {"all": True}}
    by_role = env.admin.ok("GET", f"/v3/role_assignments?role.id={env.role_id('reader')}")
    assert [a["user"]["id"] for a in by_role["role_assignments"]] == [env.user_ids["reader"]]
    err(env.admin.get("/v3/role_assignments?scope.system=some"), 400)
    err(env.admin.get("/v3/role_assignments?effective&group.id=x"), 400)
    err(env.admin.get("/v3/role_assignments?include_subtree=true"), 400)
    err(env.alice.get("/v3/role_assignments"), 403)


def test_effective_role_assignments(identity_env: IdentityEnv):
    env = identity_env
    user = make_user(env)
    group = env.admin.ok("POST", "/v3/groups", 201, json={"group": {"name": "g"}})["group"]
    env.admin.ok("PUT", f"/v3/groups/{group['id']}/users/{user['id']}", 204)
    env.admin.ok("PUT", f"/v3/projects/{env.ids['other']}/groups/{group['id']}/roles/"
                 f"{env.role_id('member')}", 204)
    rows = env.admin.ok("GET", f"/v3/role_assignments?effective=true&user.id={user['id']}")
    got = {(a["role"]["id"], a["scope"]["project"]["id"]) for a in rows["role_assignments"]}
    assert got == {(env.role_id("member"), env.ids["other"]),
                   (env.role_id("reader"), env.ids["other"])}  # implied reader too
    entry = next(a for a in rows["role_assignments"] if a["role"]["id"] == env.role_id("member"))
    assert entry["links"]["membership"].endswith(f"/groups/{group['id']}/users/{user['id']}")
    direct = env.admin.ok("GET", f"/v3/role_assignments?user.id={user['id']}")
    assert direct["role_assignments"] == []  # not without effective


def test_role_assignments_include_subtree(identity_env: IdentityEnv):
    env = identity_env
    parent = env.admin.ok("POST", "/v3/projects", 201,
                          json={"project": {"name": "parent"}})["project"]
    child = env.admin.ok("POST", "/v3/projects", 201, json={"project": {
        "name": "child", "parent_id": parent["id"]}})["project"]
    user = make_user(env)
    env.admin.ok("PUT", f"/v3/projects/{child['id']}/users/{user['id']}/roles/"
                 f"{env.role_id('reader')}", 204)
    plain = env.admin.ok("GET", f"/v3/role_assignments?scope.project.id={parent['id']}")
    assert plain["role_assignments"] == []
    tree = env.admin.ok("GET", f"/v3/role_assignments?scope.project.id={parent['id']}"
                        "&include_subtree=true")
    assert [a["scope"]["project"]["id"] for a in tree["role_assignments"]] == [child["id"]]
