"""The server actions a Nova user expects, in-process on the fake driver: lock, pause,
suspend, rebuild, createBackup, soft delete (restore, forceDelete, the periodic reclaim),
and the addresses and password routes; each allowed state and each refusal."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from compute.models import Allocation, Instance
from tests.compute_fixtures import *  # noqa: F403
from tests.compute_fixtures import IMAGE_ID, VOLUME_IDS, err, mv

OTHER_IMAGE = "5e7c8a46-6f4f-4b8e-9d4c-7d0b1b1e0002"


def act(client, server_id: str, body: dict, version: str = "2.1"):
    return client.post(f"/v2.1/servers/{server_id}/action", json=body, headers=mv(version))


def show(env, server_id: str, version: str = "2.1", who: str = "alice") -> dict:
    return getattr(env, who).get(f"/v2.1/servers/{server_id}", headers=mv(version)
                                 ).get_json()["server"]


def status(env, server_id: str) -> str:
    return show(env, server_id)["status"]


@pytest.fixture
def sid(compute_env) -> str:
    return compute_env.create_server()


@pytest.fixture
def env(compute_env):
    compute_env.images.images[OTHER_IMAGE] = dict(compute_env.images.images[IMAGE_ID],
                                                   id=OTHER_IMAGE, os_distro="other")
    return compute_env


# -- pause, suspend ------------------------------------------------------------------------
def test_pause_and_unpause(env, sid):
    assert act(env.alice, sid, {"pause": None}).status_code == 202
    assert show(env, sid)["OS-EXT-STS:task_state"] == "pausing"
    env.work()
    shown = show(env, sid)
    assert (shown["status"], shown["OS-EXT-STS:vm_state"],
            shown["OS-EXT-STS:power_state"]) == ("PAUSED", "paused", 3)
    err(act(env.alice, sid, {"pause": None}), 409,
        f"Cannot 'pause' instance {sid} while it is in vm_state paused")
    err(act(env.alice, sid, {"os-stop": None}), 409, "vm_state paused")
    assert act(env.alice, sid, {"unpause": None}).status_code == 202
    env.work()
    assert (status(env, sid), show(env, sid)["OS-EXT-STS:power_state"]) == ("ACTIVE", 1)
    assert ("pause", sid) in env.driver.calls and ("unpause", sid) in env.driver.calls
    err(act(env.alice, sid, {"unpause": None}), 409, "vm_state active")


def test_suspend_and_resume(env, sid):
    assert act(env.alice, sid, {"suspend": None}).status_code == 202
    env.work()
    shown = show(env, sid)
    # as libvirt's managed save: the domain is shut off with its memory saved (Nova shows 4)
    assert (shown["status"], shown["OS-EXT-STS:power_state"]) == ("SUSPENDED", 4)
    assert sid in env.driver.saved
    err(act(env.alice, sid, {"pause": None}), 409, "vm_state suspended")
    assert act(env.alice, sid, {"resume": None}).status_code == 202
    env.work()
    assert status(env, sid) == "ACTIVE" and sid not in env.driver.saved
    err(act(env.alice, sid, {"resume": None}), 409,
        f"Cannot 'resume' instance {sid} while it is in vm_state active")


@pytest.mark.parametrize("action", ["pause", "suspend"])
def test_a_hard_reboot_boots_a_paused_or_suspended_server_afresh(env, sid, action):
    act(env.alice, sid, {action: None})
    env.work()
    err(act(env.alice, sid, {"reboot": {"type": "SOFT"}}), 409, "Cannot 'reboot'")
    assert act(env.alice, sid, {"reboot": {"type": "HARD"}}).status_code == 202
    env.work()
    assert (status(env, sid), env.driver.guests[sid]) == ("ACTIVE", 1)
    assert sid not in env.driver.saved


def test_paused_and_suspended_servers_can_be_snapshotted_and_deleted(env, sid):
    act(env.alice, sid, {"pause": None})
    env.work()
    assert act(env.alice, sid, {"createImage": {"name": "snap"}}).status_code == 202
    env.work()
    assert status(env, sid) == "PAUSED"
    assert env.alice.delete(f"/v2.1/servers/{sid}").status_code == 204
    env.work()
    err(env.alice.get(f"/v2.1/servers/{sid}"), 404, "could not be found")
    assert sid not in env.driver.guests


# -- lock ----------------------------------------------------------------------------------------
def test_a_locked_server_refuses_its_owner_every_change(env, sid):
    assert act(env.alice, sid, {"lock": {"locked_reason": "maintenance"}}, "2.73"
               ).status_code == 202
    for body in ({"os-stop": None}, {"reboot": {"type": "HARD"}}, {"pause": None},
                 {"suspend": None}, {"rebuild": {"imageRef": IMAGE_ID}}):
        err(act(env.alice, sid, body), 409, f"Instance {sid} is locked")
    err(env.alice.delete(f"/v2.1/servers/{sid}"), 409, "is locked")
    err(env.alice.post(f"/v2.1/servers/{sid}/metadata", json={"metadata": {"a": "b"}}),
        409, "is locked")
    err(env.alice.post(f"/v2.1/servers/{sid}/os-volume_attachments",
                       json={"volumeAttachment": {"volumeId": VOLUME_IDS[0]}}), 409,
        "is locked")
    assert env.volumes.status[VOLUME_IDS[0]] == "available"  # nothing reserved
    # Nova does not lock snapshots, backups or the console out
    assert act(env.alice, sid, {"createImage": {"name": "s"}}).status_code == 202
    env.work()
    shown = show(env, sid, "2.73")
    assert (shown["status"], shown["locked"], shown["locked_reason"]) == (
        "ACTIVE", True, "maintenance")
    assert "locked_reason" not in show(env, sid, "2.72") and show(env, sid, "2.9")["locked"]
    assert "locked" not in show(env, sid, "2.8")
    listed = env.alice.get("/v2.1/servers?locked=true", headers=mv("2.73")).get_json()
    assert [s["id"] for s in listed["servers"]] == [sid]
    # an admin acts on a locked server
    assert act(env.admin, sid, {"os-stop": None}).status_code == 202
    env.work()
    assert status(env, sid) == "SHUTOFF"
    assert act(env.alice, sid, {"unlock": None}).status_code == 202
    assert act(env.alice, sid, {"os-start": None}).status_code == 202
    env.work()
    assert status(env, sid) == "ACTIVE" and show(env, sid, "2.73")["locked"] is False


def test_lock_reason_only_from_2_73(env, sid):
    # before 2.73 the body is not read (Nova has no schema there)
    assert act(env.alice, sid, {"lock": {"locked_reason": "x"}}, "2.72").status_code == 202
    assert show(env, sid, "2.73")["locked_reason"] is None
    err(act(env.alice, sid, {"lock": {"locked_reason": ""}}, "2.73"), 400, "locked_reason")
    err(act(env.bob, sid, {"lock": None}), 404, "could not be found")
    assert act(env.alice, sid, {"lock": None}, "2.73").status_code == 202
    assert show(env, sid, "2.73")["locked_reason"] is None


# -- rebuild -------------------------------------------------------------------------------------
def test_rebuild_replaces_vda_and_keeps_vdb_and_volumes(env, sid):
    resp = env.alice.post(f"/v2.1/servers/{sid}/os-volume_attachments",
                          json={"volumeAttachment": {"volumeId": VOLUME_IDS[0]}})
    assert resp.status_code == 200
    env.work()
    inst_dir = env.agent.instances_path / sid
    (inst_dir / "disk.eph0").write_bytes(b"ephemeral data")
    inode = (inst_dir / "disk.eph0").stat().st_ino
    resp = act(env.alice, sid, {"rebuild": {
        "imageRef": OTHER_IMAGE, "name": "rebuilt", "metadata": {"r": "1"},
        "accessIPv4": "10.0.0.9", "adminPass": "ignored-pw"}})
    assert resp.status_code == 202, resp.get_json()
    body = resp.get_json()["server"]
    assert (body["status"], body["name"], body["image"]["id"], body["metadata"],
            body["accessIPv4"], body["adminPass"]) == (
        "REBUILD", "rebuilt", OTHER_IMAGE, {"r": "1"}, "10.0.0.9", "ignored-pw")
    env.work()
    shown = show(env, sid)
    assert (shown["status"], shown["image"]["id"]) == ("ACTIVE", OTHER_IMAGE)
    assert ("rebuild", sid) in env.driver.calls
    assert str(env.agent.instances_path / "_base" / OTHER_IMAGE) in (
        inst_dir / "disk").read_text()
    assert (inst_dir / "disk.eph0").read_bytes() == b"ephemeral data"
    assert (inst_dir / "disk.eph0").stat().st_ino == inode
    assert env.driver.volumes[sid] == {"/dev/vdc": VOLUME_IDS[0]}
    assert [v["id"] for v in shown["os-extended-volumes:volumes_attached"]] == [VOLUME_IDS[0]]


def test_rebuild_of_a_stopped_server_ends_stopped(env, sid):
    act(env.alice, sid, {"os-stop": None})
    env.work()
    assert act(env.alice, sid, {"rebuild": {"imageRef": OTHER_IMAGE}}).status_code == 202
    assert status(env, sid) == "REBUILD"
    env.work()
    assert (status(env, sid), env.driver.guests[sid]) == ("SHUTOFF", 4)


def test_rebuild_fields_per_microversion(env, sid):
    err(act(env.alice, sid, {"rebuild": {"imageRef": IMAGE_ID, "description": "d"}}, "2.18"),
        400, "Additional properties are not allowed")
    err(act(env.alice, sid, {"rebuild": {"imageRef": IMAGE_ID, "key_name": None}}, "2.53"),
        400, "Additional properties are not allowed")
    err(act(env.alice, sid, {"rebuild": {"imageRef": IMAGE_ID, "key_name": "k"}}, "2.54"),
        400, "Invalid key_name provided")
    err(act(env.alice, sid, {"rebuild": {"imageRef": IMAGE_ID, "user_data": "!!"}}, "2.57"),
        400, "user_data")
    err(act(env.alice, sid, {"rebuild": {"imageRef": IMAGE_ID, "personality": []}}, "2.57"),
        400, "Additional properties are not allowed")
    resp = act(env.alice, sid, {"rebuild": {"imageRef": IMAGE_ID, "description": "new",
                                            "key_name": None, "user_data": "aGk="}}, "2.57")
    assert resp.status_code == 202, resp.get_json()
    body = resp.get_json()["server"]
    assert (body["description"], body["key_name"], body["user_data"]) == ("new", None, "aGk=")
    assert "OS-EXT-STS:vm_state" not in body  # the short body before 2.75
    env.work()
    full = act(env.alice, sid, {"rebuild": {"imageRef": IMAGE_ID}}, "2.75").get_json()
    assert {"OS-EXT-STS:vm_state", "user_data", "adminPass"} <= set(full["server"])
    assert full["server"]["user_data"] == "aGk="


def test_rebuild_with_a_key_pair_rewrites_the_config_drive(env):
    import json

    sid = env.create_server(config_drive=True, user_data="aGk=")
    resp = env.alice.post("/v2.1/os-keypairs", json={"keypair": {"name": "k"}})
    assert resp.status_code == 200, resp.get_json()
    public_key = resp.get_json()["keypair"]["public_key"]
    resp = act(env.alice, sid, {"rebuild": {"imageRef": OTHER_IMAGE, "name": "new-name",
                                            "key_name": "k", "user_data": "aG8="}}, "2.57")
    assert resp.status_code == 202, resp.get_json()
    assert resp.get_json()["server"]["key_name"] == "k"
    env.work()
    files = env.driver.config_drives[sid].files
    meta = json.loads(files["openstack/latest/meta_data.json"])
    assert (meta["name"], meta["public_keys"]) == ("new-name", {"k": public_key})
    assert files["openstack/latest/user_data"] == b"ho"
    act(env.alice, sid, {"rebuild": {"imageRef": OTHER_IMAGE, "key_name": None}}, "2.54")
    env.work()
    meta = json.loads(env.driver.config_drives[sid].files["openstack/latest/meta_data.json"])
    assert meta["public_keys"] == {} and show(env, sid)["key_name"] is None


def test_rebuild_refusals(env, sid):
    err(act(env.alice, sid, {"rebuild": {}}), 400, "'imageRef' is a required property")
    err(act(env.alice, sid, {"rebuild": {"imageRef": "5e7c8a46-0000-4b8e-9d4c-000000000000"}}),
        400, "could not be found")
    env.images.images[OTHER_IMAGE]["min_ram"] = 100000
    err(act(env.alice, sid, {"rebuild": {"imageRef": OTHER_IMAGE}}), 400,
        "Flavor's memory is too small")
    env.images.images[OTHER_IMAGE].update(min_ram=0, hw_firmware_type="uefi")
    err(act(env.alice, sid, {"rebuild": {"imageRef": OTHER_IMAGE}}), 400, "hw_firmware_type")
    act(env.alice, sid, {"pause": None})
    env.work()
    err(act(env.alice, sid, {"rebuild": {"imageRef": IMAGE_ID}}), 409,
        f"Cannot 'rebuild' instance {sid} while it is in vm_state paused")
    assert show(env, sid)["image"]["id"] == IMAGE_ID  # nothing recorded


def test_a_failed_rebuild_is_error_with_a_fault(env, sid):
    env.driver.fail_at = "rebuild"
    act(env.alice, sid, {"rebuild": {"imageRef": OTHER_IMAGE}})
    env.work()
    shown = show(env, sid)
    assert (shown["status"], shown["OS-EXT-STS:task_state"]) == ("ERROR", None)
    assert "injected failure" in shown["fault"]["message"]
    env.driver.fail_at = None
    assert act(env.alice, sid, {"rebuild": {"imageRef": OTHER_IMAGE}}).status_code == 202
    env.work()
    assert status(env, sid) == "ACTIVE"  # a rebuild is how an ERROR server comes back


# -- rescue ------------------------------------------------------------------------------------
def test_rescue_and_unrescue(env, sid):
    resp = act(env.alice, sid, {"rescue": {"adminPass": "pw"}})
    assert (resp.status_code, resp.get_json()) == (200, {"adminPass": "pw"})
    env.work()
    shown = show(env, sid)
    assert (shown["status"], shown["OS-EXT-STS:vm_state"]) == ("RESCUE", "rescued")
    inst_dir = env.agent.instances_path / sid
    assert str(env.agent.instances_path / "_base" / IMAGE_ID) in (
        inst_dir / "disk.rescue").read_text()
    for body in ({"reboot": {"type": "HARD"}}, {"rebuild": {"imageRef": IMAGE_ID}},
                 {"rescue": None}, {"pause": None}):
        err(act(env.alice, sid, body), 409, "vm_state rescued")
    err(env.alice.post(f"/v2.1/servers/{sid}/os-volume_attachments",
                       json={"volumeAttachment": {"volumeId": VOLUME_IDS[0]}}), 409,
        "vm_state rescued")
    assert act(env.alice, sid, {"unrescue": None}).status_code == 202
    env.work()
    assert status(env, sid) == "ACTIVE" and not (inst_dir / "disk.rescue").exists()
    err(act(env.alice, sid, {"unrescue": None}), 409, "vm_state active")


def test_rescue_from_another_image_and_refusals(env, sid):
    err(act(env.alice, sid, {"rescue": {"rescue_image_ref": "nope"}}), 400,
        "rescue_image_ref")
    env.images.images[OTHER_IMAGE]["hw_firmware_type"] = "uefi"
    err(act(env.alice, sid, {"rescue": {"rescue_image_ref": OTHER_IMAGE}}), 400,
        "hw_firmware_type")
    del env.images.images[OTHER_IMAGE]["hw_firmware_type"]
    assert act(env.alice, sid, {"rescue": {"rescue_image_ref": OTHER_IMAGE}}
               ).status_code == 200
    env.work()
    assert OTHER_IMAGE in (env.agent.instances_path / sid / "disk.rescue").read_text()
    assert show(env, sid)["image"]["id"] == IMAGE_ID  # the server's image is unchanged
    assert env.alice.delete(f"/v2.1/servers/{sid}").status_code == 204
    env.work()
    err(env.alice.get(f"/v2.1/servers/{sid}"), 404, "could not be found")


def test_a_failed_rescue_is_error_with_a_fault(env, sid):
    env.driver.fail_at = "rescue"
    act(env.alice, sid, {"rescue": None})
    env.work()
    shown = show(env, sid)
    assert (shown["status"], shown["OS-EXT-STS:task_state"]) == ("ERROR", None)
    assert "injected failure" in shown["fault"]["message"]


# -- createBackup ----------------------------------------------------------------------------
def _backups(env, sid: str) -> list[dict]:
    return env.images.list({"instance_uuid": sid, "image_type": "backup"})


def test_backups_rotate(env, sid):
    made = []
    for i in range(3):
        resp = act(env.alice, sid, {"createBackup": {
            "name": f"b{i}", "backup_type": "daily", "rotation": 2}}, "2.45")
        assert resp.status_code == 202, resp.get_json()
        made.append(resp.get_json()["image_id"])
        assert show(env, sid)["OS-EXT-STS:task_state"] == "image_backup"
        env.work()
        assert status(env, sid) == "ACTIVE"
    kept = _backups(env, sid)
    assert [b["id"] for b in kept] == [made[2], made[1]]
    assert all(b["backup_type"] == "daily" and b["status"] == "active" for b in kept)
    # another type rotates on its own; rotation 0 keeps none of that type
    resp = act(env.alice, sid, {"createBackup": {"name": "w", "backup_type": "weekly",
                                                 "rotation": "0"}})
    assert resp.status_code == 202 and "Location" not in resp.headers
    env.work()
    assert [b["id"] for b in _backups(env, sid)] == [made[2], made[1]]
    resp = act(env.alice, sid, {"createBackup": {"name": "w", "backup_type": "weekly",
                                                 "rotation": 1}})
    assert resp.headers["Location"].endswith(f"/v2/images/{_backups(env, sid)[0]['id']}")


def test_backup_refusals(env, sid):
    err(act(env.alice, sid, {"createBackup": {"name": "b", "backup_type": "daily"}}), 400,
        "'rotation' is a required property")
    err(act(env.alice, sid, {"createBackup": {"name": "b", "backup_type": "daily",
                                              "rotation": -1}}), 400, "rotation")
    act(env.alice, sid, {"suspend": None})
    env.work()
    assert act(env.alice, sid, {"createBackup": {"name": "b", "backup_type": "d",
                                                 "rotation": 1}}).status_code == 202
    err(act(env.alice, sid, {"createBackup": {"name": "b", "backup_type": "d",
                                              "rotation": 1}}), 409, "createBackup")


# -- soft delete -----------------------------------------------------------------------------
@pytest.fixture
def soft(env, monkeypatch):
    """Deletes are soft for an hour."""
    env.app.extensions["compute"].service.reclaim_interval = 3600
    monkeypatch.setattr(env.agent.conf.compute, "reclaim_instance_interval", 3600)
    return env


def test_soft_delete_keeps_everything_and_restore_brings_it_back(soft, sid):
    env = soft
    assert env.alice.delete(f"/v2.1/servers/{sid}").status_code == 204
    env.work()
    shown = show(env, sid)
    assert (shown["status"], shown["OS-EXT-STS:vm_state"],
            shown["OS-EXT-STS:power_state"]) == ("SOFT_DELETED", "soft-delete", 4)
    assert (env.agent.instances_path / sid / "disk.eph0").exists()
    assert env.driver.guests[sid] == 4
    with env.db.session() as s:
        assert s.get(Allocation, sid) is not None
    usage = env.alice.get(f"/v2.1/os-quota-sets/{env.alice.project_id}/detail").get_json()
    assert usage["quota_set"]["instances"]["in_use"] == 1  # Nova counts it too
    listed = env.alice.get("/v2.1/servers?status=SOFT_DELETED").get_json()["servers"]
    assert [s["id"] for s in listed] == [sid]
    err(act(env.alice, sid, {"os-start": None}), 409, "vm_state soft-delete")
    assert act(env.alice, sid, {"restore": None}).status_code == 202
    env.work()
    assert (status(env, sid), env.driver.guests[sid]) == ("ACTIVE", 1)
    err(act(env.alice, sid, {"restore": None}), 409,
        f"Cannot 'restore' instance {sid} while it is in vm_state active")


def test_force_delete_and_a_second_delete_remove_it_now(soft, compute_env):
    env = soft
    first, second = env.create_server(name="a"), env.create_server(name="b")
    for sid in (first, second):
        env.alice.delete(f"/v2.1/servers/{sid}")
    env.work()
    assert act(env.alice, first, {"forceDelete": None}).status_code == 202
    assert env.alice.delete(f"/v2.1/servers/{second}").status_code == 204
    env.work()
    for sid in (first, second):
        err(env.alice.get(f"/v2.1/servers/{sid}"), 404, "could not be found")
        assert sid not in env.driver.guests
        assert not (env.agent.instances_path / sid).exists()
    with env.db.session() as s:
        assert s.scalars(select(Allocation)).all() == []


def test_the_agent_reclaims_soft_deleted_servers_after_the_interval(soft, sid):
    env = soft
    young = env.create_server(name="young")
    for server_id in (sid, young):
        env.alice.delete(f"/v2.1/servers/{server_id}")
    env.work()
    with env.db.session() as s:
        s.execute(update(Instance).where(Instance.id == sid).values(
            deleted_at=dt.datetime.now(dt.UTC).replace(tzinfo=None)
            - dt.timedelta(seconds=3601)))
    assert env.agent.reclaim_soft_deleted() == 1
    assert env.agent.reclaim_soft_deleted() == 0  # taken once
    env.work()
    err(env.alice.get(f"/v2.1/servers/{sid}"), 404, "could not be found")
    assert sid not in env.driver.guests
    assert status(env, young) == "SOFT_DELETED"


def test_a_locked_soft_deleted_server_is_not_force_deleted_by_its_owner(soft, sid):
    env = soft
    env.alice.delete(f"/v2.1/servers/{sid}")
    env.work()
    act(env.admin, sid, {"lock": None})
    err(act(env.alice, sid, {"forceDelete": None}), 409, "is locked")
    err(act(env.alice, sid, {"restore": None}), 409, "is locked")
    assert act(env.admin, sid, {"forceDelete": None}).status_code == 202
    env.work()
    err(env.admin.get(f"/v2.1/servers/{sid}"), 404, "could not be found")


def test_without_an_interval_delete_is_immediate_and_restore_refused(env, sid):
    env.alice.delete(f"/v2.1/servers/{sid}")
    env.work()
    err(env.alice.get(f"/v2.1/servers/{sid}"), 404, "could not be found")
    other = env.create_server(name="o")
    err(act(env.alice, other, {"restore": None}), 409, "vm_state active")
    err(act(env.alice, "5e7c8a46-0000-4b8e-9d4c-000000000000", {"forceDelete": None}), 404,
        "could not be found")


# -- addresses and password ----------------------------------------------------------------
def test_addresses_and_password(env, sid):
    base = f"/v2.1/servers/{sid}"
    assert env.reader.get(f"{base}/ips").get_json() == {"addresses": {}}
    err(env.alice.get(f"{base}/ips/private"), 404, "no such network")
    assert env.reader.get(f"{base}/os-server-password").get_json() == {"password": ""}
    assert env.alice.delete(f"{base}/os-server-password").status_code == 204
    err(env.bob.get(f"{base}/ips"), 404, "could not be found")
    err(env.alice.get("/v2.1/servers/5e7c8a46-0000-4b8e-9d4c-000000000000/ips"), 404,
        "could not be found")


# -- against Tempest's own validator -------------------------------------------------------
REBUILD_VERSIONS = ("2.1", "2.9", "2.16", "2.19", "2.26", "2.47", "2.54", "2.57", "2.63",
                    "2.71", "2.73", "2.75", "2.79", "2.89", "2.96")


def test_bodies_pass_tempest_schemas(env, sid, tmp_path):
    from tests.tempest_schemas import COMPUTE_CLIENTS as CLIENTS
    from tests.tempest_schemas import assert_valid

    servers = f"{CLIENTS}.servers_client.ServersClient"
    cases = []

    def add(op: str, version: str, resp) -> None:
        assert resp.status_code < 300, (op, version, resp.get_json())
        cases.append({"client": servers, "op": op, "version": version,
                      "status": resp.status_code, "body": resp.get_json()})

    for version in REBUILD_VERSIONS:
        for who in (env.alice, env.admin):
            add("rebuild_server_with_admin_pass", version,
                act(who, sid, {"rebuild": {"imageRef": OTHER_IMAGE}}, version))
            env.work()
        add("get_server", version, env.alice.get(f"/v2.1/servers/{sid}", headers=mv(version)))
    # Tempest's client checks these two against its 2.1 schemas at every version
    add("list_addresses", "2.1", env.alice.get(f"/v2.1/servers/{sid}/ips"))
    add("show_password", "2.1", env.alice.get(f"/v2.1/servers/{sid}/os-server-password"))
    add("rescue_server_with_admin_pass", "2.1", act(env.alice, sid, {"rescue": None}))
    env.work()
    act(env.alice, sid, {"unrescue": None})
    env.work()
    act(env.alice, sid, {"lock": {"locked_reason": "why"}}, "2.73")
    act(env.alice, sid, {"pause": None})
    env.work()
    for version in ("2.9", "2.73", "2.96"):
        add("get_server", version, env.alice.get(f"/v2.1/servers/{sid}", headers=mv(version)))
        add("list_servers_detail", version,
            env.alice.get("/v2.1/servers/detail", headers=mv(version)))
    assert_valid(cases, tmp_path)


def test_the_actions_are_in_the_event_log(env, sid):
    for body in ({"lock": None}, {"unlock": None}, {"pause": None}):
        act(env.alice, sid, body)
    env.work()
    logged = env.alice.get(f"/v2.1/servers/{sid}/os-instance-actions").get_json()
    assert [a["action"] for a in logged["instanceActions"]][:3] == ["pause", "unlock", "lock"]


def test_an_admin_resets_a_servers_state_and_lists_no_migrations(compute_env):
    """``os-resetState`` sets the vm_state an admin names and clears the task (nothing on
    the host changes); ``os-migrations`` lists none: nothing resizes or migrates here."""
    env = compute_env
    server_id = env.create_server()
    action = f"/v2.1/servers/{server_id}/action"
    assert env.admin.post(action, json={"os-resetState": {"state": "error"}}
                          ).status_code == 202
    assert env.alice.get(f"/v2.1/servers/{server_id}").get_json()["server"]["status"] == \
        "ERROR"
    assert env.admin.post(action, json={"os-resetState": {"state": "active"}}
                          ).status_code == 202
    assert env.alice.get(f"/v2.1/servers/{server_id}").get_json()["server"]["status"] == \
        "ACTIVE"
    assert env.admin.post(action, json={"os-resetState": {"state": "deleted"}}
                          ).status_code == 400
    missing = "/v2.1/servers/00000000-0000-0000-0000-000000000000/action"
    assert env.admin.post(missing, json={"os-resetState": {"state": "error"}}
                          ).status_code == 404
    assert env.admin.get("/v2.1/os-migrations").get_json() == {"migrations": []}
