"""Token scopes (project, domain, system, unscoped), validation, the /v3/auth listings, the
authentication-method table, and the policy credentials each scope carries."""
from __future__ import annotations

import pytest

from minicloud.identity import appcreds, users
from minicloud.identity import auth as auth_methods
from minicloud.identity.auth import AuthResult, register_method
from minicloud.identity.tokens import Scope
from minicloud.identity.users import verify_password
from tests.identity_fixtures import *  # noqa: F403
from tests.identity_fixtures import IdentityEnv, auth_body, err


def test_unscoped_token_without_default_project(identity_env: IdentityEnv):
    env = identity_env
    env.admin.ok("POST", "/v3/users", 201, json={"user": {"name": "carol",
                                                          "password": "pw"}})
    token, body = env.login("carol", "pw")
    assert body["methods"] == ["password"] and body["user"]["domain"]["name"] == "Default"
    for key in ("project", "domain", "system", "roles", "catalog"):
        assert key not in body
    # An unscoped token validates (the owner may read it) and lists where it may scope.
    client = env.client_for(token)
    assert client.ok("GET", "/v3/auth/tokens", headers={"X-Subject-Token": token})["token"] \
        == body
    assert client.ok("GET", "/v3/auth/projects")["projects"] == []
    err(client.get("/v3/auth/catalog"), 401)


def test_default_project_scopes_the_token(identity_env: IdentityEnv):
    env = identity_env
    _, body = env.login("alice", "alice-pw")  # alice's default project is demo
    assert body["project"]["name"] == "demo" and body["is_domain"] is False
    assert body["project"]["domain"] == {"id": "default", "name": "Default"}
    _, unscoped = env.login("alice", "alice-pw", "unscoped")
    assert "project" not in unscoped


def test_domain_scoped_token(identity_env: IdentityEnv):
    env = identity_env
    member = env.role_id("member")
    alice = env.user_ids["alice"]
    scope = {"domain": {"name": "Default"}}
    err(env.anonymous.post("/v3/auth/tokens", json=auth_body("alice", "alice-pw", scope)), 401)
    env.admin.ok("PUT", f"/v3/domains/default/users/{alice}/roles/{member}", 204)
    token, body = env.login("alice", "alice-pw", scope)
    assert body["domain"] == {"id": "default", "name": "Default"} and "project" not in body
    assert {r["name"] for r in body["roles"]} == {"member", "reader"} and body["catalog"]
    ctx = env.tokens.validate(token)
    creds = ctx.credentials()
    assert creds["domain_id"] == "default" and "system_scope" not in creds
    assert creds["project_id"] is None
    client = env.client_for(token)
    assert [d["id"] for d in client.ok("GET", "/v3/auth/domains")["domains"]] == ["default"]
    # A domain reader lists its domain's users and projects (Keystone's domain persona).
    names = {u["name"] for u in client.ok("GET", "/v3/users")["users"]}
    assert {"alice", "bob", "admin"} <= names
    err(client.post("/v3/domains", json={"domain": {"name": "x"}}), 403)  # scope types


def test_system_scoped_token(identity_env: IdentityEnv):
    env = identity_env
    token, body = env.login("admin", "admin-pw", {"system": {"all": True}})
    assert body["system"] == {"all": True} and "project" not in body
    assert {r["name"] for r in body["roles"]} == {"admin", "manager", "member", "reader"}
    creds = env.tokens.validate(token).credentials()
    assert creds["system_scope"] == "all" and "domain_id" not in creds
    client = env.client_for(token)
    assert client.ok("GET", "/v3/auth/system")["system"] == [{"all": True}]
    assert client.ok("GET", "/v3/users")["users"]
    err(env.anonymous.post("/v3/auth/tokens", json=auth_body(
        "alice", "alice-pw", {"system": {"all": True}})), 401)  # no system role
    assert env.alice.ok("GET", "/v3/auth/system")["system"] == []
    err(env.anonymous.post("/v3/auth/tokens", json=auth_body(
        "admin", "admin-pw", {"system": {"all": False}})), 400)


