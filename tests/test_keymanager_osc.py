"""The seed's signing procedure end to end with the unmodified tools: ``openssl`` makes a key
and a self-signed certificate and signs the image, ``openstack secret store`` (the
python-barbicanclient plugin) puts the certificate in the key manager, ``openstack image
create`` with the four ``img_signature*`` properties uploads the image, which the image
service verifies against the certificate it fetches from the key manager over HTTP; a
tampered file is refused (its image killed, then deleted by the client). Then ``secret
list/get/delete``. A cloud of this module's own (services under gunicorn, no host
daemons)."""
from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import RunningCloud, osc_runner, start_cloud

pytestmark = [pytest.mark.osc]


@pytest.fixture(scope="module")
def km_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    cloud = start_cloud(tmp_path_factory.mktemp("keymanager-osc"))
    try:
        yield cloud
    finally:
        cloud.minicloud("down", check=False)


@pytest.fixture(scope="module")
def osc(km_cloud: RunningCloud) -> Callable[..., object]:
    return osc_runner(km_cloud.os_env())


def sh(*argv: str, cwd: Path) -> str:
    return subprocess.run(argv, cwd=cwd, check=True, capture_output=True, text=True,
                          timeout=60).stdout


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """docs/images.md's openssl steps: key, self-signed certificate (DER), image, signature."""
    work = tmp_path_factory.mktemp("signing")
    sh("openssl", "genrsa", "-out", "private_key.pem", "2048", cwd=work)
    sh("openssl", "req", "-new", "-x509", "-key", "private_key.pem", "-out", "cert.pem",
       "-days", "30", "-subj", "/CN=minicloud image signing",
       "-addext", "basicConstraints=critical,CA:TRUE",
       "-addext", "keyUsage=critical,digitalSignature,keyCertSign", cwd=work)
    sh("openssl", "x509", "-in", "cert.pem", "-outform", "der", "-out", "cert.der", cwd=work)
    (work / "image.raw").write_bytes(bytes(range(256)) * 4096)
    sh("openssl", "dgst", "-sha256", "-sign", "private_key.pem", "-sigopt",
       "rsa_padding_mode:pss", "-out", "image.signature", "image.raw", cwd=work)
    (work / "image.signature.b64").write_text(
        sh("base64", "-w", "0", "image.signature", cwd=work))
    tampered = bytearray((work / "image.raw").read_bytes())
    tampered[1000] ^= 0xFF
    (work / "tampered.raw").write_bytes(bytes(tampered))
    return work


def store_certificate(osc, work: Path) -> str:
    der_b64 = sh("base64", "-w", "0", "cert.der", cwd=work)
    secret = osc("secret", "store", "--name", "signing-cert", "--secret-type", "certificate",
                 "--payload-content-type", "application/octet-stream",
                 "--payload-content-encoding", "base64", "--payload", der_b64, as_json=True)
    href = secret["Secret href"]
    assert "/v1/secrets/" in href
    return href


def create_image(osc, work: Path, name: str, data: str, cert_uuid: str, check: bool = True):
    return osc("image", "create", name, "--disk-format", "raw", "--container-format", "bare",
               "--file", str(work / data),
               "--property", f"img_signature={(work / 'image.signature.b64').read_text()}",
               "--property", "img_signature_hash_method=SHA-256",
               "--property", "img_signature_key_type=RSA-PSS",
               "--property", f"img_signature_certificate_uuid={cert_uuid}", check=check)


def test_secret_store_list_get_delete(osc, signed):
    href = store_certificate(osc, signed)
    listed = osc("secret", "list", as_json=True)
    assert [s["Name"] for s in listed if s["Secret href"] == href] == ["signing-cert"]
    shown = osc("secret", "get", href, as_json=True)
    assert shown["Secret type"] == "certificate" and shown["Status"] == "ACTIVE"
    assert shown["Content types"] == {"default": "application/octet-stream"}
    osc("secret", "delete", href)
    gone = osc("secret", "get", href, check=False)
    assert gone.returncode != 0 and "another castle" in gone.stderr


def test_signed_image_is_verified_and_tampered_one_killed(osc, signed):
    cert_uuid = store_certificate(osc, signed).rsplit("/", 1)[1]
    create_image(osc, signed, "signed", "image.raw", cert_uuid)
    shown = osc("image", "show", "signed", as_json=True)
    assert shown["status"] == "active"
    assert shown["properties"]["img_signature_certificate_uuid"] == cert_uuid

    bad = create_image(osc, signed, "tampered", "tampered.raw", cert_uuid, check=False)
    assert bad.returncode != 0
    assert "Signature verification failed" in bad.stderr, bad.stderr
    # the image was killed; openstacksdk then deletes an image whose upload failed
    assert "tampered" not in [i["Name"] for i in osc("image", "list", as_json=True)]

    unknown = create_image(osc, signed, "unknown-cert", "image.raw",
                           "6f1d7b52-6a0b-4c8e-9a61-0f2b4b1c9d3e", check=False)
    assert "Certificate not found" in unknown.stderr, unknown.stderr
