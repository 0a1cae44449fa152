"""Signed images at boot (``[compute] verify_glance_signatures``): the compute API fetches the
image's certificates as the caller (the key manager is a process boundary: a fake here), the
agent verifies the cached base the guest would boot from with cursive, and a bad signature, a
missing property or an untrusted certificate (``enable_certificate_validation``) puts the
server in ERROR with the reason as its fault, the driver never asked to spawn it."""
from __future__ import annotations

import base64

import pytest

from compute.models import Instance
from tests.compute_fixtures import *  # noqa: F403 - the fixtures
from tests.compute_fixtures import IMAGE_ID, RAW, ComputeEnv, err, mv
from tests.keymanager_fixtures import SigningKey, make_signing_key, sign

SIGNED = "5e7c8a46-6f4f-4b8e-9d4c-7d0b1b1e5150"
CERT = "9a1b6a0e-2c3d-4e5f-8a9b-0c1d2e3f4a5b"
OTHER_CERT = "9a1b6a0e-2c3d-4e5f-8a9b-0c1d2e3f4a5c"


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKey]:
    return {CERT: make_signing_key(), OTHER_CERT: make_signing_key("another CA")}


@pytest.fixture
def env(compute_env: ComputeEnv, keys) -> ComputeEnv:
    compute_env.conf.compute.verify_glance_signatures = True
    asked: list[tuple[str, str]] = []

    def certificates(ctx, image: dict, requested: list[str] | None = None) -> dict:
        """What compute.signing.certificates_for returns, without a key manager."""
        asked.append((ctx.user_name, image["id"]))
        wanted = [image.get("img_signature_certificate_uuid"), *(requested or []),
                  *[c for c in compute_env.conf.compute.default_trusted_certificate_ids
                    .split(",") if c]]
        return {u: base64.b64encode(keys[u].der).decode() if u in keys else None
                for u in wanted if u}

    compute_env.app.extensions["compute"].service.certificates = certificates
    compute_env.asked = asked  # type: ignore[attr-defined]
    base = dict(compute_env.images.images[IMAGE_ID])
    compute_env.images.images[SIGNED] = dict(
        base, id=SIGNED, img_signature=sign(keys[CERT], RAW),
        img_signature_hash_method="SHA-256", img_signature_key_type="RSA-PSS",
        img_signature_certificate_uuid=CERT)
    return compute_env


def boot(env: ComputeEnv, image_id: str, **extra) -> Instance:
    resp = env.alice.post("/v2.1/servers", headers=mv("2.63") if extra else {}, json={
        "server": {"name": "vm", "imageRef": image_id, "flavorRef": "6",
                   **({"networks": "none"} if extra else {}), **extra}})
    assert resp.status_code == 202, resp.get_json()
    env.work()
    with env.db.session() as s:
        return s.get(Instance, resp.get_json()["server"]["id"])


def test_a_signed_image_boots(env):
    inst = boot(env, SIGNED)
    assert inst.vm_state == "active", inst.fault
    assert env.asked == [("alice", SIGNED)]  # fetched as the server's creator


def test_a_bad_signature_is_refused(env, keys):
    env.images.images[SIGNED]["img_signature"] = sign(keys[CERT], RAW + b"tampered")
    inst = boot(env, SIGNED)
    assert inst.vm_state == "error"
    assert inst.fault["message"] == (f"Image {SIGNED} failed signature verification: "
                                     "Signature verification failed")
    assert inst.id not in env.driver.guests


def test_an_unsigned_image_is_refused_when_verification_is_on(env):
    inst = boot(env, IMAGE_ID)
    assert inst.vm_state == "error"
    assert "Missing property: img_signature" in inst.fault["message"]


def test_a_certificate_the_caller_cannot_read_is_refused(env):
    env.images.images[SIGNED]["img_signature_certificate_uuid"] = \
        "00000000-0000-4000-8000-000000000000"
    inst = boot(env, SIGNED)
    assert inst.vm_state == "error"
    assert "Certificate not found with ID: 00000000-0000-4000-8000-000000000000" in \
        inst.fault["message"]


@pytest.mark.parametrize("trusted, ok", [(CERT, True), (OTHER_CERT, False), ("", False)])
def test_certificate_validation_against_the_trusted_certificates(env, trusted, ok):
    env.conf.compute.enable_certificate_validation = True
    env.conf.compute.default_trusted_certificate_ids = trusted
    inst = boot(env, SIGNED)
    if ok:
        assert inst.vm_state == "active", inst.fault
    else:
        assert inst.vm_state == "error"
        assert "Certificate chain building failed" in inst.fault["message"]


def test_verification_off_boots_unsigned_images(compute_env):
    assert not compute_env.conf.compute.verify_glance_signatures
    assert boot(compute_env, IMAGE_ID).vm_state == "active"


@pytest.mark.parametrize("trusted, ok", [([CERT], True), ([OTHER_CERT], False),
                                         (["9a1b6a0e-2c3d-4e5f-8a9b-00000000dead"], False)])
def test_trusted_image_certificates_at_2_63(env, trusted, ok):
    inst = boot(env, SIGNED, trusted_image_certificates=trusted)
    assert inst.trusted_certs == trusted
    if ok:
        assert inst.vm_state == "active", inst.fault
    else:
        assert inst.vm_state == "error"
        assert "Certificate chain building failed" in inst.fault["message"]
    shown = env.alice.get(f"/v2.1/servers/{inst.id}", headers=mv("2.63")).get_json()
    assert shown["server"]["trusted_image_certificates"] == trusted
    before = env.alice.get(f"/v2.1/servers/{inst.id}", headers=mv("2.62")).get_json()
    assert "trusted_image_certificates" not in before["server"]


def test_trusted_image_certificates_are_refused_before_2_63_and_without_verification(
        env, compute_env):
    body = {"server": {"name": "vm", "imageRef": SIGNED, "flavorRef": "6",
                       "networks": "none", "trusted_image_certificates": [CERT]}}
    err(env.alice.post("/v2.1/servers", headers=mv("2.62"), json=body), 400,
        "trusted_image_certificates")
    err(env.alice.post("/v2.1/servers", headers=mv("2.63"), json=dict(body, server=dict(
        body["server"], trusted_image_certificates=[]))), 400, "trusted_image_certificates")
    env.app.extensions["compute"].service.certificates = None  # verification off
    err(env.alice.post("/v2.1/servers", headers=mv("2.63"), json=body), 400,
        "needs image signature verification")


def test_rebuild_verifies_the_new_image(env, keys):
    inst = boot(env, SIGNED)
    assert inst.vm_state == "active", inst.fault
    resp = env.alice.post(f"/v2.1/servers/{inst.id}/action",
                          json={"rebuild": {"imageRef": SIGNED}})
    assert resp.status_code == 202, resp.get_json()
    env.work()
    with env.db.session() as s:
        assert s.get(Instance, inst.id).vm_state == "active"
    env.images.images[SIGNED]["img_signature"] = sign(keys[CERT], b"other bytes")
    resp = env.alice.post(f"/v2.1/servers/{inst.id}/action",
                          json={"rebuild": {"imageRef": SIGNED}})
    assert resp.status_code == 202, resp.get_json()
    env.work()
    with env.db.session() as s:
        rebuilt = s.get(Instance, inst.id)
        assert rebuilt.vm_state == "error"
        assert "failed signature verification" in rebuilt.fault["message"]