def test_a_system_reader_reads_but_does_not_write(identity_env: IdentityEnv):
    env = identity_env
    env.admin.ok("PUT", f"/v3/system/users/{env.user_ids['bob']}/roles/"
                 f"{env.role_id('reader')}", 204)
    token, _ = env.login("bob", "bob-pw", {"system": {"all": True}})
    client = env.client_for(token)
    assert client.ok("GET", "/v3/projects")["projects"]
    assert client.ok("GET", "/v3/role_assignments")["role_assignments"]
    err(client.post("/v3/projects", json={"project": {"name": "x"}}), 403)


def test_project_credentials_carry_no_domain_id(identity_env: IdentityEnv):
    env = identity_env
    creds = env.tokens.validate(env.alice.token).credentials()
    assert creds["project_id"] == env.ids["demo"] and creds["project_domain_id"] == "default"
    assert "domain_id" not in creds and "system_scope" not in creds
    assert creds["roles"] == ["member", "reader"]


def test_validate_own_token_only(identity_env: IdentityEnv):
    env = identity_env
    other, _ = env.login("alice", "alice-pw")
    # Another token of the same user: compared by user, not by token string.
    resp = env.alice.get("/v3/auth/tokens", headers={"X-Subject-Token": other})
    assert resp.status_code == 200 and resp.headers["X-Subject-Token"] == other
    assert env.alice.head("/v3/auth/tokens", headers={"X-Subject-Token": other}
                          ).status_code == 200
    err(env.bob.get("/v3/auth/tokens", headers={"X-Subject-Token": other}), 403)
    assert env.admin.get("/v3/auth/tokens", headers={"X-Subject-Token": other}
                         ).status_code == 200
    err(env.alice.get("/v3/auth/tokens"), 404)
    err(env.alice.get("/v3/auth/tokens?nocatalog", headers={"X-Subject-Token": "junk"}), 404)
    shown = env.alice.ok("GET", "/v3/auth/tokens?nocatalog",
                         headers={"X-Subject-Token": other})["token"]
    assert "catalog" not in shown and shown["roles"]


def test_rescoping_between_projects(identity_env: IdentityEnv):
    env = identity_env
    alice = env.user_ids["alice"]
    env.admin.ok("PUT", f"/v3/projects/{env.ids['other']}/users/{alice}/roles/"
                 f"{env.role_id('member')}", 204)
    unscoped, first = env.login(alice, "alice-pw", "unscoped", by_id=True)
    body = {"auth": {"identity": {"methods": ["token"], "token": {"id": unscoped}},
                     "scope": {"project": {"name": "other", "domain": {"id": "default"}}}}}
    resp = env.anonymous.post("/v3/auth/tokens", json=body)
    assert resp.status_code == 201
    token = resp.json["token"]
    assert token["project"]["name"] == "other" and token["expires_at"] == first["expires_at"]
    assert set(token["methods"]) == {"password", "token"}
    assert token["audit_ids"][1] == first["audit_ids"][0]  # the parent's audit id
    # Revoking the rescoped token leaves its parent usable.
    scoped = resp.headers["X-Subject-Token"]
    env.client_for(scoped).ok("DELETE", "/v3/auth/tokens", 204,
                              headers={"X-Subject-Token": scoped})
    assert env.anonymous.post("/v3/auth/tokens", json=body).status_code == 201


def test_auth_projects_and_domains(identity_env: IdentityEnv):
    env = identity_env
    projects = env.alice.ok("GET", "/v3/auth/projects")["projects"]
    assert [p["name"] for p in projects] == ["demo"]
    env.admin.ok("PATCH", f"/v3/projects/{env.ids['demo']}",
                 json={"project": {"enabled": False}})
    err(env.alice.get("/v3/auth/projects"), 401)  # its token's project is disabled now
    assert env.bob.ok("GET", "/v3/auth/projects")["projects"][0]["name"] == "other"


