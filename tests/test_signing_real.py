"""A signed image boots on a real guest with ``[compute] verify_glance_signatures`` on, and a
tampered one is refused: the lab's tiny guest, its data signed (RSA-PSS, SHA-256) with a key
whose self-signed certificate is stored in the key manager; the guest's console report
proves it booted. The tampered image is the same data whose signature properties were added
after an unsigned upload (Glance verifies at upload only when the image already carries
them), naming a signature of other data: the agent refuses it before the guest is defined.
Run alone, under ``flock /work/real.lock``."""
from __future__ import annotations

import time

import pytest

from minicloud.client import Client
from tests.keymanager_fixtures import cert_secret_body, make_signing_key, sign
from tests.test_compute_real import NOVA, _console_report, _domains, _image_id, _wait, lab_cloud

pytestmark = pytest.mark.real
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}


@pytest.fixture(scope="module")
def signing_cloud():
    yield from lab_cloud({"compute": {"driver": "libvirt", "shutdown_timeout": 5,
                                      "verify_glance_signatures": "true"}})


def _image(client: Client, name: str, data: bytes, fmt: str, props: dict[str, str]) -> str:
    image = client.request("image", "POST", "/v2/images", json={
        "name": name, "disk_format": fmt, "container_format": "bare", **props}).json()
    client.request("image", "PUT", f"/v2/images/{image['id']}/file", data=data,
                   headers={"Content-Type": "application/octet-stream"})
    return image["id"]


def _boot(client: Client, image_id: str, name: str) -> str:
    return client.request("compute", "POST", "/servers", headers=NOVA, json={"server": {
        "name": name, "imageRef": image_id, "flavorRef": "6", "networks": "none"}}
    ).json()["server"]["id"]


@pytest.mark.timeout(500)
def test_signed_guest_boots_and_tampered_one_is_refused(signing_cloud):
    cloud, client = signing_cloud
    tiny = _image_id(client, "tiny")
    tiny_meta = client.request("image", "GET", f"/v2/images/{tiny}").json()
    fmt = tiny_meta["disk_format"]  # the bytes are signed as they are (qcow2 here)
    data = client.request("image", "GET", f"/v2/images/{tiny}/file").content
    key = make_signing_key()
    secret = client.request("key-manager", "POST", "/v1/secrets",
                            json=cert_secret_body(key)).json()
    props = {"img_signature": sign(key, data), "img_signature_hash_method": "SHA-256",
             "img_signature_key_type": "RSA-PSS",
             "img_signature_certificate_uuid": secret["secret_ref"].rsplit("/", 1)[1]}

    signed = _image(client, "signed-tiny", data, fmt, props)
    assert client.request("image", "GET", f"/v2/images/{signed}").json()["status"] == "active"
    server_id = _boot(client, signed, "vm-signed")
    _wait(client, server_id, "ACTIVE", timeout=240)
    report = _console_report(client, server_id, timeout=240)
    print(f"guest {server_id} reported uuid={report.uuid} firmware={report.firmware}")
    assert report.uuid == server_id

    tampered = _image(client, "tampered-tiny", data, fmt, {})
    client.request("image", "PATCH", f"/v2/images/{tampered}", headers=PATCH, json=[
        {"op": "add", "path": f"/{k}",
         "value": sign(key, data + b"tampered") if k == "img_signature" else v}
        for k, v in props.items()])
    refused = _boot(client, tampered, "vm-tampered")
    for _ in range(240):
        server = client.request("compute", "GET", f"/servers/{refused}",
                                headers=NOVA).json()["server"]
        if server["status"] == "ERROR":
            break
        assert server["status"] != "ACTIVE", "a tampered image booted"
        time.sleep(0.5)
    assert server["status"] == "ERROR"
    print(f"tampered server fault: {server['fault']['message']}")
    assert server["fault"]["message"] == (f"Image {tampered} failed signature verification: "
                                          "Signature verification failed")
    assert f"minicloud-{refused}" not in _domains(cloud)
    assert client.request("compute", "GET", f"/servers/{server_id}",
                          headers=NOVA).json()["server"]["status"] == "ACTIVE"
