"""The key manager's Barbican v1 secrets API, in-process: versions, store/list/show/payload/
fill/delete, paging and the name filter, Barbican's validation and error shape, payloads
sealed at rest, and isolation between projects."""
from __future__ import annotations

import base64
import os
import sqlite3
import stat

import pytest

from keymanager.sealing import KEY_FILE
from tests.keymanager_fixtures import *  # noqa: F403 - the fixtures
from tests.keymanager_fixtures import KmEnv, cert_secret_body, make_signing_key

BASE = "http://127.0.0.1:9311"


def _id(ref: str) -> str:
    assert ref.startswith(f"{BASE}/v1/secrets/"), ref
    return ref.rsplit("/", 1)[1]


def store(env: KmEnv, user: str = "alice", **body) -> str:
    resp = env.users[user].post("/v1/secrets", json=body)
    assert resp.status_code == 201, resp.json
    assert resp.headers["Location"] == resp.json["secret_ref"]
    return _id(resp.json["secret_ref"])


def barbican_error(resp, status: int, text: str) -> None:
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True))
    assert set(resp.json) == {"code", "title", "description"}, resp.json
    assert resp.json["code"] == status
    assert text in resp.json["description"], resp.json["description"]


def test_version_documents_are_public(km_env):
    client = km_env.app.test_client()
    root = client.get("/")
    assert root.status_code == 300
    [version] = root.json["versions"]["values"]
    assert version["id"] == "v1" and version["status"] == "stable"
    assert {"rel": "self", "href": f"{BASE}/v1/"} in version["links"]
    assert client.get("/v1").json["version"]["id"] == "v1"
    barbican_error(client.get("/v1/secrets"), 401, "requires authentication")


def test_store_show_payload_delete_a_certificate(km_env):
    signing = make_signing_key()
    alice = km_env.users["alice"]
    sid = store(km_env, **cert_secret_body(signing, algorithm="RSA", bit_length=2048))
    meta = alice.get(f"/v1/secrets/{sid}").json
    assert meta["secret_ref"] == f"{BASE}/v1/secrets/{sid}"
    assert meta["secret_type"] == "certificate" and meta["status"] == "ACTIVE"
    assert meta["content_types"] == {"default": "application/octet-stream"}
    assert meta["algorithm"] == "RSA" and meta["bit_length"] == 2048
    assert meta["creator_id"] and meta["created"] and meta["expiration"] is None
    payload = alice.get(f"/v1/secrets/{sid}/payload",
                        headers={"Accept": "application/octet-stream"})
    assert payload.status_code == 200 and payload.data == signing.der
    assert payload.headers["Content-Type"] == "application/octet-stream"
    # a non-JSON Accept on the secret itself answers the payload, as Barbican
    assert alice.get(f"/v1/secrets/{sid}",
                     headers={"Accept": "application/octet-stream"}).data == signing.der
    barbican_error(alice.get(f"/v1/secrets/{sid}/payload", headers={"Accept": "text/plain"}),
                   406, "content-type")
    assert alice.delete(f"/v1/secrets/{sid}").status_code == 204
    barbican_error(alice.get(f"/v1/secrets/{sid}"), 404, "another castle")


def test_payloads_are_sealed_at_rest(km_env):
    store(km_env, name="pw", payload="correct horse battery staple",
          payload_content_type="text/plain")
    key = km_env.state_dir / KEY_FILE
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    rows = sqlite3.connect(km_env.conf.database_url.removeprefix("sqlite:///")).execute(
        "SELECT sealed FROM km_secrets").fetchall()
    assert len(rows) == 1 and b"horse" not in rows[0][0]
    dump = b"".join((km_env.state_dir / name).read_bytes()
                    for name in os.listdir(km_env.state_dir) if name.startswith("minicloud.db"))
    assert dump and b"horse" not in dump  # the WAL too


def test_metadata_only_secret_takes_its_payload_once(km_env):
    alice = km_env.users["alice"]
    sid = store(km_env, name="later")
    assert "content_types" not in alice.get(f"/v1/secrets/{sid}").json
    barbican_error(alice.get(f"/v1/secrets/{sid}/payload"), 404, "No secret payload")
    data = base64.b64encode(b"\x00\x01binary").decode()
    put = alice.put(f"/v1/secrets/{sid}", data=data, headers={
        "Content-Type": "application/octet-stream", "Content-Encoding": "base64"})
    assert put.status_code == 204, put.json
    assert alice.get(f"/v1/secrets/{sid}/payload").data == b"\x00\x01binary"
    again = alice.put(f"/v1/secrets/{sid}", data="x", headers={"Content-Type": "text/plain"})
    barbican_error(again, 409, "already has data")


