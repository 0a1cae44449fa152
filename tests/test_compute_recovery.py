"""Recovery you can see (issue 12): a failed delete runs again, a build no task will ever
finish goes to ERROR with a fault, an interrupted snapshot leaves no image or file, a guest
removed behind the cloud's back puts its server in ERROR with a fault. In-process on the
fake driver; time is moved by back-dating rows."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, update

from compute import recovery
from compute.models import ComputeTask, Instance
from minicloud.db import utcnow
from minicloud.errors import ServiceUnavailable
from minicloud.taskqueue import RUNNING
from tests.compute_fixtures import *  # noqa: F403
from tests.compute_fixtures import VOLUME_IDS


def show(env, sid: str) -> dict:
    return env.alice.get(f"/v2.1/servers/{sid}").get_json()["server"]


def backdate(env, seconds: float, *where) -> None:
    with env.db.session() as s:
        old = utcnow() - dt.timedelta(seconds=seconds)
        s.execute(update(ComputeTask).where(*where).values(updated_at=old))


def test_a_delete_the_volume_service_refused_runs_again(compute_env):
    env = compute_env
    sid = env.create_server(block_device_mapping_v2=[
        {"boot_index": 0, "uuid": "5e7c8a46-6f4f-4b8e-9d4c-7d0b1b1e0001",
         "source_type": "image", "destination_type": "local"},
        {"uuid": VOLUME_IDS[0], "source_type": "volume", "destination_type": "volume"}])
    assert env.volumes.status[VOLUME_IDS[0]] == "in-use"
    plain = env.volumes.delete_attachment

    def down(_attachment_id: str) -> None:
        raise ServiceUnavailable("The volume service is unavailable.")

    env.volumes.delete_attachment = down
    assert env.alice.delete(f"/v2.1/servers/{sid}").status_code == 204
    env.work()
    assert show(env, sid)["OS-EXT-STS:task_state"] == "deleting"
    assert env.agent.retry_failed_deletes() == 0  # not before DELETE_RETRY seconds
    backdate(env, recovery.DELETE_RETRY + 1, ComputeTask.instance_id == sid)
    env.volumes.delete_attachment = plain            # the volume service is back
    assert env.agent.retry_failed_deletes() == 1
    env.work()
    assert env.alice.get(f"/v2.1/servers/{sid}").status_code == 404
    assert env.volumes.status[VOLUME_IDS[0]] == "available"
    assert env.agent.retry_failed_deletes() == 0


def _lose(env, sid: str, host: str | None) -> None:
    """What a compute API worker killed mid-create leaves: BUILD, no task."""
    with env.db.session() as s:
        s.execute(delete(ComputeTask).where(ComputeTask.instance_id == sid))
        s.execute(update(Instance).where(Instance.id == sid).values(
            host=host, updated_at=utcnow() - dt.timedelta(seconds=recovery.LOST_BUILD_AFTER
                                                          + 1)))


def test_a_build_no_host_took_goes_to_error_and_frees_its_volume(compute_env):
    env = compute_env
    sid = env.create_server(active=False, block_device_mapping_v2=[
        {"boot_index": 0, "uuid": "5e7c8a46-6f4f-4b8e-9d4c-7d0b1b1e0001",
         "source_type": "image", "destination_type": "local"},
        {"uuid": VOLUME_IDS[1], "source_type": "volume", "destination_type": "volume"}])
    assert env.volumes.status[VOLUME_IDS[1]] == "reserved"
    fresh = env.create_server(name="fresh", active=False)
    _lose(env, sid, host=None)
    with env.db.session() as s:  # a build in progress right now is left alone
        s.execute(delete(ComputeTask).where(ComputeTask.instance_id == fresh))
    assert env.agent.fail_lost_builds() == 1
    shown = show(env, sid)
    assert shown["status"] == "ERROR"
    assert "The build was lost before it reached a host" in shown["fault"]["message"]
    assert env.volumes.status[VOLUME_IDS[1]] == "available"
    assert show(env, fresh)["status"] == "BUILD"
    assert env.alice.delete(f"/v2.1/servers/{sid}").status_code == 204
    env.work()
    assert env.alice.get(f"/v2.1/servers/{sid}").status_code == 404


def test_a_placed_build_without_its_spawn_is_lost_too(compute_env):
    env = compute_env
    sid = env.create_server(active=False)
    _lose(env, sid, host="node1")
    env.agent.periodic()
    assert show(env, sid)["status"] == "ERROR"
    with env.db.session() as s:
        assert s.get(Instance, sid).host == "node1"


def test_an_interrupted_snapshot_leaves_no_image_and_no_file(compute_env):
    env = compute_env
    sid = env.create_server()
    resp = env.alice.post(f"/v2.1/servers/{sid}/action", json={"createImage": {"name": "s"}})
    image_id = resp.headers["Location"].rsplit("/", 1)[1]
    assert image_id in env.images.images
    partial = env.agent.instances_path / sid / f"snapshot-{image_id}"
    partial.write_bytes(b"half a snapshot")
    with env.db.session() as s:  # the agent was killed while it ran
        s.execute(update(ComputeTask).where(ComputeTask.instance_id == sid,
                                            ComputeTask.action == "snapshot")
                  .values(state=RUNNING))
    env.agent.init_host()
    assert image_id not in env.images.images and not partial.exists()
    shown = show(env, sid)
    assert (shown["status"], shown["OS-EXT-STS:task_state"]) == ("ACTIVE", None)


def test_a_guest_removed_behind_the_clouds_back(compute_env):
    env = compute_env
    sid = env.create_server()
    env.driver.guests.pop(sid)  # virsh undefine
    assert env.alice.post(f"/v2.1/servers/{sid}/action",
                          json={"reboot": {"type": "HARD"}}).status_code == 202
    env.work()
    shown = show(env, sid)
    assert shown["status"] == "ERROR"
    assert "guest is missing from its hypervisor" in shown["fault"]["message"]
