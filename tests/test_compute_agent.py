"""Compute service + agent on the fake driver: lifecycle, claims, failures, reconciliation."""
from __future__ import annotations

import hashlib
import os
import time

import pytest
from sqlalchemy import select

from compute import flavors, states
from compute.agent import Agent
from compute.block_devices import BootRequest, RootVolume, VolumeRequest
from compute.create import ServerRequest
from compute.driver import SPAWN_STEPS, FakeDriver
from compute.models import Allocation, ComputeTask, Instance
from compute.service import ComputeService
from minicloud.config import Config
from minicloud.db import Database
from minicloud.errors import BadRequest, Conflict, Forbidden, NotFound, ServiceUnavailable
from minicloud.identity.service import IdentityService
from minicloud.identity.tokens import TokenProvider, ensure_key

RAW = b"\0" * 4096 + b"minicloud" * 100


class FakeImages:
    """The image API as the compute side sees it (metadata, data, snapshots)."""

    def __init__(self) -> None:
        self.images = {"img": self._meta("img", RAW)}
        self.uploads: dict[str, bytes] = {}
        self.downloads = 0

    @staticmethod
    def _meta(image_id: str, data: bytes, **extra) -> dict:
        return {"id": image_id, "status": "active", "disk_format": "raw", "min_ram": 0,
                "min_disk": 0, "size": len(data), "virtual_size": len(data),
                "checksum": hashlib.md5(data).hexdigest(), "os_hash_algo": "sha512",
                "os_hash_value": hashlib.sha512(data).hexdigest(), **extra}

    def get(self, image_id):
        if image_id not in self.images:
            raise NotFound(f"image {image_id}")
        return self.images[image_id]

    def download(self, image_id, chunk_size=1 << 20):
        self.downloads += 1
        yield RAW

    def create(self, body):
        image_id = f"snap-{len(self.images)}"
        self.images[image_id] = dict(body, id=image_id, status="queued")
        return self.images[image_id]

    def upload(self, image_id, chunks):
        self.uploads[image_id] = b"".join(chunks)
        self.images[image_id]["status"] = "active"

    def delete(self, image_id):
        self.images.pop(image_id, None)


@pytest.fixture
def env(tmp_path):
    (tmp_path / "minicloud.conf").write_text(
        "[compute]\nhost = node1\nvcpus = 4\nmemory_mib = 1024\ndisk_gb = 10\n"
        "cpu_allocation_ratio = 1\n")
    conf = Config.load(tmp_path, environ={})
    db = Database(conf.database_url)
    db.upgrade()
    ident = IdentityService(db)
    ident.bootstrap("admin", "admin", "pw")
    ident.create_project("demo")
    ident.create_user("alice", "pw", "demo", "member")
    tokens = TokenProvider(db, ensure_key(tmp_path))
    images = FakeImages()
    svc = ComputeService(db, lambda _token: images)
    svc.sync_flavors(flavors.load())
    driver = FakeDriver()
    agent = Agent(conf, db, driver, lambda: images)
    agent.register()
    alice = tokens.issue(ident.get_user("alice").id, ident.get_project("demo").id)
    yield svc, agent, driver, images, alice, db
    db.dispose()


def work(agent: Agent) -> int:
    """Run every pending task now; return how many ran."""
    count = 0
    while (task := agent.queue.take()) is not None:
        agent.run_task(task)
        count += 1
    return count


def request(name="vm", flavor="6", image="img", volumes=(), root=None, **kw) -> ServerRequest:
    """A create request: from ``image`` on local disk, or from the ``root`` volume."""
    return ServerRequest(name=name, flavor_ref=flavor, boot=BootRequest(
        None if root else image, root, tuple(VolumeRequest(v) for v in volumes)), **kw)


def boot(svc, ctx, flavor="6", name="vm"):
    return svc.create_server(ctx, request(name, flavor))


