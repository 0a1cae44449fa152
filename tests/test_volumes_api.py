"""The volume API (Cinder v3 subset) through the Flask test client, with a real agent thread
on the fake backend and target: lifecycle, metadata, actions, quotas, bad input, isolation."""
from __future__ import annotations

import pytest

from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, err, wait_status


def test_discovery_is_public_and_advertises_3_0_to_3_70(volenv):
    client = volenv.app.test_client()
    for path, status in (("/", 300), ("/v3/", 200), ("/v3", 200)):
        resp = client.get(path)
        assert resp.status_code == status, path
        [entry] = resp.json["versions"]
        assert (entry["id"], entry["status"]) == ("v3.0", "CURRENT")
        assert (entry["min_version"], entry["version"]) == ("3.0", "3.70")
        assert entry["links"][-1]["href"].endswith("/v3/")


@pytest.mark.parametrize("header, answer", [
    (None, "volume 3.0"), ("volume 3.44", "volume 3.44"), ("volume latest", "volume 3.70"),
    ("compute 2.1, volume 3.27", "volume 3.27")])
def test_microversion_in_range_is_honoured(volenv, header, answer):
    headers = {"OpenStack-API-Version": header} if header else {}
    resp = volenv.alice.get("/v3/volumes", headers=headers)
    assert resp.status_code == 200 and resp.headers["OpenStack-API-Version"] == answer


@pytest.mark.parametrize("header", ["volume 3.71", "volume 2.0", "volume x"])
def test_microversion_out_of_range_is_406(volenv, header):
    err(volenv.alice.get("/v3/volumes", headers={"OpenStack-API-Version": header}), 406,
        "version")


def test_create_blank_volume_with_cli_nulls(volenv):
    body = {"name": "v1", "size": 1, "description": None, "volume_type": None,
            "availability_zone": None, "imageRef": None, "snapshot_id": None,
            "source_volid": None, "backup_id": None, "consistencygroup_id": None,
            "metadata": None}
    resp = volenv.alice.post(f"/v3/{volenv.alice.project_id}/volumes", json={"volume": body},
                             headers=MV)
    assert resp.status_code == 202, resp.json
    vol = resp.json["volume"]
    assert (vol["name"], vol["size"], vol["status"]) == ("v1", 1, "creating")
    assert vol["attachments"] == [] and vol["metadata"] == {} and vol["bootable"] == "false"
    vol = volenv.wait(vol["id"], "available", volenv.alice)
    assert volenv.backend.size(vol["id"]) == 1024 ** 3
    assert "os-vol-host-attr:host" not in vol  # admins only
    assert volenv.show(vol["id"], volenv.admin)["os-vol-host-attr:host"] == \
        "node1@fake#fake"  # Cinder's host@backend#pool
    for key in ("auth_username", "auth_password", "provider_auth"):
        assert key not in str(vol)


def test_create_from_image_is_bootable_with_image_metadata(volenv):
    vol = volenv.create(name="boot", size=1, imageRef="raw-img")
    assert vol["bootable"] == "true"
    assert "volume_image_metadata" not in vol  # Cinder's create answer lacks it; show has it
    meta = volenv.show(vol["id"])["volume_image_metadata"]
    assert (meta["image_id"], meta["image_name"], meta["hw_firmware_type"]) == \
        ("raw-img", "raw-img-name", "uefi")
    assert "os_hash_value" not in meta
    volenv.wait(vol["id"], "available")
    assert volenv.backend.contents[vol["id"]].startswith(b"\xab" * 512)


def test_create_from_image_without_size_takes_the_image_size(volenv):
    volenv.images.add("big", b"\0" * 4096, "raw", virtual_size=3 * 1024 ** 3, min_disk=2)
    vol = volenv.create(name="sized", size=None, imageRef="big")
    assert vol["size"] == 3


@pytest.mark.parametrize("image, size, message", [
    ("nope", 1, "Invalid image identifier"),
    ("tiny-disk", 1, "minDisk"),
    ("too-big", 1, "larger than volume size"),
    ("queued", 1, "not active"),
    ("kernel", 1, "disk_format aki"),
])
def test_create_from_bad_image_is_400(volenv, image, size, message):
    volenv.images.add("tiny-disk", b"x", "raw", min_disk=5)
    volenv.images.add("too-big", b"x", "raw", virtual_size=2 * 1024 ** 3)
    volenv.images.add("queued", b"x", "raw", status="queued")
    volenv.images.add("kernel", b"x", "aki")
    resp = volenv.alice.post("/v3/volumes", json={"volume": {"size": size, "imageRef": image}})
    err(resp, 400, message)


