"""A malicious-image corpus, generated here with qemu-img and plain bytes (as Tempest and
os-test-images do), uploaded through the API: each must be refused with a 4xx and a clear
message, the image must not become active, and the store must keep nothing. The same usable
images with a lying ``disk_format`` are refused too; honest ones are accepted with
``virtual_size`` taken from inspection."""
from __future__ import annotations

import struct
from pathlib import Path

import pytest

from tests.images_fixtures import *  # noqa: F403 - the fixtures
from tests.images_fixtures import err

pytestmark = pytest.mark.timeout(60)
MiB = 1 << 20

FLAT_DESCRIPTOR = b"""# Disk DescriptorFile
version=1
CID=fffffffe
parentCID=ffffffff
createType="monolithicFlat"

# Extent description
RW 2048 FLAT "/etc/passwd" 0

ddb.virtualHWVersion = "4"
"""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, qemu_img) -> dict[str, bytes]:
    d = tmp_path_factory.mktemp("corpus")

    def qemu(name: str, *args: str) -> bytes:
        qemu_img("create", *args, str(d / name), "1M")
        return (d / name).read_bytes()

    files = {
        "good.qcow2": qemu("good.qcow2", "-f", "qcow2"),
        "backing.qcow2": qemu("backing.qcow2", "-f", "qcow2", "-b", "/etc/passwd",
                              "-F", "raw"),
        "datafile.qcow2": qemu("datafile.qcow2", "-f", "qcow2", "-o",
                               f"data_file={d / 'x'},data_file_raw=on"),
        "image.qed": qemu("image.qed", "-f", "qed"),
        "good.vmdk": qemu("evilxxxxxxx.vmdk", "-f", "vmdk"),
        "good.raw": bytes(range(250)) * 4000,
        "flat-descriptor.vmdk": FLAT_DESCRIPTOR,
        "garbage": b"\xde\xad\xbe\xef" * 4096,
    }
    # A monolithicSparse VMDK whose embedded descriptor names an extent with a '/'.
    sparse = files["good.vmdk"]
    assert b'"evilxxxxxxx.vmdk"' in sparse
    files["slash-extent.vmdk"] = sparse.replace(b'"evilxxxxxxx.vmdk"', b'"/vilxxxxxxx.vmdk"')
    # An ISO 9660 volume descriptor behind a qcow2 header in the system area.
    files["iso+qcow2.iso"] = _iso(files["good.qcow2"][:512])
    # A hybrid ISO (GPT protective MBR in the system area): counts as an ISO.
    files["hybrid.iso"] = _iso(_mbr(0xEE))
    # A raw disk with an MBR partition table: counts as raw.
    files["partitioned.raw"] = _mbr(0x83) + bytes(range(250)) * 400
    # A Linux bzImage starts with a legacy boot sector: 55 aa at 510, and setup code where
    # an MBR's partition entries would be (an invalid "boot flag").
    boot = bytearray(512)
    boot[446:462] = b"\x1e\x8c\xc8\x8e\xd8\x8e\xc0\x8e\xd0\x31\xe4\xfb\xfc\xbe\x2d\x00"
    boot[510:512] = b"\x55\xaa"
    files["bzimage-like"] = bytes(boot) + bytes(range(250)) * 400
    return files


def _mbr(ostype: int) -> bytes:
    mbr = bytearray(512)
    mbr[446:462] = struct.pack("<B3BB3BII", 0, 0, 2, 0, ostype, 0xFF, 0xFF, 0xFF, 1, 2047)
    mbr[510:512] = b"\x55\xaa"
    return bytes(mbr)


def _iso(system_area: bytes) -> bytes:
    """32 KiB system area, then a primary volume descriptor: 32 blocks of 2048 bytes."""
    pvd = bytearray(2048)
    pvd[0:7] = b"\x01CD001\x01"
    pvd[80:84] = struct.pack("<I", 32)
    pvd[128:130] = struct.pack("<H", 2048)
    return (system_area.ljust(32 * 1024, b"\0") + bytes(pvd)).ljust(64 * 1024, b"\0")


