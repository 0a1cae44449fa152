"""os-keypairs as Nova's: every route, bodies per microversion (checked with Tempest's own
schemas), fingerprints, refusals, per-user isolation, the key_pairs quota; and key_name at
server create."""
from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from compute.keypairs import ssh_fingerprint
from tests.compute_fixtures import *  # noqa: F403
from tests.compute_fixtures import IMAGE_ID, err, mv
from tests.tempest_schemas import assert_valid

KP = "/v2.1/os-keypairs"


def ssh_public_key() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH,
                            serialization.PublicFormat.OpenSSH).decode() + " me@laptop"


def md5_colon(public_line: str) -> str:
    digest = hashlib.md5(base64.b64decode(public_line.split()[1])).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


def certificate() -> tuple[str, bytes]:
    """A self-signed PEM certificate and its DER bytes."""
    import datetime as dt

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            cert.public_bytes(serialization.Encoding.DER))


def create(who, version: str = "2.2", **body):
    return who.post(KP, json={"keypair": body}, headers=mv(version))


def test_generated_keypair_returns_its_private_key_once(compute_env):
    resp = create(compute_env.alice, "2.1", name="gen")
    assert resp.status_code == 200
    body = resp.get_json()["keypair"]
    assert set(body) == {"name", "public_key", "fingerprint", "user_id", "private_key"}
    private = serialization.load_pem_private_key(body["private_key"].encode(), None)
    public = private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                               serialization.PublicFormat.OpenSSH).decode()
    assert body["public_key"].startswith(public)
    assert body["fingerprint"] == md5_colon(body["public_key"])
    shown = compute_env.alice.get(f"{KP}/gen").get_json()["keypair"]
    assert "private_key" not in shown and shown["public_key"] == body["public_key"]


def test_imported_ssh_key_has_novas_md5_fingerprint(compute_env):
    line = ssh_public_key()
    resp = create(compute_env.alice, name="mine", public_key=line)
    assert resp.status_code == 201
    body = resp.get_json()["keypair"]
    assert body == {"name": "mine", "public_key": line, "fingerprint": md5_colon(line),
                    "user_id": body["user_id"], "type": "ssh"}
    assert ssh_fingerprint(line) == md5_colon(line)


def test_x509_keypairs_from_2_2(compute_env):
    pem, der = certificate()
    body = create(compute_env.alice, name="cert", type="x509",
                  public_key=pem).get_json()["keypair"]
    sha1 = hashlib.sha1(der).hexdigest()
    assert body["type"] == "x509"
    assert body["fingerprint"] == ":".join(sha1[i:i + 2] for i in range(0, 40, 2))
    generated = create(compute_env.alice, name="gen-cert", type="x509").get_json()["keypair"]
    cert = x509.load_pem_x509_certificate(generated["public_key"].encode())
    assert generated["fingerprint"].replace(":", "") == cert.fingerprint(hashes.SHA1()).hex()
    assert "PRIVATE KEY" in generated["private_key"]
    err(create(compute_env.alice, "2.1", name="old", type="x509"), 400, "type")


@pytest.mark.parametrize(("version", "body", "status", "text"), [
    ("2.2", {"name": "bad", "public_key": "ssh-rsa not-base64"}, 400, "Keypair data is invalid"),
    ("2.2", {"name": "bad", "public_key": ""}, 400, "Keypair data is invalid"),
    ("2.2", {"name": "bad", "type": "x509", "public_key": "nope"}, 400, "X509 fingerprint"),
    ("2.2", {"name": "bad", "type": "pgp"}, 400, "type"),
    ("2.2", {"name": "a@b.c"}, 400, "name"),
    ("2.91", {"name": "a@b.c", "public_key": "PUB"}, 400, "name"),
    ("2.2", {"name": " lead"}, 400, "name"),
    ("2.2", {"name": ""}, 400, "name"),
    ("2.2", {"name": "x" * 256}, 400, "name"),
    ("2.92", {"name": "gen"}, 400, "public_key"),
    ("2.2", {"name": "k", "user_id": "someone"}, 400, "user_id"),
    ("2.2", {"name": "k", "extra": 1}, 400, "extra"),
])
def test_create_refusals(compute_env, version, body, status, text):
    if body.get("public_key") == "PUB":
        body = dict(body, public_key=ssh_public_key())
    err(create(compute_env.alice, version, **body), status, text)
    assert compute_env.alice.get(KP).get_json()["keypairs"] == []


