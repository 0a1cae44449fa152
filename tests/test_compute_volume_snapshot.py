"""createImage of a volume-backed server (compute.volume_snapshot): the API snapshots the
server's volumes as the caller and makes a data-less active image with Nova's properties;
a failure leaves neither snapshots nor image."""
from __future__ import annotations

import json

import pytest

from compute.models import Instance
from minicloud.errors import BadRequest
from tests.compute_fixtures import *  # noqa: F403
from tests.compute_fixtures import IMAGE_ID, VOLUME_IDS, err, mv

ROOT_FROM_IMAGE = {"source_type": "image", "destination_type": "volume", "uuid": IMAGE_ID,
                   "boot_index": 0, "volume_size": 1, "delete_on_termination": True}


@pytest.fixture
def venv(compute_env):
    """compute_env whose volume client records the token of each caller, with a short
    wait for snapshots."""
    service = compute_env.app.extensions["compute"].service
    compute_env.tokens = []

    def volume_client(token):
        compute_env.tokens.append(token)
        return compute_env.volumes

    service.volume_client = volume_client
    service.volume_snapshot_options = {"wait_seconds": 0.05, "poll_seconds": 0.01}
    return compute_env


def bfv_server(env, data_volume: bool = False) -> str:
    """An ACTIVE server booted from a volume made from the image (plus a data volume)."""
    bdms = [ROOT_FROM_IMAGE]
    if data_volume:
        bdms.append({"source_type": "volume", "destination_type": "volume",
                     "uuid": VOLUME_IDS[0]})
    resp = env.alice.post("/v2.1/servers", json={"server": {
        "name": "bfv", "imageRef": "", "flavorRef": "6", "block_device_mapping_v2": bdms}})
    assert resp.status_code == 202, resp.get_json()
    server_id = resp.get_json()["server"]["id"]
    env.work()
    server = env.alice.get(f"/v2.1/servers/{server_id}").get_json()["server"]
    assert server["status"] == "ACTIVE", server
    return server_id


def create_image(env, server_id, version="2.45", user="alice", **extra):
    return getattr(env, user).post(f"/v2.1/servers/{server_id}/action", headers=mv(version),
                                   json={"createImage": {"name": "snap", **extra}})


def test_image_of_a_volume_backed_server_is_nova_s(venv):
    server_id = bfv_server(venv, data_volume=True)
    venv.tokens.clear()
    resp = create_image(venv, server_id, metadata={"k": "v"})
    assert resp.status_code == 202, resp.get_json()
    image = venv.images.images[resp.get_json()["image_id"]]
    assert image["status"] == "active"          # activated with no data
    assert (image["disk_format"], image["container_format"]) == ("raw", "bare")
    assert image["bdm_v2"] == "True" and image["root_device_name"] == "/dev/vda"
    assert image["k"] == "v" and image["visibility"] == "private"
    assert "image_type" not in image and "instance_uuid" not in image
    bdms = json.loads(image["block_device_mapping"])
    assert len(bdms) == 2 and len(venv.volumes.snapshots) == 2
    root, data = bdms
    assert root["boot_index"] == 0 and data["boot_index"] is None
    with venv.db.session() as s:
        by_device = {b["device"]: b["volume_id"] for b in s.get(Instance, server_id)
                     .block_devices}
    for bdm in bdms:
        assert set(bdm) >= {"source_type", "destination_type", "snapshot_id", "volume_id",
                            "image_id", "no_device", "tag", "guest_format", "volume_type"}
        assert (bdm["source_type"], bdm["destination_type"]) == ("snapshot", "volume")
        snapshot = venv.volumes.snapshots[bdm["snapshot_id"]]
        assert snapshot["volume_id"] == by_device[bdm["device_name"]]
        assert snapshot["name"] == "snapshot for snap"
        assert snapshot["force"] is True  # the volume is in use by the server
        assert bdm["volume_size"] == 1 and bdm["disk_bus"] == "virtio"
        assert bdm["volume_id"] is None
    assert root["device_name"] == "/dev/vda" and root["delete_on_termination"] is True
    assert data["delete_on_termination"] is False
    # as the caller: every volume call of createImage used alice's token
    assert venv.tokens and set(venv.tokens) == {venv.alice.token}
    # no agent task: the API made it, and logged the action with its api event
    assert venv.work() == 0
    actions = venv.alice.get(f"/v2.1/servers/{server_id}/os-instance-actions").get_json()
    assert actions["instanceActions"][0]["action"] == "createImage"


