"""Users, passwords, groups and group membership over HTTP (Keystone v3)."""
from __future__ import annotations

import pytest

from tests.identity_fixtures import *  # noqa: F403
from tests.identity_fixtures import IdentityEnv, auth_body, err


def make_user(env: IdentityEnv, name: str = "carol", **extra) -> dict:
    body = {"name": name, "password": f"{name}-pw", **extra}
    return env.admin.ok("POST", "/v3/users", 201, json={"user": body})["user"]


def make_group(env: IdentityEnv, name: str = "team", **extra) -> dict:
    return env.admin.ok("POST", "/v3/groups", 201,
                        json={"group": {"name": name, **extra}})["group"]


def test_user_create_show_list_and_extras(identity_env: IdentityEnv):
    env = identity_env
    user = make_user(env, email="c@example.org", description="Carol",
                     project_id=env.ids["demo"], enabled=False)
    assert "password" not in user and user["password_expires_at"] is None
    assert (user["email"], user["description"], user["project_id"], user["enabled"]) == \
        ("c@example.org", "Carol", env.ids["demo"], False)
    assert user["domain_id"] == "default"
    assert env.admin.ok("GET", f"/v3/users/{user['id']}")["user"] == user
    listed = env.admin.ok("GET", "/v3/users?name=carol")["users"]
    assert listed == [user]
    assert [u["name"] for u in env.admin.ok("GET", "/v3/users?enabled=false")["users"]] == \
        ["carol"]
    assert "carol" not in [u["name"] for u in
                           env.admin.ok("GET", "/v3/users?domain_id=nope")["users"]]


def test_user_update(identity_env: IdentityEnv):
    env = identity_env
    user = make_user(env)
    changes = {"name": "carol2", "email": "n@example.org", "enabled": False,
               "default_project_id": env.ids["demo"], "project_id": env.ids["other"]}
    updated = env.admin.ok("PATCH", f"/v3/users/{user['id']}", json={"user": changes})["user"]
    for key, value in changes.items():
        assert updated[key] == value
    assert env.admin.ok("GET", f"/v3/users/{user['id']}")["user"] == updated
    err(env.admin.patch(f"/v3/users/{user['id']}", json={"user": {"domain_id": "x"}}), 400)
    err(env.admin.patch(f"/v3/users/{user['id']}", json={"user": {"name": "alice"}}), 409)
    err(env.admin.patch("/v3/users/nope", json={"user": {"name": "z"}}), 404)


@pytest.mark.parametrize("user, status", [
    ({"name": ""}, 400), ({"name": "a" * 256}, 400), ({}, 400), ({"name": "x", "enabled": 1},
                                                                 400),
    ({"name": "x", "domain_id": "nowhere"}, 404), ({"name": "alice"}, 409),
])
def test_user_create_refusals(identity_env: IdentityEnv, user: dict, status: int):
    err(identity_env.admin.post("/v3/users", json={"user": user}), status)


def test_user_policy(identity_env: IdentityEnv):
    env = identity_env
    alice = env.user_ids["alice"]
    assert env.alice.ok("GET", f"/v3/users/{alice}")["user"]["name"] == "alice"  # itself
    err(env.alice.get(f"/v3/users/{env.user_ids['bob']}"), 403)
    err(env.alice.get("/v3/users"), 403)
    err(env.alice.post("/v3/users", json={"user": {"name": "x"}}), 403)
    err(env.alice.patch(f"/v3/users/{alice}", json={"user": {"enabled": True}}), 403)
    err(env.alice.delete(f"/v3/users/{env.user_ids['bob']}"), 403)


def test_delete_user(identity_env: IdentityEnv):
    env = identity_env
    user = make_user(env)
    group = make_group(env)
    env.admin.ok("PUT", f"/v3/groups/{group['id']}/users/{user['id']}", 204)
    env.admin.ok("PUT", f"/v3/projects/{env.ids['demo']}/users/{user['id']}/roles/"
                 f"{env.role_id('member')}", 204)
    env.admin.ok("DELETE", f"/v3/users/{user['id']}", 204)
    err(env.admin.get(f"/v3/users/{user['id']}"), 404)
    assert env.admin.ok("GET", f"/v3/groups/{group['id']}/users")["users"] == []
    left = env.admin.ok("GET", f"/v3/role_assignments?user.id={user['id']}")
    assert left["role_assignments"] == []
    err(env.admin.delete(f"/v3/users/{user['id']}"), 404)


def test_password_change_by_the_user(identity_env: IdentityEnv, monkeypatch):
    env = identity_env
    user = make_user(env)
    old_token, _ = env.login("carol", "carol-pw")
    path = f"/v3/users/{user['id']}/password"
    wrong = env.anonymous.post(path, json={"user": {"original_password": "bad",
                                                    "password": "new-pw"}})
    err(wrong, 401)
    ok = env.anonymous.post(path, json={"user": {"original_password": "carol-pw",
                                                 "password": "new-pw"}})
    assert ok.status_code == 204
    err(env.anonymous.post("/v3/auth/tokens", json=auth_body("carol", "carol-pw")), 401)
    # The old token no longer works (Keystone revokes a user's tokens on a password change).
    err(env.client_for(old_token).get(f"/v3/users/{user['id']}"), 401)
    err(env.anonymous.post(path, json={"user": {"password": "x"}}), 400)