@pytest.mark.parametrize("body, status, message", [
    (b"{not json", 400, "not valid JSON"),
    (b"[]", 400, "JSON object"),
    (b'{"volume": 3}', 400, "3 is not of type 'object'"),
    (b'{"volume": {}}', 400, "'size' is a required property"),
    (b'{"volume": {"size": 0}}', 400, "less than the minimum of 1"),
    (b'{"volume": {"size": "0"}}', 400, "less than the minimum of 1"),
    (b'{"volume": {"size": -2}}', 400, "volume/size"),
    (b'{"volume": {"size": "big"}}', 400, "volume/size"),
    (b'{"volume": {"size": true}}', 400, "volume/size"),
    (b'{"volume": {"size": 1.5}}', 400, "volume/size"),
    (b'{"volume": {"size": 1, "name": 7}}', 400, "volume/name"),
    (b'{"volume": {"size": 1, "name": "' + b"n" * 256 + b'"}}', 400, "volume/name"),
    (b'{"volume": {"size": 1, "metadata": {"k": 1}}}', 400, "volume/metadata/k"),
    (b'{"volume": {"size": 1, "metadata": []}}', 400, "volume/metadata"),
    (b'{"volume": {"size": 1, "snapshot_id": "s"}}', 400, "volume/snapshot_id"),
    (b'{"volume": {"size": 1, "snapshot_id": "8d7ef0ba-7a8a-4b0a-9f3e-0c6a1a9d4f11"}}',
     404, "Snapshot 8d7ef0ba-7a8a-4b0a-9f3e-0c6a1a9d4f11 could not be found"),
    (b'{"volume": {"size": 1, "source_volid": "8d7ef0ba-7a8a-4b0a-9f3e-0c6a1a9d4f11"}}',
     404, "Volume 8d7ef0ba-7a8a-4b0a-9f3e-0c6a1a9d4f11 could not be found"),
    (b'{"volume": {"size": 1, "backup_id": "8d7ef0ba-7a8a-4b0a-9f3e-0c6a1a9d4f11"}}',
     404, "Backup 8d7ef0ba-7a8a-4b0a-9f3e-0c6a1a9d4f11 could not be found"),
    (b'{"volume": {"size": 1, "availability_zone": "mars"}}', 400, "mars"),
    (b'{"volume": {"size": 1, "volume_type": "gold"}}', 404, "gold"),
    (b'{"volume": {"size": 1, "multiattach": true}}', 400, "multiattach"),
    (b'{"volume": {"size": 1, "frobnicate": true}}', 400, "'frobnicate' was unexpected"),
    (b'{"volume": {"size": 1}, "extra": 1}', 400, "'extra' was unexpected"),
])
def test_bad_create_bodies_are_4xx_with_a_message(volenv, body, status, message):
    resp = volenv.alice.post("/v3/volumes", data=body,
                             headers={"Content-Type": "application/json", **MV})
    err(resp, status, message)


def test_create_schema_follows_the_microversion(volenv):
    """Unknown keys are ignored before 3.53 (refused after); backup_id exists from 3.47."""
    odd = {"size": 1, "frobnicate": True}
    assert volenv.alice.post("/v3/volumes", json={"volume": odd}).status_code == 202
    backup = {"size": 1, "backup_id": "not-a-uuid"}
    assert volenv.alice.post("/v3/volumes", json={"volume": backup}, headers={
        "OpenStack-API-Version": "volume 3.46"}).status_code == 202  # not a 3.46 field
    err(volenv.alice.post("/v3/volumes", json={"volume": backup}, headers={
        "OpenStack-API-Version": "volume 3.47"}), 400, "volume/backup_id")


def test_cloning_needs_a_visible_source_in_a_copyable_status(volenv):
    """(Clones themselves: tests/test_volumes_snapshots.py.)"""
    src = volenv.create(name="src")
    assert volenv.admin.post(f"/v3/volumes/{src['id']}/action", headers=MV, json={
        "os-reset_status": {"status": "error"}}).status_code == 202
    err(volenv.alice.post("/v3/volumes", json={"volume": {"source_volid": src["id"]}},
                          headers=MV), 400, "'available', 'in-use'")
    theirs = volenv.create(name="theirs", who=volenv.bob)
    err(volenv.alice.post("/v3/volumes", json={"volume": {"source_volid": theirs["id"]}},
                          headers=MV), 404, "could not be found")