def test_lifecycle_spawn_stop_start_reboot_delete(env):
    svc, agent, driver, images, alice, db = env
    inst = boot(svc, alice)
    assert (inst.vm_state, inst.task_state, inst.host) == ("building", "scheduling", "node1")
    assert work(agent) == 1
    inst = svc.get_server(alice, inst.id)
    assert states.api_status(inst.vm_state, inst.task_state) == "ACTIVE"
    assert inst.power_state == states.RUNNING and inst.launched_at
    inst_dir = agent.instances_path / inst.id
    assert (inst_dir / "disk").exists() and (inst_dir / "disk.eph0").exists()
    base = agent.instances_path / "_base" / "img"
    assert base.read_bytes() == RAW and base.stat().st_mode & 0o222 == 0  # read-only

    for action, expected in (("stop", "SHUTOFF"), ("start", "ACTIVE"),
                             ("reboot_hard", "ACTIVE"), ("reboot_soft", "ACTIVE")):
        svc.start_action(alice, inst.id, action)
        work(agent)
        inst = svc.get_server(alice, inst.id)
        assert states.api_status(inst.vm_state, inst.task_state) == expected, action

    svc.delete_server(alice, inst.id)
    work(agent)
    with pytest.raises(NotFound):
        svc.get_server(alice, inst.id)
    assert not inst_dir.exists() and base.read_bytes() == RAW
    with db.session() as s:
        assert s.get(Allocation, inst.id) is None


def test_second_instance_reuses_cached_base(env):
    svc, agent, _, images, alice, _ = env
    boot(svc, alice, name="a")
    boot(svc, alice, name="b")
    assert work(agent) == 2
    assert images.downloads == 1


def test_conflicting_action_is_409(env):
    svc, agent, _, _, alice, _ = env
    inst = boot(svc, alice)
    work(agent)
    with pytest.raises(Conflict, match="Cannot 'os-start' instance .* vm_state active"):
        svc.start_action(alice, inst.id, "start")
    svc.start_action(alice, inst.id, "stop")
    with pytest.raises(Conflict, match="task_state powering-off"):
        svc.start_action(alice, inst.id, "reboot_hard")


@pytest.mark.parametrize("step", SPAWN_STEPS)
def test_spawn_failure_at_each_step_leaves_nothing(env, step):
    svc, agent, driver, _, alice, db = env
    driver.fail_at = step
    inst = boot(svc, alice)
    work(agent)
    inst = svc.get_server(alice, inst.id)
    assert inst.vm_state == "error" and inst.task_state is None
    assert inst.fault["message"] == f"injected failure at {step}"
    assert "/" not in inst.fault["message"]  # no host paths
    assert not (agent.instances_path / inst.id).exists()
    assert inst.id not in driver.guests
    with db.session() as s:
        assert s.get(Allocation, inst.id) is None
    svc.delete_server(alice, inst.id)
    work(agent)
    with pytest.raises(NotFound):
        svc.get_server(alice, inst.id)


def test_no_valid_host(env):
    svc, agent, _, _, alice, _ = env
    inst = boot(svc, alice, flavor="1")  # 512 MiB fits
    inst2 = boot(svc, alice, flavor="1", name="second")  # 1024 MiB host: still fits
    inst3 = boot(svc, alice, flavor="1", name="third")
    assert inst.host and inst2.host
    assert inst3.vm_state == "error" and inst3.host is None
    assert inst3.fault["message"].startswith("No valid host was found.")
    assert "not enough RAM" in inst3.fault["message"]
    svc.delete_server(alice, inst3.id)  # never scheduled: deleted at once
    with pytest.raises(NotFound):
        svc.get_server(alice, inst3.id)


@pytest.mark.parametrize("image_patch, message", [
    ({"status": "queued"}, "is not active"),
    ({"min_ram": 4096}, "memory is too small"),
    ({"min_disk": 5}, "disk is too small"),
    ({"virtual_size": 3 * 1024 ** 3}, "Flavor disk is 1073741824 bytes"),
])
def test_image_must_fit_the_flavor(env, image_patch, message):
    svc, _, _, images, alice, _ = env
    images.images["img"].update(image_patch)
    with pytest.raises(BadRequest, match=message):
        boot(svc, alice)


def test_unknown_image_and_flavor(env):
    svc, _, _, _, alice, _ = env
    with pytest.raises(BadRequest, match="Image nope could not be found"):
        svc.create_server(alice, request("x", "1", "nope"))
    with pytest.raises(BadRequest, match="Flavor 99 could not be found"):  # Nova's 400
        svc.create_server(alice, request("x", "99"))


