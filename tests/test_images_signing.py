"""Signed images at the image API (seed 1.1.2): an image carrying the four ``img_signature*``
properties is verified with cursive while its data streams in, at upload and at import; a
tampered image, an unknown certificate or a certificate of the wrong kind kill the image with
Glance's 400 and leave nothing in the store. The key manager is a process boundary: here a
fake certificate source (the HTTP client is exercised end to end in
``tests/test_keymanager_osc.py``)."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
from cryptography import x509

from keymanager.client import load_certificate
from tests.images_fixtures import *  # noqa: F403 - the fixtures
from tests.images_fixtures import Env, UserClient, err
from tests.keymanager_fixtures import SigningKey, make_signing_key, sign

DATA = bytes(range(256)) * 64


class FakeCertificates:
    """Secrets by uuid: ``(secret_type, DER payload)``, and the callers who asked."""

    def __init__(self) -> None:
        self.secrets: dict[str, tuple[str, bytes]] = {}
        self.callers: list[str] = []

    def add(self, signing: SigningKey, secret_type: str = "certificate") -> str:
        secret_id = str(uuid.uuid4())
        self.secrets[secret_id] = (secret_type, signing.der)
        return secret_id

    def __call__(self, ctx: Any) -> FakeCertificates:
        self.callers.append(ctx.user_name)
        return self

    def certificate(self, secret_id: str) -> x509.Certificate:
        from keymanager.signatures import SignatureVerificationError

        if secret_id not in self.secrets:
            raise SignatureVerificationError(
                reason=f"Certificate not found with ID: {secret_id}")
        return load_certificate(*self.secrets[secret_id])


@pytest.fixture(scope="module")
def signing() -> SigningKey:
    return make_signing_key()


@pytest.fixture
def env(images_env: Env) -> tuple[Env, FakeCertificates]:
    certs = FakeCertificates()
    images_env.app.extensions["images"].images.deps.certificates = certs
    return images_env, certs


def signed_image(user: UserClient, signature: str, cert_id: str, **extra: Any) -> dict:
    return user.create(name="signed", disk_format="raw", container_format="bare",
                       img_signature=signature, img_signature_hash_method="SHA-256",
                       img_signature_key_type="RSA-PSS",
                       img_signature_certificate_uuid=cert_id, **extra)


def test_signed_upload_is_verified_and_active(env, signing):
    images, certs = env
    img = signed_image(images.alice, sign(signing, DATA), certs.add(signing))
    assert images.alice.upload(img["id"], DATA).status_code == 204
    shown = images.alice.show(img["id"])
    assert shown["status"] == "active" and shown["size"] == len(DATA)
    assert images.alice.get(f"/v2/images/{img['id']}/file").data == DATA
    assert certs.callers == ["alice"]  # fetched as the uploader


def test_tampered_upload_is_killed_and_nothing_stored(env, signing):
    images, certs = env
    img = signed_image(images.alice, sign(signing, DATA), certs.add(signing))
    tampered = DATA[:-1] + b"\x00"
    resp = images.alice.upload(img["id"], tampered)
    err(resp, 400, f"Signature verification failed for image {img['id']}: "
                   "Signature verification failed")
    assert images.alice.show(img["id"])["status"] == "killed"
    assert images.stored_files() == []
    err(images.alice.upload(img["id"], DATA), 409, "killed")


def test_signature_by_another_key_is_refused(env, signing):
    images, certs = env
    other = make_signing_key("someone else")
    img = signed_image(images.alice, sign(other, DATA), certs.add(signing))
    err(images.alice.upload(img["id"], DATA), 400, "Signature verification failed")
    assert images.alice.show(img["id"])["status"] == "killed"


@pytest.mark.parametrize("change, message", [
    ({"img_signature_certificate_uuid": "0b7c3c5e-8f1e-4a59-9d0b-1a9f3b8a2c11"},
     "Certificate not found with ID: 0b7c3c5e-8f1e-4a59-9d0b-1a9f3b8a2c11"),
    ({"img_signature_hash_method": "MD5"}, "Invalid signature hash method: MD5"),
    ({"img_signature_key_type": "RSA-PKCS1"}, "Invalid signature key type: RSA-PKCS1"),
    ({"img_signature_key_type": "DSA"}, "Invalid public key type for signature key type: DSA"),
    ({"img_signature": "%%% not base64"}, "not properly encoded using base64"),
])
def test_unverifiable_signatures_kill_the_image(env, signing, change, message):
    images, certs = env
    props = {"img_signature": sign(signing, DATA), "img_signature_hash_method": "SHA-256",
             "img_signature_key_type": "RSA-PSS",
             "img_signature_certificate_uuid": certs.add(signing)}
    props.update(change)
    img = images.alice.create(name="signed", disk_format="raw", container_format="bare",
                              **props)
    err(images.alice.upload(img["id"], DATA), 400, message)
    assert images.alice.show(img["id"])["status"] == "killed"
    assert images.stored_files() == []


def test_certificate_must_be_a_certificate_secret(env, signing):
    images, certs = env
    img = signed_image(images.alice, sign(signing, DATA), certs.add(signing, "opaque"))
    err(images.alice.upload(img["id"], DATA), 400, "Invalid certificate format: Opaque")


def test_partial_signature_properties_are_not_verified(env, signing):
    """Glance verifies only an image with all four properties (cursive's
    should_create_verifier); with three it stores the data unverified."""
    images, certs = env
    img = images.alice.create(name="partial", disk_format="raw", container_format="bare",
                              img_signature=sign(signing, b"other data"),
                              img_signature_hash_method="SHA-256",
                              img_signature_key_type="RSA-PSS")
    assert images.alice.upload(img["id"], DATA).status_code == 204
    assert images.alice.show(img["id"])["status"] == "active"
    assert certs.callers == []


def _stage_and_import(images: Env, img: dict, data: bytes) -> dict:
    user = images.alice
    assert user.put(f"/v2/images/{img['id']}/stage", data=data,
                    headers={"Content-Type": "application/octet-stream"}).status_code == 204
    resp = user.post(f"/v2/images/{img['id']}/import", json={
        "method": {"name": "glance-direct"}})
    assert resp.status_code == 202, resp.json
    images.wait_imports()
    return user.show(img["id"])


def test_signed_import_is_verified(env, signing):
    images, certs = env
    img = signed_image(images.alice, sign(signing, DATA), certs.add(signing))
    shown = _stage_and_import(images, img, DATA)
    assert shown["status"] == "active"
    assert images.stored_files() == [img["id"]]


def test_tampered_import_is_killed_with_the_reason_in_its_task(env, signing):
    images, certs = env
    img = signed_image(images.alice, sign(signing, DATA), certs.add(signing))
    shown = _stage_and_import(images, img, DATA + b"!")
    assert shown["status"] == "killed"
    assert shown["os_glance_failed_import"] == "file"
    assert images.stored_files() == []
    [task] = images.alice.get(f"/v2/images/{img['id']}/tasks",
                              headers={"OpenStack-API-Version": "image 2.12"}).json["tasks"]
    assert task["status"] == "failure"
    assert task["message"] == (f"Signature verification failed for image {img['id']}: "
                               "Signature verification failed")