def test_admin_resets_a_password(identity_env: IdentityEnv):
    env = identity_env
    user = make_user(env)
    env.admin.ok("PATCH", f"/v3/users/{user['id']}", json={"user": {"password": "reset"}})
    err(env.anonymous.post("/v3/auth/tokens", json=auth_body("carol", "carol-pw")), 401)
    token, body = env.login(user["id"], "reset", by_id=True)
    assert body["user"]["name"] == "carol" and "project" not in body


def test_user_groups_and_projects(identity_env: IdentityEnv):
    env = identity_env
    user = make_user(env)
    groups = [make_group(env, f"g{i}") for i in range(2)]
    for g in groups:
        env.admin.ok("PUT", f"/v3/groups/{g['id']}/users/{user['id']}", 204)
    listed = env.admin.ok("GET", f"/v3/users/{user['id']}/groups")["groups"]
    assert sorted(listed, key=lambda g: g["name"]) == groups
    member = env.role_id("member")
    env.admin.ok("PUT", f"/v3/projects/{env.ids['demo']}/users/{user['id']}/roles/{member}",
                 204)
    env.admin.ok("PUT", f"/v3/projects/{env.ids['other']}/groups/{groups[0]['id']}/roles/"
                 f"{member}", 204)
    projects = env.admin.ok("GET", f"/v3/users/{user['id']}/projects")["projects"]
    assert sorted(p["name"] for p in projects) == ["demo", "other"]
    # A user lists its own projects and groups; not another's.
    alice = env.user_ids["alice"]
    assert [p["name"] for p in env.alice.ok("GET", f"/v3/users/{alice}/projects")
            ["projects"]] == ["demo"]
    assert env.alice.ok("GET", f"/v3/users/{alice}/groups")["groups"] == []
    err(env.alice.get(f"/v3/users/{user['id']}/projects"), 403)
    err(env.admin.get("/v3/users/nope/groups"), 404)


# -- groups ----------------------------------------------------------------------------------
def test_group_lifecycle(identity_env: IdentityEnv):
    env = identity_env
    group = make_group(env, description="the team")
    assert (group["domain_id"], group["description"]) == ("default", "the team")
    assert env.admin.ok("GET", f"/v3/groups/{group['id']}")["group"] == group
    assert group in env.admin.ok("GET", "/v3/groups")["groups"]
    assert env.admin.ok("GET", "/v3/groups?name=team")["groups"] == [group]
    updated = env.admin.ok("PATCH", f"/v3/groups/{group['id']}",
                           json={"group": {"name": "crew"}})["group"]
    assert (updated["name"], updated["description"]) == ("crew", "the team")
    err(env.admin.post("/v3/groups", json={"group": {"name": "crew"}}), 409)
    err(env.admin.post("/v3/groups", json={"group": {"name": ""}}), 400)
    err(env.admin.post("/v3/groups", json={"group": {"name": "x", "domain_id": "no"}}), 404)
    err(env.alice.post("/v3/groups", json={"group": {"name": "x"}}), 403)
    err(env.alice.get("/v3/groups"), 403)
    env.admin.ok("DELETE", f"/v3/groups/{group['id']}", 204)
    err(env.admin.get(f"/v3/groups/{group['id']}"), 404)


def test_group_membership(identity_env: IdentityEnv):
    env = identity_env
    group = make_group(env)
    users = [make_user(env, f"u{i}") for i in range(2)]
    base = f"/v3/groups/{group['id']}/users"
    for u in users:
        env.admin.ok("PUT", f"{base}/{u['id']}", 204)
    assert env.admin.ok("GET", base)["users"] == users
    assert env.admin.head(f"{base}/{users[0]['id']}").status_code == 204
    env.admin.ok("DELETE", f"{base}/{users[0]['id']}", 204)
    err(env.admin.head(f"{base}/{users[0]['id']}"), 404)
    err(env.admin.get(f"{base}/{users[0]['id']}"), 404, "not a member")
    err(env.admin.delete(f"{base}/{users[0]['id']}"), 404)
    err(env.admin.put(f"{base}/nope"), 404)
    err(env.admin.put(f"/v3/groups/nope/users/{users[1]['id']}"), 404)
    err(env.alice.put(f"{base}/{env.user_ids['alice']}"), 403)


def test_group_roles_reach_members_tokens(identity_env: IdentityEnv):
    env = identity_env
    group = make_group(env)
    user = make_user(env)
    env.admin.ok("PUT", f"/v3/groups/{group['id']}/users/{user['id']}", 204)
    reader = env.role_id("reader")
    env.admin.ok("PUT", f"/v3/projects/{env.ids['other']}/groups/{group['id']}/roles/{reader}",
                 204)
    _, token = env.login("carol", "carol-pw", {"project": {"id": env.ids["other"]}})
    assert [r["name"] for r in token["roles"]] == ["reader"]
    env.admin.ok("DELETE", f"/v3/groups/{group['id']}/users/{user['id']}", 204)
    resp = env.anonymous.post("/v3/auth/tokens", json=auth_body(
        "carol", "carol-pw", {"project": {"id": env.ids["other"]}}))
    err(resp, 401)