def test_restart_fails_interrupted_build_and_finishes_interrupted_delete(env):
    svc, agent, driver, images, alice, db = env
    building = boot(svc, alice, name="building")
    task = agent.queue.take()  # the agent dies while running this spawn
    assert task.action == "spawn"
    doomed = boot(svc, alice, name="doomed")
    work(agent)
    svc.delete_server(alice, doomed.id)
    taken = agent.queue.take()  # dies during the delete
    assert taken.action == "delete"

    restarted = Agent(agent.conf, db, driver, lambda: images)
    restarted.init_host()
    work(restarted)
    inst = svc.get_server(alice, building.id)
    assert inst.vm_state == "error" and "restart" in inst.fault["message"]
    with pytest.raises(NotFound):
        svc.get_server(alice, doomed.id)
    assert doomed.id not in driver.guests
    with db.session() as s:
        states_ = dict(s.execute(select(ComputeTask.action, ComputeTask.state)
                                 .where(ComputeTask.instance_id == doomed.id)).all())
    assert states_["delete"] == "done"


def test_restart_removes_guests_of_deleted_instances(env):
    svc, agent, driver, _, alice, db = env
    inst = boot(svc, alice)
    work(agent)
    with db.session() as s:  # the catalog says deleted, but the guest survived
        s.get(Instance, inst.id).vm_state = "deleted"
    agent.init_host()
    assert inst.id not in driver.guests


def test_power_sync_marks_a_guest_that_powered_off(env):
    svc, agent, driver, _, alice, _ = env
    inst = boot(svc, alice)
    work(agent)
    driver.guests[inst.id] = states.SHUTDOWN  # the guest ran `poweroff`
    agent.sync_power_states()
    inst = svc.get_server(alice, inst.id)
    assert (inst.vm_state, inst.power_state) == ("stopped", states.SHUTDOWN)


def test_snapshot_uploads_and_keeps_source(env):
    svc, agent, _, images, alice, _ = env
    inst = boot(svc, alice)
    work(agent)
    image_id = svc.snapshot(alice, inst.id, "snap", {"purpose": "lab"})
    assert images.images[image_id]["image_type"] == "snapshot"
    assert images.images[image_id]["instance_uuid"] == inst.id
    assert images.images[image_id]["base_image_ref"] == "img"
    assert images.images[image_id]["purpose"] == "lab"
    work(agent)
    assert images.uploads[image_id].startswith(b"QFI\xfb")  # a qcow2
    assert svc.get_server(alice, inst.id).task_state is None


def test_image_cache_manager_removes_unused_bases_after_age(env):
    svc, agent, _, _, alice, _ = env
    inst = boot(svc, alice)
    work(agent)
    base = agent.instances_path / "_base" / "img"
    old = time.time() - 10 * 86400
    os.utime(base, (old, old))
    agent.manage_image_cache()
    assert base.exists(), "in use"
    svc.delete_server(alice, inst.id)
    work(agent)
    agent.manage_image_cache()
    assert not base.exists()


def test_project_isolation(env):
    svc, agent, _, _, alice, db = env
    inst = boot(svc, alice)
    ident = IdentityService(db)
    admin_ctx = TokenProvider(db, ensure_key(agent.conf.state_dir)).issue(
        ident.get_user("admin").id, ident.get_project("admin").id)
    ident.create_user("bob", "pw", "admin", "member")
    bob = TokenProvider(db, ensure_key(agent.conf.state_dir)).issue(
        ident.get_user("bob").id, ident.get_project("admin").id)
    with pytest.raises(NotFound):
        svc.get_server(bob, inst.id)
    assert svc.list_servers(bob) == []
    assert [i.id for i in svc.list_servers(admin_ctx, all_projects=True)] == [inst.id]


