"""Credentials (``/v3/credentials``, OS-EC2), application credentials (create, list, show,
delete, authentication) and access rules, on the Flask test client with a real catalog."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import stat

import pytest
from sqlalchemy import select

from minicloud.identity.catalog_models import AccessRule, ApplicationCredential, Credential
from minicloud.identity.credentials import KEY_FILE
from tests.identity_catalog_fixtures import *  # noqa: F403
from tests.identity_catalog_fixtures import CatalogEnv, err


def _blob(access: str = "AK", secret: str = "SK") -> str:
    return json.dumps({"access": access, "secret": secret})


# -- /v3/credentials -------------------------------------------------------------------------
def test_credential_lifecycle_and_encryption_at_rest(catalog_env: CatalogEnv):
    env, alice = catalog_env, catalog_env.alice
    cred = alice.ok("POST", "/v3/credentials", {"credential": {
        "user_id": alice.user_id, "project_id": alice.project_id, "type": "ec2",
        "blob": _blob("alice-access", "top-secret-value")}}, 201)["credential"]
    assert cred["id"] == hashlib.sha256(b"alice-access").hexdigest()
    assert json.loads(cred["blob"]) == {"access": "alice-access", "secret": "top-secret-value"}
    assert cred["links"]["self"].endswith(f"/v3/credentials/{cred['id']}")
    with env.db.session() as s:
        stored = s.get(Credential, cred["id"]).encrypted_blob
    assert "top-secret-value" not in stored and "alice-access" not in stored
    key = env.state_dir / KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_bytes() != (env.state_dir / "keys" / "fernet.key").read_bytes()

    totp = alice.ok("POST", "/v3/credentials", {"credential": {
        "user_id": alice.user_id, "type": "totp", "blob": "GEZDGNBVGY3TQOJQ"}},
        201)["credential"]
    cert = alice.ok("POST", "/v3/credentials", {"credential": {
        "user_id": alice.user_id, "type": "cert", "blob": "-----BEGIN CERT-----"}},
        201)["credential"]
    listed = {c["id"] for c in alice.ok("GET", "/v3/credentials")["credentials"]}
    assert listed == {cred["id"], totp["id"], cert["id"]}
    assert [c["id"] for c in alice.ok("GET", "/v3/credentials?type=totp")["credentials"]] == \
        [totp["id"]]

    updated = alice.ok("PATCH", f"/v3/credentials/{cred['id']}", {"credential": {
        "blob": _blob("new-access", "new-secret")}})["credential"]
    assert updated["id"] == cred["id"] and updated["project_id"] == alice.project_id
    assert json.loads(alice.ok("GET", f"/v3/credentials/{cred['id']}")["credential"]["blob"]) \
        == {"access": "new-access", "secret": "new-secret"}
    err(alice.patch(f"/v3/credentials/{cred['id']}", {"credential": {"type": "cert"}}), 400,
        "cannot change")
    err(alice.patch(f"/v3/credentials/{cred['id']}",
                    {"credential": {"user_id": env.bob.user_id}}), 400, "cannot change")
    alice.ok("DELETE", f"/v3/credentials/{totp['id']}", status=204)
    err(alice.get(f"/v3/credentials/{totp['id']}"), 404, "could not find credential")


def test_credentials_are_shown_to_their_owner_and_admins_only(catalog_env: CatalogEnv):
    env = catalog_env
    mine = env.alice.ok("POST", "/v3/credentials", {"credential": {
        "user_id": env.alice.user_id, "type": "cert", "blob": "alice's"}}, 201)["credential"]
    theirs = env.bob.ok("POST", "/v3/credentials", {"credential": {
        "user_id": env.bob.user_id, "type": "cert", "blob": "bob's"}}, 201)["credential"]
    assert [c["id"] for c in env.bob.ok("GET", "/v3/credentials")["credentials"]] == \
        [theirs["id"]]
    assert env.bob.ok("GET", f"/v3/credentials?user_id={env.alice.user_id}")[
        "credentials"] == []
    err(env.bob.get(f"/v3/credentials/{mine['id']}"), 403)
    err(env.bob.patch(f"/v3/credentials/{mine['id']}", {"credential": {"blob": "x"}}), 403)
    err(env.bob.delete(f"/v3/credentials/{mine['id']}"), 403)
    err(env.bob.post("/v3/credentials", {"credential": {
        "user_id": env.alice.user_id, "type": "cert", "blob": "forged"}}), 403)
    everything = {c["id"] for c in env.admin.ok("GET", "/v3/credentials")["credentials"]}
    assert {mine["id"], theirs["id"]} <= everything
    assert env.admin.ok("GET", f"/v3/credentials/{mine['id']}")["credential"]["blob"] == \
        "alice's"


@pytest.mark.parametrize(("credential", "status", "text"), [
    ({"type": "ec2", "blob": "not json"}, 400, "access"),
    ({"type": "ec2", "blob": json.dumps({"secret": "s"})}, 400, "access"),
    ({"type": "ec2", "blob": _blob(), "project_id": None}, 400, "project"),
    ({"type": "cert"}, 400, "blob"),
    ({"blob": "x"}, 400, "type"),
    ({"type": "cert", "blob": ""}, 400, "blob"),
    ({"type": "cert", "blob": "x", "user_id": "nobody"}, 403, ""),
])
def test_credential_refusals(catalog_env: CatalogEnv, credential, status, text):
    alice = catalog_env.alice
    body = {"user_id": alice.user_id, **credential}
    if credential.get("type") == "ec2" and "project_id" not in credential:
        body["project_id"] = None
    err(alice.post("/v3/credentials", {"credential": body}), status, text)


def test_credential_of_an_unknown_user_and_duplicates(catalog_env: CatalogEnv):
    admin = catalog_env.admin
    err(admin.post("/v3/credentials", {"credential": {
        "user_id": "nobody", "type": "cert", "blob": "x"}}), 404, "nobody")
    body = {"credential": {"user_id": catalog_env.alice.user_id, "type": "ec2",
                           "project_id": catalog_env.alice.project_id, "blob": _blob()}}
    admin.ok("POST", "/v3/credentials", body, 201)
    err(admin.post("/v3/credentials", body), 409, "duplicate")


# -- OS-EC2 ----------------------------------------------------------------------------------
def test_ec2_credentials(catalog_env: CatalogEnv):
    alice = catalog_env.alice
    base = f"/v3/users/{alice.user_id}/credentials/OS-EC2"
    made = alice.ok("POST", base, {"tenant_id": alice.project_id}, 201)["credential"]
    assert made["access"] and made["secret"] and made["trust_id"] is None
    assert (made["user_id"], made["tenant_id"]) == (alice.user_id, alice.project_id)
    assert made["links"]["self"].endswith(f"{base}/{made['access']}")
    second = alice.ok("POST", base, {"tenant_id": alice.project_id}, 201)["credential"]
    assert {c["access"] for c in alice.ok("GET", base)["credentials"]} == \
        {made["access"], second["access"]}
    shown = alice.ok("GET", f"{base}/{made['access']}")["credential"]
    assert {k: shown[k] for k in ("access", "secret", "user_id", "tenant_id")} == \
        {k: made[k] for k in ("access", "secret", "user_id", "tenant_id")}
    # the same credential through /v3/credentials
    generic = alice.ok("GET", f"/v3/credentials/"
                              f"{hashlib.sha256(made['access'].encode()).hexdigest()}")
    assert generic["credential"]["type"] == "ec2"
    alice.ok("DELETE", f"{base}/{made['access']}", status=204)
    err(alice.get(f"{base}/{made['access']}"), 404)
    err(alice.post(base, {"tenant_id": "no-such-project"}), 404, "project")
    err(alice.post(base, {}), 400)
    bob_base = f"/v3/users/{catalog_env.bob.user_id}/credentials/OS-EC2"
    err(alice.get(bob_base), 403)
    err(alice.post(bob_base, {"tenant_id": alice.project_id}), 403)
    err(catalog_env.bob.get(f"{base}/{second['access']}"), 403)
    err(catalog_env.bob.get(f"{bob_base}/{second['access']}"), 404)  # not bob's


# -- application credentials -----------------------------------------------------------------
def _auth(client, app_cred: dict) -> object:
    return client.post("/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["application_credential"], "application_credential": app_cred}}})


def test_application_credential_lifecycle(catalog_env: CatalogEnv):
    alice = catalog_env.alice
    base = f"/v3/users/{alice.user_id}/application_credentials"
    made = alice.ok("POST", base, {"application_credential": {
        "name": "ci", "description": "pipeline"}}, 201)["application_credential"]
    assert len(made["secret"]) >= 64
    assert (made["name"], made["description"], made["project_id"], made["user_id"]) == \
        ("ci", "pipeline", alice.project_id, alice.user_id)
    assert {r["name"] for r in made["roles"]} == {"member", "reader"}  # all of alice's
    assert made["unrestricted"] is False and made["expires_at"] is None
    assert made["access_rules"] == []
    shown = alice.ok("GET", f"{base}/{made['id']}")["application_credential"]
    assert "secret" not in shown and shown["roles"] == made["roles"]
    with catalog_env.db.session() as s:
        assert made["secret"] not in s.get(ApplicationCredential, made["id"]).secret_hash
    other = alice.ok("POST", base, {"application_credential": {
        "name": "other", "secret": "chosen-secret"}}, 201)["application_credential"]
    assert other["secret"] == "chosen-secret"
    assert len(alice.ok("GET", base)["application_credentials"]) == 2
    [found] = alice.ok("GET", f"{base}?name=other")["application_credentials"]
    assert found["id"] == other["id"] and "secret" not in found
    err(alice.post(base, {"application_credential": {"name": "ci"}}), 409, "duplicate")
    alice.ok("DELETE", f"{base}/{other['id']}", status=204)
    err(alice.get(f"{base}/{other['id']}"), 404, "could not find application credential")
    err(alice.delete(f"{base}/{other['id']}"), 404)


def test_application_credential_authentication(catalog_env: CatalogEnv):
    env, alice = catalog_env, catalog_env.alice
    base = f"/v3/users/{alice.user_id}/application_credentials"
    made = alice.ok("POST", base, {"application_credential": {
        "name": "reader-only", "roles": [{"name": "reader"}]}}, 201)["application_credential"]
    assert [r["name"] for r in made["roles"]] == ["reader"]
    for ref in ({"id": made["id"], "secret": made["secret"]},
                {"name": "reader-only", "secret": made["secret"],
                 "user": {"id": alice.user_id}},
                {"name": "reader-only", "secret": made["secret"],
                 "user": {"name": "alice", "domain": {"name": "Default"}}}):
        resp = _auth(env.client, ref)
        assert resp.status_code == 201, resp.json
        token = resp.json["token"]
        assert token["project"]["id"] == alice.project_id
        assert token["user"]["id"] == alice.user_id
        assert [r["name"] for r in token["roles"]] == ["reader"]
        assert token["methods"] == ["application_credential"]
    subject = resp.headers["X-Subject-Token"]
    # the token works, with the credential's roles only: a reader cannot write
    restricted = env.caller(subject, alice.user_id, alice.project_id)
    assert restricted.ok("GET", "/v3/auth/catalog")["catalog"]
    for ref in ({"id": made["id"], "secret": "wrong"},
                {"id": "no-such-credential", "secret": made["secret"]},
                {"name": "reader-only", "secret": made["secret"],
                 "user": {"id": env.bob.user_id}}):
        err(_auth(env.client, ref), 401)
    for ref in ({"id": made["id"]}, {"name": "reader-only", "secret": "x"}, "string"):
        err(_auth(env.client, ref), 400)
    # another project than the credential's: refused
    resp = env.client.post("/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["application_credential"],
                     "application_credential": {"id": made["id"], "secret": made["secret"]}},
        "scope": {"project": {"id": env.bob.project_id}}}})
    err(resp, 401)
    # deleted: it authenticates no more
    alice.ok("DELETE", f"{base}/{made['id']}", status=204)
    err(_auth(env.client, {"id": made["id"], "secret": made["secret"]}), 401)


def test_tokens_of_a_deleted_application_credential_stop_working(catalog_env: CatalogEnv):
    env, alice = catalog_env, catalog_env.alice
    base = f"/v3/users/{alice.user_id}/application_credentials"
    made = alice.ok("POST", base, {"application_credential": {"name": "gone"}},
                    201)["application_credential"]
    resp = _auth(env.client, {"id": made["id"], "secret": made["secret"]})
    assert resp.status_code == 201, resp.json
    holder = env.caller(resp.headers["X-Subject-Token"], alice.user_id, alice.project_id)
    assert holder.ok("GET", "/v3/auth/catalog")["catalog"]
    alice.ok("DELETE", f"{base}/{made['id']}", status=204)
    err(holder.get("/v3/auth/catalog"), 401)


def test_an_expired_application_credential_is_refused(catalog_env: CatalogEnv):
    env, alice = catalog_env, catalog_env.alice
    base = f"/v3/users/{alice.user_id}/application_credentials"
    soon = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=1)
    made = alice.ok("POST", base, {"application_credential": {
        "name": "short", "expires_at": soon.isoformat()}}, 201)["application_credential"]
    assert made["expires_at"] == soon.isoformat()  # as Tempest compares it
    resp = _auth(env.client, {"id": made["id"], "secret": made["secret"]})
    assert resp.status_code == 201
    expires = dt.datetime.strptime(resp.json["token"]["expires_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert expires <= soon  # a token never outlives its credential
    with env.db.session() as s:
        s.get(ApplicationCredential, made["id"]).expires_at = \
            dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=1)
    err(_auth(env.client, {"id": made["id"], "secret": made["secret"]}), 401)
    err(alice.post(base, {"application_credential": {
        "name": "past", "expires_at": "2001-01-01T00:00:00Z"}}), 400, "expires_at")
    err(alice.post(base, {"application_credential": {
        "name": "garbled", "expires_at": "tomorrow"}}), 400, "expires_at")


def test_restricted_credentials_cannot_make_more(catalog_env: CatalogEnv):
    env, alice = catalog_env, catalog_env.alice
    base = f"/v3/users/{alice.user_id}/application_credentials"
    tokens = {}
    for name, unrestricted in (("restricted", False), ("unrestricted", True)):
        made = alice.ok("POST", base, {"application_credential": {
            "name": name, "unrestricted": unrestricted}}, 201)["application_credential"]
        resp = _auth(env.client, {"id": made["id"], "secret": made["secret"]})
        tokens[name] = env.caller(resp.headers["X-Subject-Token"], alice.user_id,
                                  alice.project_id)
    err(tokens["restricted"].post(base, {"application_credential": {"name": "more"}}), 403,
        "application_credential")
    more = tokens["unrestricted"].ok("POST", base, {"application_credential": {
        "name": "more"}}, 201)["application_credential"]
    err(tokens["restricted"].delete(f"{base}/{more['id']}"), 403)
    tokens["unrestricted"].ok("DELETE", f"{base}/{more['id']}", status=204)


def test_application_credential_roles_are_a_subset(catalog_env: CatalogEnv):
    alice = catalog_env.alice
    base = f"/v3/users/{alice.user_id}/application_credentials"
    err(alice.post(base, {"application_credential": {"name": "x", "roles": [
        {"name": "admin"}]}}), 404, "role assignment")
    err(alice.post(base, {"application_credential": {"name": "x", "roles": [
        {"name": "no-such-role"}]}}), 404, "no-such-role")
    for bad in ({"name": ""}, {"description": "no name"}, {"name": "x", "color": "red"},
                {"name": "x", "roles": [{}]}, {"name": "x", "roles": "member"},
                {"name": "x", "unrestricted": "yes"},
                {"name": "x", "access_rules": [{"service": "compute", "method": "BREW",
                                                "path": "/"}]}):
        err(alice.post(base, {"application_credential": bad}), 400)


def test_others_application_credentials_are_out_of_reach(catalog_env: CatalogEnv):
    env = catalog_env
    base = f"/v3/users/{env.alice.user_id}/application_credentials"
    made = env.alice.ok("POST", base, {"application_credential": {"name": "mine"}},
                        201)["application_credential"]
    err(env.bob.get(base), 403)
    err(env.bob.get(f"{base}/{made['id']}"), 403)
    err(env.bob.delete(f"{base}/{made['id']}"), 403)
    err(env.bob.post(base, {"application_credential": {"name": "forged"}}), 403)
    # an admin reads and deletes anyone's, but creates only its own
    assert env.admin.ok("GET", f"{base}/{made['id']}")["application_credential"]["name"] == \
        "mine"
    err(env.admin.post(base, {"application_credential": {"name": "forged"}}), 403)
    env.admin.ok("DELETE", f"{base}/{made['id']}", status=204)


def test_deleting_the_user_deletes_its_credentials(catalog_env: CatalogEnv):
    env, bob = catalog_env, catalog_env.bob
    env.bob.ok("POST", f"/v3/users/{bob.user_id}/application_credentials",
               {"application_credential": {"name": "b", "access_rules": [
                   {"service": "image", "method": "GET", "path": "/v2/images"}]}}, 201)
    env.bob.ok("POST", "/v3/credentials", {"credential": {
        "user_id": bob.user_id, "type": "cert", "blob": "x"}}, 201)
    env.admin.ok("DELETE", f"/v3/users/{bob.user_id}", status=204)
    with env.db.session() as s:
        assert s.scalars(select(ApplicationCredential).where(
            ApplicationCredential.user_id == bob.user_id)).all() == []
        assert s.scalars(select(Credential).where(Credential.user_id == bob.user_id)).all() \
            == []
        assert s.scalars(select(AccessRule).where(AccessRule.user_id == bob.user_id)).all() \
            == []


# -- access rules ------------------------------------------------------------------------------
def test_access_rules(catalog_env: CatalogEnv):
    alice = catalog_env.alice
    base = f"/v3/users/{alice.user_id}/application_credentials"
    rules = f"/v3/users/{alice.user_id}/access_rules"
    rule = {"path": "/v2.1/servers/*/ips", "method": "GET", "service": "compute"}
    one = alice.ok("POST", base, {"application_credential": {
        "name": "one", "access_rules": [rule]}}, 201)["application_credential"]
    [made] = one["access_rules"]
    assert {k: v for k, v in made.items() if k != "id"} == rule
    two = alice.ok("POST", base, {"application_credential": {
        "name": "two", "access_rules": [rule]}}, 201)["application_credential"]
    assert two["access_rules"] == [made]  # identical rules are shared
    three = alice.ok("POST", base, {"application_credential": {
        "name": "three", "access_rules": [{"id": made["id"]}]}}, 201)["application_credential"]
    assert three["access_rules"] == [made]
    [listed] = alice.ok("GET", rules)["access_rules"]
    assert listed["id"] == made["id"] and listed["links"]["self"].endswith(made["id"])
    assert alice.ok("GET", f"{rules}/{made['id']}")["access_rule"]["service"] == "compute"
    err(alice.delete(f"{rules}/{made['id']}"), 403, "uses it")
    for cred in (one, two, three):
        alice.ok("DELETE", f"{base}/{cred['id']}", status=204)
    assert [r["id"] for r in alice.ok("GET", rules)["access_rules"]] == [made["id"]]
    alice.ok("DELETE", f"{rules}/{made['id']}", status=204)
    assert alice.ok("GET", rules)["access_rules"] == []
    err(alice.get(f"{rules}/{made['id']}"), 404, "access rule")
    err(alice.post(base, {"application_credential": {
        "name": "four", "access_rules": [{"id": "unknown"}]}}), 404, "access rule")
    err(catalog_env.bob.get(rules), 403)