def test_list_pages_and_filters_by_name_in_the_callers_project(km_env):
    for n in range(5):
        store(km_env, name=f"s{n}", payload=f"v{n}", payload_content_type="text/plain")
    store(km_env, "bob", name="s0", payload="bob's", payload_content_type="text/plain")
    alice = km_env.users["alice"]
    page = alice.get("/v1/secrets?limit=2&offset=2").json
    assert page["total"] == 5 and [s["name"] for s in page["secrets"]] == ["s2", "s3"]
    assert page["next"] == f"{BASE}/v1/secrets?limit=2&offset=4"
    assert page["previous"] == f"{BASE}/v1/secrets?limit=2&offset=0"
    named = alice.get("/v1/secrets?name=s0").json
    assert named["total"] == 1 and len(named["secrets"]) == 1
    assert alice.get("/v1/secrets?limit=junk&offset=-3").json["total"] == 5
    assert km_env.users["bob"].get("/v1/secrets").json["total"] == 1


def test_other_projects_and_readers_get_nothing(km_env):
    sid = store(km_env, name="mine", payload="s3cret", payload_content_type="text/plain")
    bob, reader = km_env.users["bob"], km_env.users["reader"]
    for user in (bob, reader):
        barbican_error(user.get(f"/v1/secrets/{sid}"), 403, "not allowed")
        barbican_error(user.get(f"/v1/secrets/{sid}/payload"), 403, "not allowed")
        barbican_error(user.delete(f"/v1/secrets/{sid}"), 403, "not allowed")
        barbican_error(user.put(f"/v1/secrets/{sid}", data="x",
                                headers={"Content-Type": "text/plain"}), 403, "not allowed")
    barbican_error(reader.get("/v1/secrets"), 403, "not allowed")
    barbican_error(reader.post("/v1/secrets", json={"name": "r"}), 403, "not allowed")
    # an admin reads the metadata (secret:get has role:admin) but not another project's
    # payload (secret:decrypt wants the project's admin)
    admin = km_env.users["admin"]
    assert admin.get(f"/v1/secrets/{sid}").status_code == 200
    barbican_error(admin.get(f"/v1/secrets/{sid}/payload"), 403, "not allowed")


@pytest.mark.parametrize("body, status, text", [
    ({"payload": "x"}, 400, "'payload_content_type' must also be supplied"),
    ({"payload_content_type": "text/plain"}, 400, "'payload' must also be supplied"),
    ({"payload": "", "payload_content_type": "text/plain"}, 400, "must be non empty"),
    ({"payload": "eA==", "payload_content_type": "application/octet-stream"}, 400,
     "payload_content_encoding"),
    ({"payload": "x", "payload_content_type": "text/plain",
      "payload_content_encoding": "base64"}, 400, "not supported"),
    ({"payload": "***", "payload_content_type": "application/octet-stream",
      "payload_content_encoding": "base64"}, 400, "Unable to decode"),
    ({"payload": "x", "payload_content_type": "image/png"}, 400, "payload_content_type"),
    ({"expiration": "2001-01-01T00:00:00"}, 400, "before current time"),
    ({"expiration": "someday"}, 400, "expiration"),
    ({"secret_type": "banana"}, 400, "secret_type"),
    ({"bit_length": 0}, 400, "bit_length"),
    ({"payload": base64.b64encode(b"x" * 20001).decode(),
      "payload_content_type": "application/octet-stream",
      "payload_content_encoding": "base64"}, 413, "too large"),
])
def test_bad_secrets_are_refused_as_barbican(km_env, body, status, text):
    barbican_error(km_env.users["alice"].post("/v1/secrets", json=body), status, text)
    assert km_env.users["alice"].get("/v1/secrets").json["total"] == 0


def test_expired_secrets_are_gone(km_env):
    from keymanager.models import Secret
    from minicloud.db import utcnow

    sid = store(km_env, name="soon", expiration="2999-01-01T00:00:00Z")
    assert km_env.users["alice"].get(f"/v1/secrets/{sid}").json["expiration"].startswith(
        "2999-01-01T00:00:00")
    with km_env.db.session() as s:
        s.get(Secret, sid).expiration = utcnow()
    barbican_error(km_env.users["alice"].get(f"/v1/secrets/{sid}"), 404, "another castle")
    assert km_env.users["alice"].get("/v1/secrets").json["total"] == 0