def test_2_92_widens_the_name(compute_env):
    resp = create(compute_env.alice, "2.92", name="alice@laptop.home",
                  public_key=ssh_public_key())
    assert resp.status_code == 201, resp.get_json()


def test_duplicate_name_is_409_per_user(compute_env):
    line = ssh_public_key()
    assert create(compute_env.alice, name="k", public_key=line).status_code == 201
    err(create(compute_env.alice, name="k", public_key=line), 409, "Key pair 'k' already exists")
    assert create(compute_env.bob, name="k", public_key=line).status_code == 201


def test_list_show_delete_per_microversion(compute_env):
    alice = compute_env.alice
    line = ssh_public_key()
    create(alice, name="k1", public_key=line)
    listed = alice.get(KP, headers=mv("2.1")).get_json()["keypairs"]
    assert listed == [{"keypair": {"name": "k1", "public_key": line,
                                   "fingerprint": md5_colon(line)}}]
    assert alice.get(KP, headers=mv("2.2")).get_json()["keypairs"][0]["keypair"]["type"] == \
        "ssh"
    shown = alice.get(f"{KP}/k1", headers=mv("2.1")).get_json()["keypair"]
    assert set(shown) == {"public_key", "name", "fingerprint", "user_id", "deleted",
                          "created_at", "updated_at", "deleted_at", "id"}
    assert (shown["deleted"], shown["updated_at"], shown["deleted_at"]) == (False, None, None)
    assert isinstance(shown["id"], int)
    assert "type" in alice.get(f"{KP}/k1", headers=mv("2.2")).get_json()["keypair"]
    assert alice.delete(f"{KP}/k1", headers=mv("2.1")).status_code == 202
    err(alice.get(f"{KP}/k1"), 404, "Keypair k1 not found for user")
    create(alice, name="k2", public_key=line)
    assert alice.delete(f"{KP}/k2", headers=mv("2.2")).status_code == 204
    err(alice.delete(f"{KP}/k2"), 404, "not found")


def test_keypairs_belong_to_their_user(compute_env):
    env = compute_env
    create(env.alice, name="secret", public_key=ssh_public_key())
    # bob (another project) and reader (alice's own project) see nothing of alice's keys
    for other in (env.bob, env.reader):
        assert other.get(KP).get_json()["keypairs"] == []
        err(other.get(f"{KP}/secret"), 404, "not found")
        err(other.delete(f"{KP}/secret"), 404, "not found")
    alice_id = env.alice.get(f"{KP}/secret").get_json()["keypair"]["user_id"]
    bob_id = create(env.bob, name="b", public_key=ssh_public_key()).get_json()[
        "keypair"]["user_id"]
    # acting for another user is an admin's right (2.10+); before 2.10 user_id is ignored
    err(env.bob.get(f"{KP}?user_id={alice_id}", headers=mv("2.10")), 403, "doesn't allow")
    err(env.bob.get(f"{KP}/secret?user_id={alice_id}", headers=mv("2.10")), 403,
        "doesn't allow")
    err(env.bob.delete(f"{KP}/secret?user_id={alice_id}", headers=mv("2.10")), 403,
        "doesn't allow")
    err(create(env.bob, "2.10", name="planted", user_id=alice_id,
               public_key=ssh_public_key()), 403, "doesn't allow")
    assert env.bob.get(f"{KP}?user_id={alice_id}", headers=mv("2.9")).get_json()[
        "keypairs"][0]["keypair"]["name"] == "b"
    admin = env.admin
    assert [k["keypair"]["name"] for k in admin.get(
        f"{KP}?user_id={alice_id}", headers=mv("2.10")).get_json()["keypairs"]] == ["secret"]
    made = create(admin, "2.10", name="for-bob", user_id=bob_id,
                  public_key=ssh_public_key()).get_json()["keypair"]
    assert made["user_id"] == bob_id
    assert env.bob.get(f"{KP}/for-bob").status_code == 200
    assert admin.get(f"{KP}").get_json()["keypairs"] == []  # the admin's own: none
    assert admin.delete(f"{KP}/secret?user_id={alice_id}", headers=mv("2.10")).status_code \
        == 204
    err(env.alice.get(f"{KP}/secret"), 404, "not found")