class FakeVolumes:
    """The volume service's attachments flow as compute sees it."""

    def __init__(self) -> None:
        self.status = {"vol1": "available", "vol2": "available", "boot1": "available"}
        self.bootable = {"boot1": {"image_id": "img", "hw_disk_bus": "virtio",
                                   "min_ram": "64"}}  # volume -> volume_image_metadata
        self.attachments: dict[str, str] = {}  # attachment id -> volume id
        self.created: list[dict] = []
        self.fail_at: str | None = None
        self.made = "available"  # what a volume made from an image becomes

    def get(self, volume_id):
        if volume_id not in self.status:
            raise NotFound(f"Volume {volume_id} could not be found.")
        meta = self.bootable.get(volume_id)
        return {"id": volume_id, "status": self.status[volume_id],
                "bootable": "true" if meta else "false", "volume_image_metadata": meta}

    def create(self, body):
        volume_id = f"made-{len(self.created)}"
        self.created.append(dict(body, id=volume_id))
        self.status[volume_id] = self.made
        self.bootable[volume_id] = {"image_id": body["imageRef"]}
        return {"id": volume_id, "status": "creating"}

    def delete(self, volume_id):
        if self.status.get(volume_id) not in ("available", "error", None):
            raise BadRequest(f"Invalid volume: {volume_id} is {self.status[volume_id]}")
        self.status.pop(volume_id, None)

    def reserve(self, volume_id, instance_id):
        if self.status[volume_id] != "available":
            raise BadRequest(f"Invalid volume: {volume_id} status must be available")
        self.status[volume_id] = "reserved"
        attachment_id = f"att-{len(self.attachments)}"
        self.attachments[attachment_id] = volume_id
        return attachment_id

    def connect(self, attachment_id, host, device):
        if self.fail_at == "connect":
            raise BadRequest("injected failure at connect")
        from volumes.connection import Chap, ConnectionInfo

        volume_id = self.attachments[attachment_id]
        self.status[volume_id] = "attaching"
        return ConnectionInfo.for_export(volume_id, "127.0.0.1", 3260, Chap.generate())

    def complete(self, attachment_id):
        if self.fail_at == "complete":
            raise BadRequest("injected failure at complete")
        self.status[self.attachments[attachment_id]] = "in-use"

    def delete_attachment(self, attachment_id):
        if self.fail_at == "delete_attachment":
            raise ServiceUnavailable("injected: the volume service does not answer")
        volume_id = self.attachments.pop(attachment_id, None)
        if volume_id:
            self.status[volume_id] = "available"


@pytest.fixture
def venv_(env):
    svc, agent, driver, images, alice, db = env
    volumes = FakeVolumes()
    svc.volume_client = lambda _token: volumes
    agent.volumes = lambda: volumes
    inst = boot(svc, alice)
    work(agent)
    return svc, agent, driver, volumes, alice, inst


def test_attach_and_detach_a_volume_as_vdc(venv_):
    svc, agent, driver, volumes, alice, inst = venv_
    view = svc.attach_volume(alice, inst.id, "vol1")
    assert view["device"] == "/dev/vdc"  # after vda and the ephemeral vdb
    assert volumes.status["vol1"] == "reserved"
    work(agent)
    assert volumes.status["vol1"] == "in-use"
    assert driver.volumes[inst.id] == {"/dev/vdc": "vol1"}
    server = svc.get_server(alice, inst.id)
    assert server.task_state is None and server.block_devices[0]["status"] == "attached"
    assert svc.attach_volume(alice, inst.id, "vol2")["device"] == "/dev/vdd"
    work(agent)
    svc.detach_volume(alice, inst.id, "vol1")
    work(agent)
    assert volumes.status["vol1"] == "available" and "/dev/vdc" not in driver.volumes[inst.id]
    with pytest.raises(NotFound):
        svc.detach_volume(alice, inst.id, "vol1")


def test_one_volume_attached_twice_races_to_one_winner(venv_):
    svc, agent, _, volumes, alice, inst = venv_
    second = boot(svc, alice, name="second")
    work(agent)
    svc.attach_volume(alice, inst.id, "vol1")
    with pytest.raises(BadRequest, match="status must be available"):
        svc.attach_volume(alice, second.id, "vol1")
    assert svc.get_server(alice, second.id).block_devices == []


@pytest.mark.parametrize("where", ["connect", "attach_volume", "complete"])
def test_attach_failure_at_each_step_leaves_the_volume_available(venv_, where):
    svc, agent, driver, volumes, alice, inst = venv_
    volumes.fail_at = driver.fail_at = where
    svc.attach_volume(alice, inst.id, "vol1")
    work(agent)
    assert volumes.status["vol1"] == "available" and not volumes.attachments
    server = svc.get_server(alice, inst.id)
    assert server.block_devices == [] and server.task_state is None
    assert server.vm_state == "active"
    assert driver.volumes.get(inst.id, {}) == {}


def test_a_rollback_that_fails_too_still_ends_the_task(venv_):
    svc, agent, driver, volumes, alice, inst = venv_
    svc.attach_volume(alice, inst.id, "vol1")
    driver.fail_at = "attach_volume"
    volumes.fail_at = "delete_attachment"  # the undo cannot reach the volume service
    work(agent)
    server = svc.get_server(alice, inst.id)
    assert (server.vm_state, server.task_state) == ("active", None)
    svc.start_action(alice, inst.id, "stop")  # usable again: no 409
    work(agent)
    assert svc.get_server(alice, inst.id).vm_state == "stopped"


