"""Identity (Keystone v3 subset) through HTTP, on the Flask test client with a real catalog."""
from __future__ import annotations

import datetime as dt

import pytest

from minicloud.config import Config
from minicloud.db import Database
from minicloud.identity.api import create_app
from minicloud.identity.catalog import register_cloud
from minicloud.identity.service import IdentityService, check_password, hash_password

PASSWORD = "s3cret-admin"


@pytest.fixture
def env(tmp_path):
    conf = Config.load(tmp_path, environ={})
    db = Database(conf.database_url)
    db.upgrade()
    ident = IdentityService(db)
    assert ident.bootstrap("admin", "admin", PASSWORD) is True
    assert ident.bootstrap("admin", "admin", "other") is False  # idempotent
    ident.create_project("demo")
    ident.create_user("alice", "alice-pw", "demo", "member")
    register_cloud(db, conf)
    app = create_app(conf, db)
    yield app.test_client(), ident, conf
    db.dispose()


def auth_body(user="admin", password=PASSWORD, project="admin", by_id=False):
    user_ref = {"id": user} if by_id else {"name": user, "domain": {"name": "Default"}}
    return {"auth": {"identity": {"methods": ["password"], "password": {
        "user": dict(user_ref, password=password)}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}}


def login(client, **kw):
    resp = client.post("/v3/auth/tokens", json=auth_body(**kw))
    assert resp.status_code == 201, resp.json
    return resp.headers["X-Subject-Token"], resp.json["token"]


def test_password_hash_roundtrip():
    stored = hash_password("pw")
    assert check_password("pw", stored) and not check_password("pW", stored)
    assert not check_password("pw", "garbage")


def test_discovery_is_public(env):
    client, _, _ = env
    root = client.get("/")
    assert root.status_code == 300
    assert root.json["versions"]["values"][0]["id"] == "v3.14"
    for path in ("/v3", "/v3/"):
        version = client.get(path).json["version"]
        assert version["status"] == "stable"
        assert version["links"][0]["href"].endswith("/v3/")


def test_token_contract(env):
    client, _, conf = env
    token, body = login(client)
    assert token.startswith("gAAAA")  # a Fernet token
    expires = dt.datetime.strptime(body["expires_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert expires - dt.datetime.now(dt.UTC).replace(tzinfo=None) > dt.timedelta(seconds=3000)
    assert body["project"]["name"] == "admin" and body["user"]["name"] == "admin"
    # Keystone lists the implied roles too (admin > manager > member > reader).
    assert {r["name"] for r in body["roles"]} == {"admin", "manager", "member", "reader"}
    assert all(len(r["id"]) == 32 for r in body["roles"])  # real role ids
    types = {entry["type"]: entry for entry in body["catalog"]}
    assert types["identity"]["endpoints"][0]["url"] == "http://127.0.0.1:5000/v3"
    assert types["image"]["endpoints"][0]["interface"] == "public"
    assert types["image"]["endpoints"][0]["url"] == "http://127.0.0.1:9292"


def test_token_by_user_and_project_id(env):
    client, ident, _ = env
    user = ident.get_user("alice")
    project = ident.get_project("demo")
    body = auth_body(user.id, "alice-pw", by_id=True)
    body["auth"]["scope"] = {"project": {"id": project.id}}
    resp = client.post("/v3/auth/tokens", json=body)
    assert resp.status_code == 201
    assert [r["name"] for r in resp.json["token"]["roles"]] == ["member", "reader"]


@pytest.mark.parametrize("body, status", [
    (auth_body(password="wrong"), 401),
    (auth_body(user="nobody"), 401),
    (auth_body(project="nope"), 401),
    (auth_body(user="alice", password="alice-pw", project="admin"), 401),
    ({"auth": {}}, 400),
    ({"auth": {"identity": {"methods": ["totp"]}}}, 401),  # unsupported method, as Keystone
    ([], 400),
])
def test_bad_authentication(env, body, status):
    client, _, _ = env
    resp = client.post("/v3/auth/tokens", json=body)
    assert resp.status_code == status
    assert resp.json["error"]["code"] == status and resp.json["error"]["message"]


def test_malformed_json_is_400(env):
    client, _, _ = env
    resp = client.post("/v3/auth/tokens", data=b"{nope", content_type="application/json")
    assert resp.status_code == 400
    assert "JSON" in resp.json["error"]["message"]


def test_validate_token_and_bad_tokens(env):
    client, _, _ = env
    token, _ = login(client)
    ok = client.get("/v3/auth/tokens", headers={"X-Auth-Token": token, "X-Subject-Token": token})
    assert ok.status_code == 200 and ok.json["token"]["user"]["name"] == "admin"
    for bad in ("", "garbage", token[:-4] + "AAAA"):
        resp = client.get("/v3/projects", headers={"X-Auth-Token": bad} if bad else {})
        assert resp.status_code == 401, bad
    gone = client.get("/v3/auth/tokens", headers={"X-Auth-Token": token,
                                                  "X-Subject-Token": "garbage"})
    assert gone.status_code == 404


def test_expired_token_is_refused(env, monkeypatch):
    client, _, _ = env
    token, _ = login(client)
    later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=2)
    monkeypatch.setattr("minicloud.identity.tokens._now", lambda: later)
    resp = client.get("/v3/projects", headers={"X-Auth-Token": token})
    assert resp.status_code == 401 and "expired" in resp.json["error"]["message"]


def rescope(client, token, project=None):
    body = {"auth": {"identity": {"methods": ["token"], "token": {"id": token}}}}
    if project:
        body["auth"]["scope"] = {"project": {"name": project, "domain": {"name": "Default"}}}
    return client.post("/v3/auth/tokens", json=body)


def test_rescoping_keeps_the_user_and_the_expiry(env, monkeypatch):
    client, ident, _ = env
    ident.create_project("second")
    ident.assign_role("alice", "second", "member")
    token, body = login(client, user="alice", password="alice-pw", project="demo")
    later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(minutes=30)
    monkeypatch.setattr("minicloud.identity.tokens._now", lambda: later)
    resp = rescope(client, token, "second")
    assert resp.status_code == 201
    new = resp.json["token"]
    assert (new["user"]["name"], new["project"]["name"]) == ("alice", "second")
    assert new["expires_at"] == body["expires_at"]  # not extended by rescoping
    assert new["methods"] == ["password", "token"]  # the parent's methods, then token
    assert [r["name"] for r in new["roles"]] == ["member", "reader"]
    assert rescope(client, token).json["token"]["project"]["name"] == "demo"  # default: same
    assert rescope(client, token, "admin").status_code == 401     # no role there
    assert rescope(client, "garbage").status_code == 401
    bad = client.post("/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["token"], "token": "not-an-object"}}})
    assert bad.status_code == 400


def test_a_revoked_token_is_refused_everywhere(env):
    client, _, _ = env
    admin, _ = login(client)
    alice, _ = login(client, user="alice", password="alice-pw", project="demo")
    other, _ = login(client, user="alice", password="alice-pw", project="demo")
    refused = client.delete("/v3/auth/tokens", headers={"X-Auth-Token": alice,
                                                         "X-Subject-Token": admin})
    assert refused.status_code == 403  # not someone else's
    assert client.delete("/v3/auth/tokens", headers={
        "X-Auth-Token": alice, "X-Subject-Token": alice}).status_code == 204
    resp = client.get("/v3/auth/catalog", headers={"X-Auth-Token": alice})
    assert resp.status_code == 401 and "revoked" in resp.json["error"]["message"]
    assert rescope(client, alice).status_code == 401  # no new token from a revoked one
    # Only that token: the same user's other token still works; an admin revokes any.
    assert client.get("/v3/auth/catalog", headers={"X-Auth-Token": other}).status_code == 200
    assert client.delete("/v3/auth/tokens", headers={
        "X-Auth-Token": admin, "X-Subject-Token": other}).status_code == 204
    assert client.get("/v3/auth/tokens", headers={
        "X-Auth-Token": admin, "X-Subject-Token": other}).status_code == 404


def test_disabled_user_token_is_invalid(env):
    client, ident, _ = env
    token, _ = login(client, user="alice", password="alice-pw", project="demo")
    with ident.db.session() as s:
        from minicloud.identity.models import User
        s.get(User, ident.get_user("alice").id).enabled = False
    resp = client.get("/v3/auth/catalog", headers={"X-Auth-Token": token})
    assert resp.status_code == 401


def test_admin_calls_need_admin(env):
    client, _, _ = env
    member, _ = login(client, user="alice", password="alice-pw", project="demo")
    resp = client.get("/v3/projects", headers={"X-Auth-Token": member})
    assert resp.status_code == 403 and resp.json["error"]["message"]
    admin, _ = login(client)
    names = [p["name"] for p in client.get("/v3/projects",
                                           headers={"X-Auth-Token": admin}).json["projects"]]
    assert names == ["admin", "demo", "service"]


def test_admin_creates_project_user_and_role(env):
    client, _, _ = env
    admin, _ = login(client)
    hdr = {"X-Auth-Token": admin}
    proj = client.post("/v3/projects", json={"project": {"name": "lab"}}, headers=hdr)
    assert proj.status_code == 201
    dup = client.post("/v3/projects", json={"project": {"name": "lab"}}, headers=hdr)
    assert dup.status_code == 409
    new_user = {"name": "bob", "password": "pw",
                "default_project_id": proj.json["project"]["id"]}
    user = client.post("/v3/users", json={"user": new_user}, headers=hdr)
    assert user.status_code == 201
    reader = client.get("/v3/roles?name=reader", headers=hdr).json["roles"][0]["id"]
    path = f"/v3/projects/{proj.json['project']['id']}/users/{user.json['user']['id']}/roles"
    assigned = client.put(f"{path}/{reader}", headers=hdr)
    assert assigned.status_code == 204
    _, body = login(client, user="bob", password="pw", project="lab")
    assert [r["name"] for r in body["roles"]] == ["reader"]
    missing = client.put(f"{path}/nope", headers=hdr)
    assert missing.status_code == 404
    by_name = client.put(f"/v3/projects/lab/users/bob/roles/{reader}", headers=hdr)
    assert by_name.status_code == 404  # ids only, as Keystone


def test_unknown_route_is_json_404(env):
    client, _, _ = env
    admin, _ = login(client)
    resp = client.get("/v3/nothing-here", headers={"X-Auth-Token": admin})
    assert resp.status_code == 404 and resp.json["error"]["code"] == 404