@pytest.mark.parametrize("scope", [
    {"project": {"name": "demo"}},                      # a name needs its domain
    {"project": {"domain": {"id": "default"}}},          # neither id nor name
    {"project": {"id": "x"}, "domain": {"id": "y"}},     # two scopes
    {"OS-TRUST:trust": {"id": "t"}},                     # no trusts
    {"galaxy": {}},
])
def test_bad_scopes(identity_env: IdentityEnv, scope: dict):
    resp = identity_env.anonymous.post("/v3/auth/tokens",
                                       json=auth_body("alice", "alice-pw", scope))
    err(resp, 400)


def test_scope_to_unknown_or_disabled_targets(identity_env: IdentityEnv):
    env = identity_env
    for scope in ({"project": {"id": "nope"}}, {"domain": {"id": "nope"}},
                  {"project": {"name": "demo", "domain": {"name": "Nowhere"}}}):
        err(env.anonymous.post("/v3/auth/tokens", json=auth_body("alice", "alice-pw", scope)),
            401)


def test_user_lookup_needs_a_domain_and_refuses_uniformly(identity_env: IdentityEnv):
    env = identity_env
    body = {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": "alice", "password": "alice-pw"}}}}}
    err(env.anonymous.post("/v3/auth/tokens", json=body), 400)
    for user, password in (("alice", "wrong"), ("nobody", "alice-pw")):
        resp = env.anonymous.post("/v3/auth/tokens", json=auth_body(user, password))
        err(resp, 401, "requires authentication")


def test_unknown_users_cost_a_password_hash(monkeypatch):
    """No timing difference between an unknown user and a wrong password: both hash."""
    calls = []
    real = users.check_password
    monkeypatch.setattr(users, "check_password",
                        lambda pw, stored: calls.append(stored) or real(pw, stored))
    assert verify_password(None, "x") is False
    assert verify_password(None, None) is False
    assert len(calls) == 2


def test_disabled_domain_refuses_its_users(identity_env: IdentityEnv):
    env = identity_env
    domain = env.admin.ok("POST", "/v3/domains", 201, json={"domain": {"name": "d"}})["domain"]
    env.admin.ok("POST", "/v3/users", 201, json={"user": {
        "name": "dan", "password": "pw", "domain_id": domain["id"]}})
    body = auth_body("dan", "pw")
    body["auth"]["identity"]["password"]["user"]["domain"] = {"name": "d"}
    assert env.anonymous.post("/v3/auth/tokens", json=body).status_code == 201
    env.admin.ok("PATCH", f"/v3/domains/{domain['id']}", json={"domain": {"enabled": False}})
    err(env.anonymous.post("/v3/auth/tokens", json=body), 401)


def test_registered_method_restricts_the_token(identity_env: IdentityEnv, monkeypatch):
    """The hook the application-credential method uses: a method returns the user, a forced
    scope and the role ids the token is limited to."""
    env = identity_env
    alice, demo, reader = env.user_ids["alice"], env.ids["demo"], env.role_id("reader")

    def fake_method(deps, ref):
        assert ref == {"id": "cred"}
        return AuthResult(alice, ("application_credential",),
                          forced_scope=Scope(project_id=demo), app_cred_id="cred",
                          role_ids=(reader,))

    monkeypatch.setitem(auth_methods.METHODS, "application_credential", None)
    register_method("application_credential", fake_method)
    # Validation asks the credential's owner module which roles it still allows.
    asked = []
    monkeypatch.setattr(appcreds, "token_roles",
                        lambda s, cred, roles: asked.append((cred, roles)) or roles,
                        raising=False)
    body = {"auth": {"identity": {"methods": ["application_credential"],
                                  "application_credential": {"id": "cred"}}}}
    resp = env.anonymous.post("/v3/auth/tokens", json=body)
    assert resp.status_code == 201, resp.json
    token = resp.json["token"]
    assert token["project"]["id"] == demo and [r["name"] for r in token["roles"]] == ["reader"]
    assert token["application_credential"]["id"] == "cred"
    ctx = env.tokens.validate(resp.headers["X-Subject-Token"])
    assert ctx.app_cred_id == "cred" and ctx.roles == ("reader",)
    assert asked and asked[-1] == ("cred", (reader,))
    body["auth"]["scope"] = {"project": {"id": env.ids["other"]}}
    err(env.anonymous.post("/v3/auth/tokens", json=body), 401)