def test_deleting_the_server_keeps_the_volume(venv_):
    svc, agent, _, volumes, alice, inst = venv_
    svc.attach_volume(alice, inst.id, "vol1")
    work(agent)
    svc.delete_server(alice, inst.id)
    work(agent)
    assert volumes.status["vol1"] == "available" and not volumes.attachments


def test_restart_during_attach_rolls_back(venv_):
    svc, agent, driver, volumes, alice, inst = venv_
    svc.attach_volume(alice, inst.id, "vol1")
    assert agent.queue.take().action == "attach_volume"  # the agent dies here
    restarted = Agent(agent.conf, agent.db, driver, agent.images, agent.volumes)
    restarted.init_host()
    assert volumes.status["vol1"] == "available"
    assert svc.get_server(alice, inst.id).task_state is None


def test_volumes_given_at_create_are_vdc_and_vdd(venv_):
    svc, agent, driver, volumes, alice, _ = venv_
    inst = svc.create_server(alice, request(
        "with-vols", volumes=["vol1", "vol2"]))
    assert [b["device"] for b in inst.block_devices] == ["/dev/vdc", "/dev/vdd"]
    work(agent)
    assert driver.volumes[inst.id] == {"/dev/vdc": "vol1", "/dev/vdd": "vol2"}
    assert (volumes.status["vol1"], volumes.status["vol2"]) == ("in-use", "in-use")
    assert {b["status"] for b in svc.get_server(alice, inst.id).block_devices} == {"attached"}


def test_a_volume_in_use_fails_the_create_and_releases_the_others(venv_):
    svc, _, _, volumes, alice, _ = venv_
    volumes.status["vol2"] = "in-use"
    with pytest.raises(BadRequest, match="status must be available"):
        svc.create_server(alice, request("x", volumes=["vol1", "vol2"]))
    assert volumes.status["vol1"] == "available"
    assert [s.name for s in svc.list_servers(alice)] == ["vm"]


def test_failed_spawn_releases_its_volumes(venv_):
    svc, agent, driver, volumes, alice, _ = venv_
    driver.fail_at = "start"
    inst = svc.create_server(alice, request("doomed", volumes=["vol1"]))
    work(agent)
    server = svc.get_server(alice, inst.id)
    assert server.vm_state == "error" and server.block_devices == []
    assert volumes.status["vol1"] == "available" and not volumes.attachments


def test_boot_from_a_volume_is_vda_over_the_volume_with_no_local_root(venv_):
    svc, agent, driver, volumes, alice, _ = venv_
    inst = svc.create_server(alice, request("bfv", root=RootVolume(volume_id="boot1"),
                                            volumes=["vol1"]))
    assert [(b["volume_id"], b["device"]) for b in inst.block_devices] == [
        ("boot1", "/dev/vda"), ("vol1", "/dev/vdc")]  # vdb is the ephemeral disk
    assert inst.image_id is None and inst.image_meta["min_ram"] == "64"
    downloads = agent.images().downloads
    work(agent)
    server = svc.get_server(alice, inst.id)
    assert server.vm_state == "active"
    assert driver.volumes[inst.id] == {"/dev/vda": "boot1", "/dev/vdc": "vol1"}
    files = sorted(p.name for p in (agent.instances_path / inst.id).iterdir())
    assert files == ["disk.eph0"]  # no local root disk, no base image fetched
    assert agent.images().downloads == downloads
    with agent.db.session() as s:  # the root disk is not claimed on the host
        assert s.get(Allocation, inst.id).disk_gb == server.flavor["ephemeral"]
    with pytest.raises(BadRequest, match="root disk"):
        svc.detach_volume(alice, inst.id, "boot1")
    # createImage snapshots the volumes (test_compute_volume_snapshot); a backup: refused
    with pytest.raises(BadRequest, match="volume-backed"):
        svc.snapshot(alice, inst.id, "snap", {}, action="backup")
    svc.delete_server(alice, inst.id)
    work(agent)
    assert volumes.status["boot1"] == "available" and volumes.status["vol1"] == "available"
    assert not volumes.attachments and not (agent.instances_path / inst.id).exists()