def test_list_detail_show_and_name_filter(volenv):
    a = volenv.create(name="a")
    volenv.create(name="b")
    volenv.create(name="theirs", who=volenv.bob)
    summary = volenv.alice.get("/v3/volumes").json["volumes"]
    assert sorted(v["name"] for v in summary) == ["a", "b"]
    assert set(summary[0]) == {"id", "name", "links"}
    detail = volenv.alice.get(f"/v3/{volenv.alice.project_id}/volumes/detail?name=a").json
    assert [v["id"] for v in detail["volumes"]] == [a["id"]]
    assert detail["volumes"][0]["attachments"] == []
    everyone = volenv.admin.get("/v3/volumes/detail?all_tenants=1").json["volumes"]
    assert {"a", "b", "theirs"} <= {v["name"] for v in everyone}
    # As Cinder: all_tenants from a non-admin is ignored (cinderclient always sends it).
    mine = volenv.alice.get("/v3/volumes/detail?all_tenants=1").json["volumes"]
    assert sorted(v["name"] for v in mine) == ["a", "b"]


def test_pagination_with_limit_and_marker(volenv):
    ids = {volenv.create(name=f"p{i}")["id"] for i in range(3)}
    first = volenv.alice.get("/v3/volumes/detail?limit=2").json
    assert len(first["volumes"]) == 2 and first["volumes_links"][0]["rel"] == "next"
    marker = first["volumes"][-1]["id"]
    rest = volenv.alice.get(f"/v3/volumes/detail?limit=2&marker={marker}").json
    assert len(rest["volumes"]) == 1 and "volumes_links" not in rest
    assert {v["id"] for v in first["volumes"] + rest["volumes"]} == ids


def test_other_projects_volume_is_404_everywhere(volenv):
    theirs = volenv.create(name="bobs", who=volenv.bob)
    vid = theirs["id"]
    for method, path, body in (("get", f"/v3/volumes/{vid}", None),
                               ("put", f"/v3/volumes/{vid}", {"volume": {"name": "x"}}),
                               ("delete", f"/v3/volumes/{vid}", None),
                               ("post", f"/v3/volumes/{vid}/action",
                                {"os-extend": {"new_size": 2}}),
                               ("get", f"/v3/volumes/{vid}/metadata", None),
                               ("post", f"/v3/volumes/{vid}/metadata", {"metadata": {"a": "b"}})):
        err(getattr(volenv.alice, method)(path, json=body), 404, "could not be found")
    err(volenv.alice.get(f"/v3/{volenv.bob.project_id}/volumes"), 400, "Malformed request url")


def test_unknown_volume_is_404_in_cinder_shape(volenv):
    resp = volenv.alice.get("/v3/volumes/no-such-volume")
    assert resp.json == {"itemNotFound": {"code": 404, "title": "Not Found", "message":
                                          "Volume no-such-volume could not be found."}}


def test_update_name_description_metadata(volenv):
    vol = volenv.create(name="old", metadata={"keep": "1"})
    resp = volenv.alice.put(f"/v3/volumes/{vol['id']}",
                            json={"volume": {"name": "new", "description": "d"}})
    assert resp.status_code == 200
    assert (resp.json["volume"]["name"], resp.json["volume"]["description"]) == ("new", "d")
    assert resp.json["volume"]["metadata"] == {"keep": "1"}
    # An empty update is a no-op before 3.53 and a 400 from then on, as in Cinder.
    assert volenv.alice.put(f"/v3/volumes/{vol['id']}", json={"volume": {}}).status_code == 200
    err(volenv.alice.put(f"/v3/volumes/{vol['id']}", json={"volume": {}}, headers=MV), 400,
        "is not valid under any of the given schemas")
    err(volenv.alice.put(f"/v3/volumes/{vol['id']}", json={"volume": {"name": ["x"]}}), 400,
        "volume/name")
    err(volenv.alice.put(f"/v3/volumes/{vol['id']}", json={"volume": {"size": 3}}), 400,
        "'size' was unexpected")
    resp = volenv.alice.put(f"/v3/volumes/{vol['id']}",
                            json={"volume": {"description": None}})
    assert resp.status_code == 200 and resp.json["volume"]["description"] is None