REFUSED = [
    # (file, declared disk_format, fragment of the message)
    ("backing.qcow2", "qcow2", "backing_file"),
    ("datafile.qcow2", "qcow2", "data_file"),
    ("backing.qcow2", "raw", "qcow2 format, but the image's disk_format is 'raw'"),
    ("datafile.qcow2", "raw", "qcow2 format, but the image's disk_format is 'raw'"),
    ("flat-descriptor.vmdk", "raw", "vmdk format, but the image's disk_format is 'raw'"),
    ("flat-descriptor.vmdk", "vmdk", "vmdk safety checks: descriptor"),
    ("slash-extent.vmdk", "vmdk", "descriptor (Invalid extent filenames found)"),
    ("good.qcow2", "vmdk", "does not match its disk_format 'vmdk'"),
    ("garbage", "qcow2", "does not match its disk_format 'qcow2'"),
    ("image.qed", "qcow2", "does not match its disk_format 'qcow2'"),
    ("image.qed", "raw", "qed format, which is never accepted"),
    ("iso+qcow2.iso", "iso", "several formats"),
    ("iso+qcow2.iso", "qcow2", "several formats"),
    # usable images, lying about their format
    ("good.qcow2", "raw", "qcow2 format, but the image's disk_format is 'raw'"),
    ("good.qcow2", "iso", "does not match its disk_format 'iso'"),
    ("good.qcow2", "vhd", "does not match its disk_format 'vhd'"),
    ("good.qcow2", "ami", "qcow2 format, but the image's disk_format is 'ami'"),
    ("good.vmdk", "raw", "vmdk format, but the image's disk_format is 'raw'"),
    ("good.vmdk", "qcow2", "does not match its disk_format 'qcow2'"),
    ("good.raw", "qcow2", "does not match its disk_format 'qcow2'"),
    ("good.raw", "vmdk", "does not match its disk_format 'vmdk'"),
    ("good.raw", "vdi", "does not match its disk_format 'vdi'"),
    ("hybrid.iso", "raw", "iso format, but the image's disk_format is 'raw'"),
    ("partitioned.raw", "iso", "does not match its disk_format 'iso'"),
    # a kernel's boot sector is no partition table: fine as aki/ari, refused as a disk
    ("bzimage-like", "raw", "gpt safety checks"),
    ("bzimage-like", "ami", "gpt safety checks"),
    ("good.qcow2", "aki", "qcow2 format, but the image's disk_format is 'aki'"),
    ("backing.qcow2", "ari", "qcow2 format, but the image's disk_format is 'ari'"),
]


def _create(user, disk_format: str) -> dict:
    return user.create(name="untrusted", disk_format=disk_format, container_format="bare")


@pytest.mark.parametrize(("name", "declared", "message"), REFUSED)
def test_upload_is_refused(images_env, corpus, name, declared, message):
    env = images_env
    img = _create(env.alice, declared)
    err(env.alice.upload(img["id"], corpus[name]), 400, message)
    shown = env.alice.show(img["id"])
    assert shown["status"] == "queued" and shown["size"] is None
    assert shown["checksum"] is None and shown["virtual_size"] is None
    assert env.stored_files() == []
    assert env.alice.get(f"/v2/images/{img['id']}/file").status_code == 204


@pytest.mark.parametrize(("name", "declared", "message"), REFUSED[:8])
def test_stage_is_refused(images_env, corpus, name, declared, message):
    env = images_env
    img = _create(env.alice, declared)
    resp = env.alice.put(f"/v2/images/{img['id']}/stage", data=corpus[name],
                         headers={"Content-Type": "application/octet-stream"})
    err(resp, 400, message)
    assert env.alice.show(img["id"])["status"] == "queued"
    assert env.stored_files() == []


@pytest.mark.parametrize("name", ["backing.qcow2", "flat-descriptor.vmdk"])
def test_web_download_import_is_refused(images_env, corpus, http_files, name):
    env, (base, root) = images_env, http_files
    (root / name).write_bytes(corpus[name])
    img = _create(env.alice, "raw")
    resp = env.alice.post(f"/v2/images/{img['id']}/import", json={
        "method": {"name": "web-download", "uri": f"{base}/{name}"}})
    assert resp.status_code == 202
    env.wait_imports()
    shown = env.alice.show(img["id"])
    assert shown["status"] == "queued" and shown["os_glance_failed_import"] == "file"
    assert env.stored_files() == []


@pytest.mark.parametrize(("name", "declared", "virtual_size"), [
    ("good.qcow2", "qcow2", MiB),
    ("good.vmdk", "vmdk", MiB),
    ("good.raw", "raw", 1_000_000),
    ("good.raw", "ami", 1_000_000),
    ("hybrid.iso", "iso", 32 * 2048),
    ("partitioned.raw", "raw", 512 + 100_000),
    ("bzimage-like", "aki", 512 + 100_000),  # loaded by QEMU as a kernel, never a disk
    ("bzimage-like", "ari", 512 + 100_000),
])
def test_honest_images_are_accepted(images_env, corpus, name, declared, virtual_size):
    env = images_env
    img = _create(env.alice, declared)
    assert env.alice.upload(img["id"], corpus[name]).status_code == 204
    shown = env.alice.show(img["id"])
    assert shown["status"] == "active" and shown["size"] == len(corpus[name])
    assert shown["virtual_size"] == virtual_size
    assert Path(env.store_dir / img["id"]).read_bytes() == corpus[name]


def test_virtual_size_is_never_taken_from_the_user(images_env, corpus):
    env = images_env
    err(env.alice.post("/v2/images", json={"virtual_size": 1}), 403, "read-only")
    img = _create(env.alice, "qcow2")
    err(env.alice.patch(f"/v2/images/{img['id']}",
                        [{"op": "add", "path": "/virtual_size", "value": 5}]), 403, "read-only")