def test_before_2_45_the_answer_is_a_location(venv):
    server_id = bfv_server(venv)
    resp = create_image(venv, server_id, version="2.44")
    assert resp.status_code == 202 and not resp.data
    image_id = resp.headers["Location"].rsplit("/", 1)[1]
    assert venv.images.images[image_id]["status"] == "active"


def test_a_stopped_server_may_be_snapshotted_a_building_one_not(venv):
    server_id = bfv_server(venv)
    venv.alice.post(f"/v2.1/servers/{server_id}/action", json={"os-stop": None})
    venv.work()
    assert create_image(venv, server_id).status_code == 202
    venv.alice.post(f"/v2.1/servers/{server_id}/action", json={"os-start": None})
    err(create_image(venv, server_id), 409, "createImage")   # powering-on: a task runs


@pytest.mark.parametrize("status, message", [("error", "went to error"),
                                             ("creating", "not available after")])
def test_a_failed_or_late_snapshot_leaves_nothing(venv, status, message):
    server_id = bfv_server(venv, data_volume=True)
    images_before = set(venv.images.images)
    venv.volumes.snapshot_status = status
    err(create_image(venv, server_id), 409, message)
    assert venv.volumes.snapshots == {}
    assert set(venv.images.images) == images_before
    actions = venv.alice.get(f"/v2.1/servers/{server_id}/os-instance-actions").get_json()
    assert actions["instanceActions"][0]["action"] == "createImage"


def test_a_refused_snapshot_is_the_volume_service_s_4xx_and_undoes_the_others(venv,
                                                                            monkeypatch):
    server_id = bfv_server(venv, data_volume=True)
    made = venv.volumes.create_snapshot

    def second_refused(volume_id, name, description=None):
        if venv.volumes.snapshots:
            raise BadRequest("Invalid volume: over the snapshot limit")
        return made(volume_id, name, description)

    monkeypatch.setattr(venv.volumes, "create_snapshot", second_refused)
    err(create_image(venv, server_id), 400, "snapshot limit")
    assert venv.volumes.snapshots == {}


def test_a_failed_image_upload_deletes_image_and_snapshots(venv, monkeypatch):
    server_id = bfv_server(venv)
    images_before = set(venv.images.images)

    def refused(image_id, chunks):
        raise BadRequest("no")

    monkeypatch.setattr(venv.images, "upload", refused)
    err(create_image(venv, server_id), 400, "no")
    assert venv.volumes.snapshots == {} and set(venv.images.images) == images_before


def test_reader_and_other_projects_cannot(venv):
    server_id = bfv_server(venv)
    err(create_image(venv, server_id, user="reader"), 403, "create_image")
    assert create_image(venv, server_id, user="bob").status_code == 404
    assert venv.volumes.snapshots == {}


def test_backup_of_a_volume_backed_server_is_refused(venv):
    server_id = bfv_server(venv)
    resp = venv.alice.post(f"/v2.1/servers/{server_id}/action", json={"createBackup": {
        "name": "b", "backup_type": "daily", "rotation": 1}})
    err(resp, 400, "volume-backed")