def test_a_volume_that_is_not_bootable_is_refused(venv_):
    svc, _, _, volumes, alice, _ = venv_
    with pytest.raises(BadRequest, match="not bootable"):
        svc.create_server(alice, request("x", root=RootVolume(volume_id="vol1")))
    with pytest.raises(BadRequest, match="failed to get volume"):
        svc.create_server(alice, request("x", root=RootVolume(volume_id="nope")))
    assert volumes.status["vol1"] == "available" and not volumes.attachments
    assert [s.name for s in svc.list_servers(alice)] == ["vm"]


def test_boot_from_an_image_onto_a_new_volume(venv_):
    svc, agent, driver, volumes, alice, _ = venv_
    root = RootVolume(image_id="img", size=2, delete_on_termination=True)
    inst = svc.create_server(alice, request("made", root=root))
    (made,) = volumes.created
    assert (made["imageRef"], made["size"], made["name"]) == ("img", 2, "made-root")
    assert inst.block_devices[0]["status"] == "creating"
    work(agent)
    server = svc.get_server(alice, inst.id)
    assert server.vm_state == "active" and server.image_id is None
    assert driver.volumes[inst.id] == {"/dev/vda": made["id"]}
    assert volumes.status[made["id"]] == "in-use"
    svc.delete_server(alice, inst.id)
    work(agent)
    assert made["id"] not in volumes.status  # delete_on_termination: gone with the server


def test_boot_volume_that_cannot_be_made_fails_the_build_and_is_deleted(venv_):
    svc, agent, _, volumes, alice, _ = venv_
    volumes.made = "error"
    root = RootVolume(image_id="img", size=1, delete_on_termination=True)
    inst = svc.create_server(alice, request("doomed", root=root))
    work(agent)
    server = svc.get_server(alice, inst.id)
    assert server.vm_state == "error" and "could not be made" in server.fault["message"]
    assert server.block_devices == [] and volumes.created[0]["id"] not in volumes.status
    with agent.db.session() as s:
        assert s.get(Allocation, inst.id) is None


def test_a_boot_volume_must_hold_the_image(venv_):
    svc, _, _, volumes, alice, _ = venv_
    svc.image_client(None).images["img"]["min_disk"] = 3
    with pytest.raises(BadRequest, match="too small"):
        svc.create_server(alice, request("x", root=RootVolume(image_id="img", size=2)))
    assert volumes.created == []


def test_cache_check_treats_kernels_and_ramdisks_as_plain_bytes(tmp_path):
    """A base in the cache is re-inspected: a kernel's boot sector passes as aki/ari (QEMU
    loads it, never opens it as a disk) but not as a raw disk; a qcow2 never passes as aki."""
    from compute.disks import create_blank
    from compute.imagecache import ImageCacheError, check_format

    kernel = tmp_path / "vmlinuz"
    boot = bytearray(512)
    boot[446:462] = bytes(range(0x1E, 0x2E))  # setup code where partition entries would be
    boot[510:512] = b"\x55\xaa"
    kernel.write_bytes(bytes(boot) + b"\x90" * 8192)
    for fmt in ("aki", "ari"):
        check_format(kernel, fmt)
    with pytest.raises(ImageCacheError, match="safety check"):
        check_format(kernel, "raw")
    qcow2 = tmp_path / "disk.qcow2"
    create_blank(qcow2, 1)
    with pytest.raises(ImageCacheError, match="catalog says aki"):
        check_format(qcow2, "aki")


def test_quotas_count_live_servers_of_the_project(env):
    from compute.quotas import Limits

    svc, agent, _, _, alice, _ = env
    svc.limits = Limits(instances=2, cores=20, ram=51200)
    first, _second = boot(svc, alice, name="q1"), boot(svc, alice, name="q2")
    with pytest.raises(Forbidden, match="Quota exceeded for instances: Requested 1, but "
                                        "already used 2 of 2 instances"):
        boot(svc, alice, name="q3")
    assert sorted(s.name for s in svc.list_servers(alice)) == ["q1", "q2"]
    work(agent)
    svc.delete_server(alice, first.id)
    work(agent)
    boot(svc, alice, name="q3")  # a deleted server gives its slot back
    svc.limits = Limits(instances=-1, cores=-1, ram=256 * 2 + 100)
    with pytest.raises(Forbidden, match="Quota exceeded for ram: Requested 256, but already "
                                        "used 512 of 612 ram"):
        boot(svc, alice, name="q4")
    assert svc.usage(alice.project_id) == {"instances": 2, "cores": 2, "ram": 512,
                                           "server_groups": 0}