def test_metadata_endpoints(volenv):
    vid = volenv.create(name="m")["id"]
    base = f"/v3/{volenv.alice.project_id}/volumes/{vid}/metadata"
    resp = volenv.alice.post(base, json={"metadata": {"a": "1", "b": "2"}})  # no microversion
    assert resp.status_code == 200 and resp.json == {"metadata": {"a": "1", "b": "2"}}
    assert volenv.alice.post(base, json={"metadata": {"b": "3"}}).json["metadata"] == \
        {"a": "1", "b": "3"}
    assert volenv.alice.get(base).json == {"metadata": {"a": "1", "b": "3"}}
    assert volenv.alice.get(f"{base}/a").json == {"meta": {"a": "1"}}
    assert volenv.alice.put(f"{base}/c", json={"meta": {"c": "9"}}).json == {"meta": {"c": "9"}}
    assert volenv.alice.delete(f"{base}/a").status_code == 200
    err(volenv.alice.delete(f"{base}/a"), 404, "a")
    err(volenv.alice.get(f"{base}/zz"), 404, "zz")
    err(volenv.alice.put(f"{base}/c", json={"meta": {"d": "1"}}), 400,
        "Request body and URI mismatch")
    err(volenv.alice.put(f"{base}/c", json={"meta": {"c": "1", "d": "2"}}), 400,
        "has too many properties")
    err(volenv.alice.post(base, json={"metadata": {"bad key!": "1"}}), 400, "'bad key!'")
    err(volenv.alice.post(base, json={"metadata": {"k": "v" * 256}}), 400, "metadata/k")
    err(volenv.alice.post(base, json={"meta": {"k": "v"}}), 400, "'metadata' is a required")
    assert volenv.alice.put(base, json={"metadata": {"only": "x"}}).json == \
        {"metadata": {"only": "x"}}
    assert volenv.show(vid)["metadata"] == {"only": "x"}


def test_extend_grows_the_backing_volume(volenv):
    vid = volenv.create(name="e")["id"]
    volenv.wait(vid, "available")
    resp = volenv.alice.post(f"/v3/volumes/{vid}/action", json={"os-extend": {"new_size": 3}})
    assert resp.status_code == 202
    vol = volenv.wait(vid, "available")
    assert vol["size"] == 3 and volenv.backend.size(vid) == 3 * 1024 ** 3
    for body, message in (({"os-extend": {"new_size": 2}}, "greater than current size"),
                          ({"os-extend": {"new_size": 3}}, "greater than current size"),
                          ({"os-extend": {"new_size": "x"}}, "os-extend/new_size"),
                          ({"os-extend": {"new_size": "0"}}, "less than the minimum of 1"),
                          ({"os-extend": {}}, "'new_size' is a required property"),
                          ({"os-extend": {"new_size": 4, "x": 1}}, "'x' was unexpected"),
                          ({"os-frobnicate": {}}, "There is no such action: os-frobnicate"),
                          ({"a": 1, "b": 2}, "has too many properties"),
                          ({}, "should be non-empty")):
        err(volenv.alice.post(f"/v3/volumes/{vid}/action", json=body), 400, message)


def test_extend_of_a_creating_volume_is_refused(make_volenv):
    env = make_volenv(agent=False)
    vid = env.create(name="c")["id"]
    err(env.alice.post(f"/v3/volumes/{vid}/action", json={"os-extend": {"new_size": 2}}),
        400, "must be available")


def test_set_bootable_and_reset_status(volenv):
    vid = volenv.create(name="b")["id"]
    volenv.wait(vid, "available")
    action = f"/v3/volumes/{vid}/action"
    assert volenv.alice.post(action, json={"os-set_bootable": {"bootable": True}}
                             ).status_code == 200
    assert volenv.show(vid)["bootable"] == "true"
    volenv.alice.post(action, json={"os-set_bootable": {"bootable": "false"}})
    assert volenv.show(vid)["bootable"] == "false"
    err(volenv.alice.post(action, json={"os-set_bootable": {"bootable": "maybe"}}), 400,
        "os-set_bootable/bootable")
    err(volenv.alice.post(action, json={"os-set_bootable": {}}), 400,
        "'bootable' is a required property")
    err(volenv.alice.post(action, json={"os-reset_status": {"status": "error"}}), 403, "")
    assert volenv.admin.post(action, json={"os-reset_status": {"status": "error"}}
                             ).status_code == 202
    assert volenv.show(vid)["status"] == "error"
    err(volenv.admin.post(action, json={"os-reset_status": {"status": "bogus"}}), 400,
        "status must be one of")
    err(volenv.admin.post(action, json={"os-reset_status": {}}), 400, "Must specify 'status'")
    err(volenv.admin.post(action, json={"os-reset_status": {"attach_status": "detached"}}),
        400, "resets 'status' only")


