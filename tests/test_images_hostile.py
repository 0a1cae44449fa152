"""Hostile image data never crashes the image API (issue 12).

Headers forged to break the format inspector's parsers: a qcow2 claiming 2^64-1 bytes, a VMDK
text descriptor declaring itself ``monolithicSparse`` (the library raised ``KeyError``), and a
seeded fuzz of every inspected format's header. Each must be a 400 with a reason, the image
``queued`` (a plain upload is retried, as Glance) and nothing left in the store or staging.
qemu-img's refusals (the import conversion) never name a host path.
"""
from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest

from images.conversion import QemuImg
from images.inspection import MAX_VIRTUAL_SIZE, FormatCheck, ImageRejected
from tests.images_fixtures import *  # noqa: F403 - the fixtures
from tests.images_fixtures import err

pytestmark = pytest.mark.timeout(120)

SPARSE_DESCRIPTOR = b"""# Disk DescriptorFile
version=1
CID=fffffffe
parentCID=ffffffff
createType="monolithicSparse"

# Extent description
RW 2048 SPARSE "other.vmdk"

ddb.virtualHWVersion = "4"
"""


def _qcow2_claiming(base: bytes, size: int) -> bytes:
    data = bytearray(base)
    data[24:32] = struct.pack(">Q", size)  # the header's size field
    return bytes(data)


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory, qemu_img) -> dict[str, bytes]:
    d = tmp_path_factory.mktemp("hostile")
    out = {}
    for fmt in ("qcow2", "vmdk", "vdi"):
        qemu_img("create", "-f", fmt, str(d / f"x.{fmt}"), "1M")
        out[fmt] = (d / f"x.{fmt}").read_bytes()
    qemu_img("create", "-f", "vpc", str(d / "x.vhd"), "1M")
    out["vhd"] = (d / "x.vhd").read_bytes()
    out["qcow2-huge"] = _qcow2_claiming(out["qcow2"], 2 ** 64 - 1)
    out["vmdk-descriptor"] = SPARSE_DESCRIPTOR
    return out


HOSTILE = [
    ("qcow2-huge", "qcow2", "virtual size of 18446744073709551615 bytes"),
    ("vmdk-descriptor", "vmdk", "virtual size could not be read"),
]


def _create(user, disk_format: str) -> dict:
    return user.create(name="hostile", disk_format=disk_format, container_format="bare")


@pytest.mark.parametrize(("name", "declared", "message"), HOSTILE)
def test_upload_is_refused_and_nothing_is_kept(images_env, samples, name, declared, message):
    env = images_env
    img = _create(env.alice, declared)
    err(env.alice.upload(img["id"], samples[name]), 400, message)
    shown = env.alice.show(img["id"])
    assert shown["status"] == "queued" and shown["size"] is None
    assert shown["virtual_size"] is None
    assert env.stored_files() == []
    # the image is not stuck: an honest upload works afterwards
    assert env.alice.upload(img["id"], samples[declared]).status_code == 204
    assert env.alice.show(img["id"])["status"] == "active"


@pytest.mark.parametrize(("name", "declared", "message"), HOSTILE)
def test_stage_is_refused_and_nothing_is_kept(images_env, samples, name, declared, message):
    env = images_env
    img = _create(env.alice, declared)
    resp = env.alice.put(f"/v2/images/{img['id']}/stage", data=samples[name],
                         headers={"Content-Type": "application/octet-stream"})
    err(resp, 400, message)
    assert env.alice.show(img["id"])["status"] == "queued"
    assert env.stored_files() == []


@pytest.mark.parametrize(("name", "declared"), [(n, d) for n, d, _ in HOSTILE])
def test_web_download_of_hostile_data_fails_the_import(images_env, samples, http_files,
                                                       name, declared):
    env, (base, root) = images_env, http_files
    (root / name).write_bytes(samples[name])
    img = _create(env.alice, declared)
    resp = env.alice.post(f"/v2/images/{img['id']}/import", json={
        "method": {"name": "web-download", "uri": f"{base}/{name}"}})
    assert resp.status_code == 202
    env.wait_imports()
    shown = env.alice.show(img["id"])
    assert shown["status"] == "queued" and shown["os_glance_failed_import"] == "file"
    assert env.stored_files() == []


def _check(data: bytes, declared: str):
    check = FormatCheck(declared)
    for _ in check.wrap([data[i:i + 4096] for i in range(0, len(data), 4096)]):
        pass
    return check.verdict


def test_virtual_size_bound_is_what_qemu_opens(samples):
    assert _check(_qcow2_claiming(samples["qcow2"], MAX_VIRTUAL_SIZE), "qcow2").virtual_size \
        == MAX_VIRTUAL_SIZE
    with pytest.raises(ImageRejected, match="beyond the largest disk QEMU can open"):
        _check(_qcow2_claiming(samples["qcow2"], MAX_VIRTUAL_SIZE + 1), "qcow2")


@pytest.mark.parametrize("fmt", ["qcow2", "vmdk", "vhd", "vdi"])
def test_fuzzed_headers_are_accepted_or_refused_never_an_error(samples, fmt):
    """Random bytes written over the headers of a valid image: inspection either accepts it
    or raises ImageRejected; any other exception would be a 500 in the API."""
    rng = random.Random(f"issue-12-{fmt}")
    good = samples[fmt]
    outcomes = {"accepted": 0, "refused": 0}
    for _ in range(150):
        data = bytearray(good)
        for _ in range(rng.randint(1, 12)):
            pos = rng.randrange(min(len(data), 4096))
            width = rng.choice((1, 2, 4, 8))
            data[pos:pos + width] = rng.randbytes(width) if rng.random() < 0.7 \
                else b"\xff" * width
        try:
            _check(bytes(data), fmt)
            outcomes["accepted"] += 1
        except ImageRejected:
            outcomes["refused"] += 1
    assert outcomes["refused"] > 0, outcomes  # the fuzz does reach the parsers' refusals


def test_qemu_img_refusals_name_no_host_path(tmp_path):
    bogus = tmp_path / "secret-dir" / "staged-image"
    bogus.parent.mkdir()
    bogus.write_bytes(b"\xde\xad\xbe\xef" * 1024)
    qemu = QemuImg(cpu_seconds=8)
    with pytest.raises(ImageRejected) as info:
        qemu.info(bogus, "qcow2")
    assert "the image" in info.value.message and "/" not in info.value.message
    with pytest.raises(ImageRejected) as conv:
        qemu.convert(bogus, "qcow2", tmp_path / "out.raw", "raw")
    assert "/" not in conv.value.message and str(tmp_path) not in conv.value.message
    assert not Path(tmp_path / "out.raw").exists()


def test_qemu_img_that_cannot_run_is_a_refusal(tmp_path):
    src = tmp_path / "img"
    src.write_bytes(b"x")
    qemu = QemuImg(cpu_seconds=8, binary=str(tmp_path / "no-such-qemu-img"))
    with pytest.raises(ImageRejected):
        qemu.info(src, "raw")
    with pytest.raises(ImageRejected):
        qemu.convert(src, "raw", tmp_path / "out", "raw")