def test_booting_from_such_an_image_makes_volumes_from_its_snapshots(venv):
    server_id = bfv_server(venv, data_volume=True)
    image_id = create_image(venv, server_id).get_json()["image_id"]
    snapshots = {b["boot_index"]: b["snapshot_id"] for b in json.loads(
        venv.images.images[image_id]["block_device_mapping"])}
    venv.tokens.clear()
    resp = venv.alice.post("/v2.1/servers", json={"server": {
        "name": "again", "imageRef": image_id, "flavorRef": "6"}})
    assert resp.status_code == 202, resp.get_json()
    again = resp.get_json()["server"]["id"]
    venv.work()
    assert venv.alice.get(f"/v2.1/servers/{again}").get_json()["server"]["status"] == "ACTIVE"
    with venv.db.session() as s:
        inst = s.get(Instance, again)
        bdms, meta = inst.block_devices, inst.image_meta
    root = next(b for b in bdms if b.get("boot_index") == 0)
    data = [b for b in bdms if b.get("boot_index") != 0]
    assert root["device"] == "/dev/vda" and root["delete_on_termination"] is True
    assert venv.volumes.details[root["volume_id"]]["snapshot_id"] == snapshots[0]
    assert [venv.volumes.details[b["volume_id"]]["snapshot_id"] for b in data] == [
        snapshots[None]]
    assert venv.driver.volumes[again]["/dev/vda"] == root["volume_id"]
    assert "block_device_mapping" not in meta and set(venv.tokens) == {venv.alice.token}


def test_a_volume_is_not_made_from_such_an_image(venv):
    server_id = bfv_server(venv)
    image_id = create_image(venv, server_id).get_json()["image_id"]
    resp = venv.alice.post("/v2.1/servers", json={"server": {
        "name": "again", "imageRef": "", "flavorRef": "6",
        "block_device_mapping_v2": [{**ROOT_FROM_IMAGE, "uuid": image_id}]}})
    err(resp, 400, "block_device_mapping")


@pytest.mark.parametrize("mapping, message", [
    ("not json", "invalid block_device_mapping"),
    ([], "no boot volume snapshot"),
    ([{"source_type": "blank", "destination_type": "local", "boot_index": 0}],
     "from blank to local is not supported"),
    ([{"source_type": "snapshot", "destination_type": "volume", "boot_index": 0,
       "snapshot_id": "s", "volume_size": "big"}], "volume_size")])
def test_an_image_mapping_minicloud_cannot_make_is_400(venv, mapping, message):
    image = venv.images.add("odd", {"block_device_mapping": mapping if isinstance(
        mapping, str) else json.dumps(mapping), "bdm_v2": "True"})
    volumes_before = dict(venv.volumes.status)
    resp = venv.alice.post("/v2.1/servers", json={"server": {
        "name": "x", "imageRef": image["id"], "flavorRef": "6"}})
    err(resp, 400, message)
    assert venv.alice.get("/v2.1/servers").get_json()["servers"] == []
    assert venv.volumes.status == volumes_before


def test_a_failed_volume_create_deletes_the_ones_made(venv, monkeypatch):
    image = venv.images.add("two", {"bdm_v2": "True", "block_device_mapping": json.dumps([
        {"source_type": "snapshot", "destination_type": "volume", "boot_index": 0,
         "snapshot_id": "s1", "volume_size": 1},
        {"source_type": "snapshot", "destination_type": "volume", "boot_index": None,
         "snapshot_id": "s2", "volume_size": 1}])})
    volumes_before = dict(venv.volumes.status)
    made = venv.volumes.create

    def second_refused(body):
        if body["snapshot_id"] == "s2":
            raise BadRequest("Invalid snapshot: s2 is not available")
        return made(body)

    monkeypatch.setattr(venv.volumes, "create", second_refused)
    resp = venv.alice.post("/v2.1/servers", json={"server": {
        "name": "x", "imageRef": image["id"], "flavorRef": "6"}})
    err(resp, 400, "s2 is not available")
    assert venv.volumes.status == volumes_before
    assert venv.alice.get("/v2.1/servers").get_json()["servers"] == []