def test_list_pages_from_2_35(compute_env):
    alice = compute_env.alice
    for name in ("k1", "k2", "k3"):
        create(alice, name=name, public_key=ssh_public_key())
    body = alice.get(f"{KP}?limit=2", headers=mv("2.35")).get_json()
    assert [k["keypair"]["name"] for k in body["keypairs"]] == ["k1", "k2"]
    (link,) = body["keypairs_links"]
    assert link["rel"] == "next" and "marker=k2" in link["href"]
    rest = alice.get(f"{KP}?limit=2&marker=k2", headers=mv("2.35")).get_json()
    assert [k["keypair"]["name"] for k in rest["keypairs"]] == ["k3"]
    assert "keypairs_links" not in rest
    err(alice.get(f"{KP}?marker=nope", headers=mv("2.35")), 400, "marker")
    old = alice.get(f"{KP}?limit=2", headers=mv("2.34")).get_json()
    assert len(old["keypairs"]) == 3 and "keypairs_links" not in old


def test_key_pairs_quota(compute_env):
    env = compute_env
    resp = env.admin.put(f"/v2.1/os-quota-sets/{env.alice.project_id}",
                         json={"quota_set": {"key_pairs": 2}})
    assert resp.status_code == 200, resp.get_json()
    for name in ("k1", "k2"):
        assert create(env.alice, name=name, public_key=ssh_public_key()).status_code == 201
    err(create(env.alice, name="k3", public_key=ssh_public_key()), 403,
        "Quota exceeded, too many key pairs")
    env.alice.delete(f"{KP}/k1")
    assert create(env.alice, name="k3", public_key=ssh_public_key()).status_code == 201
    # per user: alice's keys do not count against bob
    assert create(env.bob, name="k1", public_key=ssh_public_key()).status_code == 201


def test_bodies_pass_tempest_schemas(compute_env, tmp_path: Path):
    alice = compute_env.alice
    cases = []
    for version in ("2.1", "2.2", "2.10", "2.35", "2.92"):
        name = f"k{version.replace('.', '')}"
        body = {"name": name, "public_key": ssh_public_key()}
        calls = [("create_keypair", "POST", KP, {"keypair": body}),
                 ("create_keypair", "POST", KP, {"keypair": {"name": name + "g"}}),
                 # (Tempest's list schema has no keypairs_links: it never pages)
                 ("list_keypairs", "GET", KP, None),
                 ("get_keypair", "GET", f"{KP}/{name}", None),
                 ("delete_keypair", "DELETE", f"{KP}/{name}", None)]
        for op, method, path, payload in calls:
            if version == "2.92" and payload and "public_key" not in payload["keypair"]:
                continue
            kw = {"json": payload} if payload else {}
            resp = alice._call(method, path, headers=mv(version), **kw)
            assert resp.status_code < 300, (op, version, resp.get_json())
            cases.append({"client": "tempest.lib.services.compute.keypairs_client."
                                    "KeyPairsClient", "op": op, "version": version,
                          "status": resp.status_code,
                          "body": resp.get_json() if resp.data else ""})
    assert_valid(cases, tmp_path)


# -- key_name at server create ---------------------------------------------------------------
def test_key_name_must_name_one_of_the_callers_keypairs(compute_env):
    env = compute_env
    create(env.bob, name="bobs", public_key=ssh_public_key())
    for name in ("nope", "bobs"):
        resp = env.alice.post("/v2.1/servers", json={"server": {
            "name": "vm", "imageRef": IMAGE_ID, "flavorRef": "6", "key_name": name}})
        err(resp, 400, "Invalid key_name provided.")
    assert env.alice.get("/v2.1/servers").get_json()["servers"] == []


def test_server_keeps_its_key_after_the_keypair_is_gone(compute_env):
    env = compute_env
    line = ssh_public_key()
    create(env.alice, name="mine", public_key=line)
    sid = env.create_server(key_name="mine", config_drive=True)
    assert env.alice.get(f"/v2.1/servers/{sid}").get_json()["server"]["key_name"] == "mine"
    env.alice.delete(f"{KP}/mine")
    assert env.alice.get(f"/v2.1/servers/{sid}").get_json()["server"]["key_name"] == "mine"
    meta = json.loads(env.driver.config_drives[sid].files["openstack/latest/meta_data.json"])
    assert meta["public_keys"] == {"mine": line}
    assert meta["keys"] == [{"name": "mine", "type": "ssh", "data": line}]
