"""Volume to image (``os-volume_upload_image``) through the API with a real agent thread:
the image is created and filled in the caller's name, carries the volume's image metadata,
and every failure puts the volume back and removes the image."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, RAW, err, wait_status
from volumes.backends import FileBackend
from volumes.models import VolumeTask

MV30 = {"OpenStack-API-Version": "volume 3.0"}


def _upload(env, vid: str, who=None, headers=MV, **params):
    params.setdefault("image_name", "from-vol")
    return (who or env.alice).post(f"/v3/volumes/{vid}/action", headers=headers,
                                   json={"os-volume_upload_image": params})


def _tasks(env, vid: str) -> list[VolumeTask]:
    with env.db.session() as s:
        return list(s.scalars(select(VolumeTask).where(VolumeTask.volume_id == vid,
                                                       VolumeTask.action == "upload")))


def _from_image(env) -> str:
    vid = env.create(name="src", imageRef="raw-img")["id"]
    env.wait(vid, "available")
    return vid


def test_upload_makes_an_image_as_the_caller(volenv):
    vid = _from_image(volenv)
    resp = _upload(volenv, vid, disk_format="raw")
    assert resp.status_code == 202, resp.json
    body = resp.json["os-volume_upload_image"]
    image_id = body["image_id"]
    assert (body["id"], body["status"], body["image_name"], body["disk_format"],
            body["container_format"], body["size"]) == (vid, "uploading", "from-vol", "raw",
                                                       "bare", 1)
    assert body["volume_type"]["name"] == "__DEFAULT__"
    assert {"visibility", "protected"} <= set(body)   # 3.1+
    vol = volenv.wait(vid, "available")
    assert vol["volume_image_metadata"]["image_id"] == "raw-img"  # the volume's own stays
    image = volenv.images.images[image_id]
    assert image["status"] == "active" and volenv.images.data[image_id].startswith(RAW)
    # the volume's image metadata, less Cinder's core properties
    assert image["hw_firmware_type"] == "uefi"
    assert "image_id" not in image or image["image_id"] != "raw-img"
    assert image["name"] == "from-vol" and "checksum" not in image
    # created and filled with alice's token, never the service's
    tokens = {(op, token) for op, token, img in volenv.images.writes if img == image_id}
    assert tokens == {("create", volenv.alice.token), ("upload", volenv.alice.token)}
    (task,) = _tasks(volenv, vid)
    assert "token" not in task.params and task.state == "done"


def test_answer_at_3_0_has_no_visibility(volenv):
    vid = _from_image(volenv)
    body = _upload(volenv, vid, headers=MV30).json["os-volume_upload_image"]
    assert "visibility" not in body and "protected" not in body
    err(_upload(volenv, vid, headers=MV30, visibility="private"), 400, "3.1")


def test_protected_is_set_after_the_data(volenv):
    vid = _from_image(volenv)
    body = _upload(volenv, vid, protected=True, visibility="shared").json[
        "os-volume_upload_image"]
    assert (body["protected"], body["visibility"]) == (True, "shared")
    volenv.wait(vid, "available")
    ops = [op for op, _, img in volenv.images.writes if img == body["image_id"]]
    assert ops == ["create", "upload", "update"]
    assert volenv.images.images[body["image_id"]]["protected"] is True


def test_public_upload_is_for_admins(volenv):
    vid = _from_image(volenv)
    err(_upload(volenv, vid, visibility="public"), 403, "upload_public")
    assert volenv.show(vid)["status"] == "available"
    assert _upload(volenv, vid, who=volenv.admin, visibility="public").status_code == 202


def test_in_use_needs_force(volenv):
    vid = _from_image(volenv)
    assert volenv.alice.post(f"/v3/volumes/{vid}/action", headers=MV, json={"os-attach": {
        "instance_uuid": "0b3b4f4e-3333-4c1e-9d7a-3a3a3a3a3a3a",
        "mountpoint": "/dev/vdc"}}).status_code == 202
    err(_upload(volenv, vid), 400, "in-use needs force")
    assert _upload(volenv, vid, force=True).status_code == 202
    volenv.wait(vid, "in-use")


@pytest.mark.parametrize("params, message", [
    ({"disk_format": "iso"}, "disk_format"),
    ({"disk_format": "qcow2", "container_format": "ovf"}, "bare"),
    ({"image_name": ""}, "image_name"),
    ({"force": "maybe"}, "force"),
    ({"image_name": "x", "extra": 1}, "extra"),
])
def test_bad_upload_bodies_are_400(volenv, params, message):
    vid = _from_image(volenv)
    err(_upload(volenv, vid, **params), 400, message)
    assert volenv.show(vid)["status"] == "available" and not volenv.images.writes


def test_upload_of_a_busy_volume_is_400(volenv):
    vid = _from_image(volenv)
    volenv.admin.post(f"/v3/volumes/{vid}/action", json={"os-reset_status": {
        "status": "error"}})
    err(_upload(volenv, vid, force=True), 400, "status must be available or in-use")


def test_refused_image_create_leaves_the_volume_available(volenv):
    vid = _from_image(volenv)
    volenv.images.fail_create = "Image name too silly"
    err(_upload(volenv, vid), 400, "too silly")
    assert volenv.show(vid)["status"] == "available" and not _tasks(volenv, vid)


def test_failed_upload_restores_the_volume_and_deletes_the_image(volenv):
    vid = _from_image(volenv)
    volenv.images.fail_upload = "store full"
    image_id = _upload(volenv, vid).json["os-volume_upload_image"]["image_id"]
    vol = volenv.wait(vid, "available")
    assert image_id not in volenv.images.images
    assert ("delete", volenv.alice.token, image_id) in volenv.images.writes
    (task,) = _tasks(volenv, vid)
    assert task.state == "failed" and "token" not in task.params
    assert "store full" in (volenv.show(vid, volenv.admin).get("error") or task.error)
    assert vol["status"] == "available"


def test_others_cannot_upload(volenv):
    vid = _from_image(volenv)
    err(_upload(volenv, vid, who=volenv.bob), 404, "could not be found")
    err(_upload(volenv, vid, who=volenv.reader), 403, "upload_image")


def test_file_backend_converts_to_qcow2(make_volenv, tmp_path, qemu_img):
    env = make_volenv(backend=FileBackend(tmp_path / "vols"))
    vid = env.create(name="f", size=1)["id"]
    env.wait(vid, "available")
    with open(tmp_path / "vols" / f"volume-{vid}", "r+b") as f:
        f.write(b"minicloud-marker")
    image_id = _upload(env, vid, disk_format="qcow2").json["os-volume_upload_image"][
        "image_id"]
    wait_status(lambda: env.show(vid), "available", 60)
    data = env.images.data[image_id]
    assert data[:4] == b"QFI\xfb" and len(data) < 1 << 20  # qcow2, sparse: small