def test_delete_removes_the_bytes_and_the_row_and_frees_quota(volenv):
    vid = volenv.create(name="d", size=4)["id"]
    volenv.wait(vid, "available")
    limits = volenv.alice.get("/v3/limits").json["limits"]["absolute"]
    assert (limits["totalVolumesUsed"], limits["totalGigabytesUsed"]) == (1, 4)
    resp = volenv.alice.delete(f"/v3/volumes/{vid}?cascade=False&force=False")
    assert resp.status_code == 202
    wait_status(lambda: _status_or_gone(volenv, vid), "gone")
    assert not volenv.backend.exists(vid)
    limits = volenv.alice.get("/v3/limits").json["limits"]["absolute"]
    assert (limits["totalVolumesUsed"], limits["totalGigabytesUsed"]) == (0, 0)


def _status_or_gone(env, vid: str) -> dict:
    resp = env.alice.get(f"/v3/volumes/{vid}")
    return {"status": "gone"} if resp.status_code == 404 else resp.json["volume"]


def test_delete_of_a_creating_volume_is_refused_but_force_by_admin_of_error_deleting(
        make_volenv):
    env = make_volenv(agent=False)
    vid = env.create(name="c")["id"]
    err(env.alice.delete(f"/v3/volumes/{vid}"), 400,
        "Volume status must be available or error")
    env.admin.post(f"/v3/volumes/{vid}/action",
                   json={"os-reset_status": {"status": "error_deleting"}})
    err(env.alice.delete(f"/v3/volumes/{vid}"), 400, "error_deleting")
    err(env.alice.delete(f"/v3/volumes/{vid}?force=True", headers=MV), 403, "force_delete")
    # force exists from 3.23: before, it is ignored and the status rules apply.
    err(env.admin.delete(f"/v3/volumes/{vid}?force=True"), 400, "error_deleting")
    assert env.admin.delete(f"/v3/volumes/{vid}?force=True", headers=MV).status_code == 202
    assert env.show(vid)["status"] == "deleting"


def test_no_live_agent_means_error_at_once(make_volenv):
    env = make_volenv(agent=False, **{"volume.service_down_time": 0})
    vol = env.create(name="lonely")
    assert vol["status"] == "error"
    assert env.admin.delete(f"/v3/volumes/{vol['id']}").status_code == 202
    err(env.alice.get(f"/v3/volumes/{vol['id']}"), 404, "")


@pytest.mark.parametrize("limits, sizes, message", [
    ({"volume.quota_volumes": 2}, [1, 1, 1], "Maximum number of volumes allowed (2)"),
    ({"volume.quota_gigabytes": 5}, [3, 3], "Requested 3G, quota is 5G and 3G"),
])
def test_quota_exceeded_is_413_overlimit(make_volenv, limits, sizes, message):
    env = make_volenv(**limits)
    for size in sizes[:-1]:
        env.create(size=size)
    resp = env.alice.post("/v3/volumes", json={"volume": {"size": sizes[-1]}})
    err(resp, 413, message)
    assert "overLimit" in resp.json
    env.create(size=1, who=env.bob)  # per project


def test_extend_beyond_quota_is_413(make_volenv):
    env = make_volenv(**{"volume.quota_gigabytes": 3})
    vid = env.create(size=2)["id"]
    env.wait(vid, "available")
    err(env.alice.post(f"/v3/volumes/{vid}/action", json={"os-extend": {"new_size": 4}}),
        413, "gigabytes quota")
    assert env.show(vid)["status"] == "available"


def test_limits_and_types(volenv):
    absolute = volenv.alice.get("/v3/limits").json["limits"]["absolute"]
    assert (absolute["maxTotalVolumes"], absolute["maxTotalVolumeGigabytes"]) == (10, 100)
    [vtype] = volenv.alice.get("/v3/types").json["volume_types"]
    assert volenv.alice.get(f"/v3/types/{vtype['id']}").json["volume_type"]["name"] == \
        "__DEFAULT__"
    err(volenv.alice.get("/v3/types/gold"), 404, "gold")


def test_failed_create_goes_to_error_with_the_backend_cleaned(make_volenv):
    from volumes.backends import FakeBackend

    env = make_volenv(backend=FakeBackend(fail_at="create"))
    vid = env.create(name="bad")["id"]
    vol = env.wait(vid, "error")
    assert not env.backend.exists(vid) and vol["status"] == "error"
    assert env.admin.delete(f"/v3/volumes/{vid}").status_code == 202


def test_no_token_is_401(volenv):
    resp = volenv.app.test_client().get("/v3/volumes")
    assert resp.status_code == 401
