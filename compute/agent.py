"""The compute agent: one per host. Registers the host, runs durable tasks, keeps in sync.

Tasks come from the catalog's ``compute_tasks`` table through :mod:`minicloud.taskqueue`
(the API enqueues them, the agent takes each with a compare-and-swap), so a task survives
restarts and never runs twice. At start, and then periodically, the agent reconciles
(hardening.md section 4; :mod:`compute.recovery`).
"""
from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select, update

from compute import configdrive, console, scheduler, server_groups, signing, states
from compute.aggregates import CACHE_ACTION
from compute.cinder import VolumeClient
from compute.configdrive import ConfigDrive
from compute.driver import Driver, InstanceSpec
from compute.faults import user_fault
from compute.glance import ImageClient
from compute.imagecache import ImageCache
from compute.instance_actions import ActionEvents
from compute.lifecycle_tasks import LifecycleTasks
from compute.models import ComputeHost, ComputeTask, Instance
from compute.recovery import Recovery
from compute.service import ComputeService, root_bdm
from compute.uptime import host_uptime
from compute.virt.hardware import qemu_format
from minicloud import faults
from minicloud.config import Config
from minicloud.db import Database, utcnow
from minicloud.errors import MinicloudError, NotFound
from minicloud.paths import StatePaths
from minicloud.taskqueue import TaskQueue, agent_process, serve

LOG = logging.getLogger("compute.agent")


def host_name(conf: Config) -> str:
    return conf.compute.host or socket.gethostname()


def _memory_mib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return 0


class Agent(LifecycleTasks, Recovery):
    def __init__(self, conf: Config, db: Database, driver: Driver,
                 images: Callable[[], ImageClient],
                 volumes: Callable[[], VolumeClient] | None = None, workers: int = 4) -> None:
        self.conf, self.db, self.driver, self.images = conf, db, driver, images
        self.volumes = volumes
        self.host = host_name(conf)
        self.instances_path = conf.path(conf.compute.instances_path)
        self.cache = ImageCache(self.instances_path / "_base", images,
                                StatePaths(conf.state_dir).image_store
                                if conf.compute.use_direct_url else None)
        self.service = ComputeService(db, lambda _token: images())
        self.queue = TaskQueue(db, ComputeTask, "instance_id", self.host,
                               hooks=ActionEvents(db, self.host))
        self.workers = workers

    # -- registration --------------------------------------------------------------------------
    def register(self) -> None:
        c = self.conf.compute
        self.instances_path.mkdir(parents=True, exist_ok=True)
        self.instances_path.chmod(0o711)
        disk = c.disk_gb or shutil.disk_usage(self.instances_path).free // 1024 ** 3
        values = {"vcpus": c.vcpus or os.cpu_count() or 1,
                  "cpu_allocation_ratio": c.cpu_allocation_ratio,
                  "memory_mib": c.memory_mib or max(_memory_mib() - c.reserved_memory_mib, 0),
                  "disk_gb": disk, "heartbeat_at": utcnow(), "uptime": host_uptime()}
        with self.db.session() as s:
            row = s.get(ComputeHost, self.host)
            if row is None:
                s.add(ComputeHost(name=self.host, **values))
            else:
                for key, value in values.items():
                    setattr(row, key, value)
        LOG.info("registered host %s: %s", self.host, values)

    def heartbeat(self) -> None:
        with self.db.session() as s:
            s.execute(update(ComputeHost).where(ComputeHost.name == self.host)
                      .values(heartbeat_at=utcnow(), uptime=host_uptime()))

    # -- tasks ----------------------------------------------------------------------------------
    def run_task(self, task: ComputeTask) -> None:
        self.queue.run(task, getattr(self, f"_do_{task.action}"), self._roll_back, LOG)

    def _roll_back(self, task: ComputeTask, exc: BaseException) -> None:
        """After a failed or interrupted task: undo a spawn (ERROR, nothing left on the host)
        or an attach (the volume usable again), and end the task state. A rollback that
        fails itself is logged; it never leaves the instance stuck in the task's state."""
        try:
            if task.action == "spawn":
                self._fail_spawn(task.instance_id, exc)
            elif task.action == "attach_volume":
                self._undo_attach(task.instance_id, task.params["volume_id"])
            else:
                self._roll_back_more(task, exc)
        except Exception:  # noqa: BLE001 - logged; the state below is set regardless
            LOG.exception("could not roll back %s of %s", task.action, task.instance_id)
            if task.action == "spawn":
                self.service.set_error(task.instance_id, user_fault(exc, task.instance_id))
        if task.action not in ("spawn", "delete", console.ACTION, CACHE_ACTION):
            self._clear_task(task.instance_id)

    def _instance(self, instance_id: str) -> Instance:
        with self.db.session() as s:
            inst = s.get(Instance, instance_id)
            if inst is None:
                raise NotFound(f"instance {instance_id} is not in the catalog")
            return inst

    def _transition(self, instance_id: str, from_task: str | tuple[str, ...] | None,
                    **values: object) -> bool:
        """CAS on task_state: apply ``values`` only if the task state is still ``from_task``."""
        cond = Instance.task_state.is_(None) if from_task is None else (
            Instance.task_state.in_(from_task) if isinstance(from_task, tuple)
            else Instance.task_state == from_task)
        with self.db.session() as s:
            return s.execute(update(Instance).where(Instance.id == instance_id, cond)
                             .values(**values)).rowcount == 1

    def _fail_spawn(self, instance_id: str, exc: BaseException) -> None:
        """ERROR with a fault its owner may read (no host paths: :mod:`compute.faults`), and
        nothing of the build left on the host."""
        exc = user_fault(exc, instance_id)
        inst = self._instance(instance_id)
        if inst.task_state == "deleting" or inst.vm_state == states.DELETED:
            return  # a delete is on its way: it cleans up
        self.driver.destroy(instance_id, self.instances_path / instance_id)
        for bdm in inst.block_devices:  # its volumes are usable again
            self._release_volume(instance_id, bdm)
        self._set_bdms(instance_id, [])
        with self.db.session() as s:
            scheduler.release(s, instance_id)  # nothing of it is left on the host
        self.service.set_error(instance_id, exc)

    def _clear_task(self, instance_id: str) -> None:
        with self.db.session() as s:
            s.execute(update(Instance).where(Instance.id == instance_id,
                                             Instance.task_state != "deleting")
                      .values(task_state=None))

    def _do_spawn(self, task: ComputeTask) -> None:
        if not self._transition(task.instance_id, (states.SCHEDULING,
                                                   states.BLOCK_DEVICE_MAPPING),
                                task_state=states.BLOCK_DEVICE_MAPPING):
            return  # deleted (or otherwise moved on) before we started
        self._prepare_volumes(task.instance_id)
        if not self._transition(task.instance_id, states.BLOCK_DEVICE_MAPPING,
                                task_state=states.SPAWNING):
            return
        inst = self._instance(task.instance_id)
        reserved = [b for b in inst.block_devices if b["status"] == "reserved"]
        connected = {b["volume_id"]: (self.volumes().connect(b["attachment_id"], self.host,
                                                             b["device"]),
                                      b["device"], b["attachment_id"]) for b in reserved}
        root = root_bdm(inst)
        image_args: dict = {"base_image": None, "base_format": "raw"}
        if root is None:
            image_args = self._image_args(inst, checked=task.params.get("images"),
                                          certificates=task.params.get("certificates"))
        spec = InstanceSpec(
            id=inst.id, name=inst.name, flavor=inst.flavor, image_meta=inst.image_meta,
            instance_dir=self.instances_path / inst.id,
            root_volume=connected.pop(root["volume_id"]) if root else None,
            volumes=tuple(connected.values()), config_drive=self._config_drive(inst),
            **image_args)
        faults.point("compute.spawn.spawning")
        self.driver.spawn(spec)
        faults.point("compute.spawn.started")
        for bdm in reserved:
            self.volumes().complete(bdm["attachment_id"])
        if reserved:
            self._set_bdms(inst.id, [dict(b, status="attached") for b in inst.block_devices])
        if not self._transition(inst.id, states.SPAWNING, vm_state=states.ACTIVE,
                                task_state=None, power_state=states.RUNNING,
                                launched_at=utcnow(), progress=100):
            LOG.info("instance %s changed while spawning; leaving it to its new task", inst.id)

    def _config_drive(self, inst: Instance) -> ConfigDrive | None:
        """What the server's config drive holds, when it gets one: asked for at create, or
        every server's with ``[compute] force_config_drive`` (then the server shows it)."""
        c = self.conf.compute
        if not (inst.config_drive or c.force_config_drive):
            return None
        if not inst.config_drive:
            with self.db.session() as s:
                s.execute(update(Instance).where(Instance.id == inst.id)
                          .values(config_drive=True))
        return configdrive.contents(
            uuid=inst.id, name=inst.name, hostname=inst.guest_hostname,
            project_id=inst.project_id, availability_zone=inst.availability_zone,
            metadata=inst.metadata_ or {}, key_name=inst.key_name, key_data=inst.key_data,
            user_data=inst.user_data, fmt=c.config_drive_format)

    def _image_args(self, inst: Instance, image_id: str | None = None,
                    checked: list[str] | None = None,
                    certificates: dict | None = None) -> dict:
        """The cached base image (and AMI kernel/ramdisk) of a server booting from an image
        (``image_id``: another image, with the server's kernel: a rescue or a rebuild).

        ``checked``: the images the API checked as the server's creator (the spawn task's
        ``images``). The agent fetches with the service's token, which sees every image, so
        it fetches nothing else: an image outside that list fails the build."""
        def fetch(wanted: str) -> tuple[dict, Path]:
            if checked is not None and wanted not in checked:
                raise MinicloudError(f"Image {wanted} was not checked for this server's "
                                     "project: it is not fetched.")
            image = self.images().get(wanted)
            return image, self.cache.fetch(image)

        image, base = fetch(image_id or inst.image_id)
        # [compute] verify_glance_signatures: the bytes the guest boots from, verified
        signing.verify_base(self.conf, image, base, certificates, inst.trusted_certs)
        args: dict = {"base_image": base}
        for prop, arg in (("kernel_id", "kernel"), ("ramdisk_id", "ramdisk")):
            if inst.image_meta.get(prop):  # AMI-style: boot the kernel directly
                args[arg] = fetch(inst.image_meta[prop])[1]
        fmt = image.get("disk_format") or "raw"
        args["base_format"] = qemu_format(fmt)  # vhd is QEMU's vpc (compute.virt.hardware)
        return args

    def _prepare_volumes(self, instance_id: str) -> None:
        """Wait for the volumes made for this server (a boot volume from an image) to be
        ``available``, then reserve them for it, as Nova's block_device_mapping step."""
        deadline = time.monotonic() + self.conf.compute.volume_create_timeout
        for bdm in self._instance(instance_id).block_devices:
            if bdm["status"] != "creating":
                continue
            while True:
                volume = self.volumes().get(bdm["volume_id"])
                if volume["status"] == "available":
                    break
                if volume["status"] != "creating":
                    raise MinicloudError(f"Volume {bdm['volume_id']} could not be made from "
                                         f"the image (it is {volume['status']}).")
                if time.monotonic() > deadline:
                    raise MinicloudError(f"Volume {bdm['volume_id']} was not made within "
                                         f"{self.conf.compute.volume_create_timeout:g}s.")
                if self._instance(instance_id).task_state != states.BLOCK_DEVICE_MAPPING:
                    return  # deleted meanwhile: the delete cleans up
                time.sleep(1)
            attachment_id = self.volumes().reserve(bdm["volume_id"], instance_id)
            inst = self._instance(instance_id)
            self._set_bdms(instance_id, [
                dict(b, status="reserved", attachment_id=attachment_id)
                if b["volume_id"] == bdm["volume_id"] else b for b in inst.block_devices])

    def _do_delete(self, task: ComputeTask) -> None:
        self.driver.destroy(task.instance_id, self.instances_path / task.instance_id)
        faults.point("compute.delete.destroyed")
        # Volumes survive the instance (detached, exports removed, back to available),
        # unless they were given with delete_on_termination.
        for bdm in self._instance(task.instance_id).block_devices:
            self._release_volume(task.instance_id, bdm)
        with self.db.session() as s:
            scheduler.release(s, task.instance_id)
            server_groups.forget(s, task.instance_id)
            s.execute(update(Instance).where(Instance.id == task.instance_id).values(
                vm_state=states.DELETED, task_state=None, power_state=states.NOSTATE,
                terminated_at=utcnow(), deleted_at=utcnow()))

    def _do_stop(self, task: ComputeTask) -> None:
        self.driver.power_off(task.instance_id)
        self._transition(task.instance_id, "powering-off", vm_state=states.STOPPED,
                         task_state=None, power_state=states.SHUTDOWN)

    def _do_start(self, task: ComputeTask) -> None:
        self.driver.power_on(task.instance_id)
        self._transition(task.instance_id, "powering-on", vm_state=states.ACTIVE,
                         task_state=None, power_state=states.RUNNING)

    def _reboot(self, task: ComputeTask, hard: bool) -> None:
        self.driver.reboot(task.instance_id, hard)
        self._transition(task.instance_id, states.ACTIONS[task.action].task,
                         vm_state=states.ACTIVE, task_state=None, power_state=states.RUNNING)

    def _do_reboot_soft(self, task: ComputeTask) -> None:
        self._reboot(task, hard=False)

    def _do_reboot_hard(self, task: ComputeTask) -> None:
        self._reboot(task, hard=True)

    def _do_snapshot(self, task: ComputeTask) -> None:
        self._upload_snapshot(task)
        self._transition(task.instance_id, "image_snapshot", task_state=None)

    def _upload_snapshot(self, task: ComputeTask) -> None:
        """Flatten vda into the task's image and upload it (the image is deleted when
        this fails)."""
        image_id = task.params["image_id"]
        inst_dir = self.instances_path / task.instance_id
        dest = inst_dir / f"snapshot-{image_id}"
        try:
            fmt = self.driver.snapshot(task.instance_id, inst_dir, dest)
            faults.point("compute.snapshot.taken")
            if fmt != "qcow2":
                raise MinicloudError(f"snapshot came out as {fmt}, expected qcow2")

            def chunks():
                with dest.open("rb") as src:
                    while chunk := src.read(1 << 20):
                        yield chunk

            self.images().upload(image_id, chunks())
        except BaseException:
            try:
                self.images().delete(image_id)
            except MinicloudError:
                LOG.warning("could not remove failed snapshot image %s", image_id)
            raise
        finally:
            dest.unlink(missing_ok=True)

    def _do_console_log(self, task: ComputeTask) -> None:
        """Answer the API's request for a console log (:mod:`compute.console`): its tail
        goes back in the task's params."""
        text = console.read_tail(self.instances_path / task.params["instance_id"]
                                 / "console.log")
        with self.db.session() as s:
            s.execute(update(ComputeTask).where(ComputeTask.id == task.id)
                      .values(params={**task.params, "output": text}))

    # -- volumes ---------------------------------------------------------------------------
    def _bdm(self, inst: Instance, volume_id: str) -> dict | None:
        return next((b for b in inst.block_devices if b["volume_id"] == volume_id), None)

    def _set_bdms(self, instance_id: str, bdms: list[dict], **values: object) -> None:
        with self.db.session() as s:
            s.execute(update(Instance).where(Instance.id == instance_id)
                      .values(block_devices=bdms, **values))

    def _release_volume(self, instance_id: str, bdm: dict, keep: bool = False) -> None:
        """Take the disk out of the guest, then the export (through the volume service);
        then delete the volume when it was given with delete_on_termination (not ``keep``)."""
        if bdm.get("attachment_id"):
            self.driver.detach_volume(instance_id, bdm["device"], bdm["attachment_id"])
            faults.point("compute.release.unplugged")
            if self.volumes is not None:
                self.volumes().delete_attachment(bdm["attachment_id"])
        if bdm.get("delete_on_termination") and not keep and self.volumes is not None:
            try:
                self.volumes().delete(bdm["volume_id"])
            except MinicloudError as exc:
                LOG.warning("could not delete volume %s of instance %s: %s",
                            bdm["volume_id"], instance_id, exc)

    def _undo_attach(self, instance_id: str, volume_id: str) -> None:
        """Roll a failed or interrupted attach back so the volume is usable again."""
        inst = self._instance(instance_id)
        bdm = self._bdm(inst, volume_id)
        if bdm is None:
            return
        try:
            self._release_volume(instance_id, bdm, keep=True)
        finally:
            self._set_bdms(instance_id, [b for b in inst.block_devices
                                         if b["volume_id"] != volume_id])

    def _do_attach_volume(self, task: ComputeTask) -> None:
        inst = self._instance(task.instance_id)
        bdm = self._bdm(inst, task.params["volume_id"])
        if bdm is None or self.volumes is None:
            raise MinicloudError("nothing to attach")
        client = self.volumes()
        info = client.connect(bdm["attachment_id"], self.host, bdm["device"])
        faults.point("compute.attach.connected")
        self.driver.attach_volume(inst.id, inst.image_meta, info, bdm["device"],
                                  bdm["attachment_id"])
        faults.point("compute.attach.plugged")
        client.complete(bdm["attachment_id"])
        bdms = [dict(b, status="attached") if b["volume_id"] == bdm["volume_id"] else b
                for b in inst.block_devices]
        self._set_bdms(inst.id, bdms)
        self._transition(inst.id, "attaching_volume", task_state=None)

    def _do_detach_volume(self, task: ComputeTask) -> None:
        inst = self._instance(task.instance_id)
        bdm = self._bdm(inst, task.params["volume_id"])
        if bdm is not None:
            self._release_volume(inst.id, bdm, keep=True)
            self._set_bdms(inst.id, [b for b in inst.block_devices
                                     if b["volume_id"] != bdm["volume_id"]])
        self._transition(inst.id, "detaching_volume", task_state=None)

    def _do_cache_images(self, task: ComputeTask) -> None:
        """Image pre-caching (``POST /os-aggregates/{id}/images``; the task's subject is the
        aggregate): fetch each image into this host's base cache, verified as a boot
        would; the others are still fetched when one fails, then the task fails naming it."""
        failed = self.cache.precache(self.images, task.params.get("images") or [], LOG)
        if failed:
            raise MinicloudError(f"Could not pre-cache image(s) {', '.join(failed)}.")

    # -- periodic tasks ------------------------------------------------------------------------
    def sync_power_states(self) -> None:
        """A guest that powered itself off becomes SHUTOFF (as Nova's sync does)."""
        with self.db.session() as s:
            mine = list(s.scalars(select(Instance).where(
                Instance.host == self.host, Instance.task_state.is_(None),
                Instance.vm_state.in_((states.ACTIVE, states.STOPPED)))))
        for inst in mine:
            power = self.driver.power_state(inst.id)
            values: dict[str, object] = {"power_state": power}
            if inst.vm_state == states.ACTIVE and power != states.RUNNING:
                values["vm_state"] = states.STOPPED
            if power != inst.power_state or "vm_state" in values:
                self._transition(inst.id, None, **values)

    def manage_image_cache(self) -> None:
        with self.db.session() as s:
            live = list(s.scalars(select(Instance).where(
                Instance.host == self.host, Instance.vm_state != states.DELETED)))
        in_use = {i.image_id for i in live} | {i.image_meta.get(k) for i in live
                                                 for k in ("kernel_id", "ramdisk_id")}
        for image_id in self.cache.manage({i for i in in_use if i},
                                          self.conf.compute.image_cache_max_age,
                                          self._image_deleted):
            LOG.info("removed unused base image %s", image_id)

    def _image_deleted(self, image_id: str) -> bool:
        """Whether the image service no longer has ``image_id`` (its cached copy must go at
        once); an unreachable service means "keep it" (the next period asks again)."""
        try:
            image = self.images().get(image_id)
        except NotFound:
            return True
        except MinicloudError as exc:
            LOG.debug("cannot check image %s for the cache: %s", image_id, exc.message)
            return False
        return image.get("status") in ("deleted", "pending_delete", "killed")

    def periodic(self) -> None:
        self.heartbeat()
        self.sync_power_states()
        self.manage_image_cache()
        self.reclaim_soft_deleted()
        self.retry_failed_deletes()
        self.fail_lost_builds()

    # -- main loop -----------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        self.register()
        self.init_host()
        serve(stop, self.queue, self.run_task, self.periodic,
              self.conf.compute.periodic_interval, LOG, self.workers)


def make_driver(conf: Config, cloud_id: str) -> Driver:
    if conf.compute.driver == "fake":
        from compute.driver import FakeDriver

        return FakeDriver()
    from compute.virt.driver import LibvirtDriver

    return LibvirtDriver(conf, cloud_id)


def main() -> None:
    from minicloud import services
    from volumes.targets import source_address

    def build(conf: Config, db: Database, token, paths: StatePaths) -> Agent:
        client = ImageClient(services.by_name("image").base_url(conf), token)
        portal = conf.volume
        volumes = VolumeClient(services.by_name("volume").base_url(conf), token,
                               initiator_ip=source_address(portal.iscsi_ip_address,
                                                           portal.iscsi_port))
        return Agent(conf, db, make_driver(conf, paths.cloud_id()), lambda: client,
                     lambda: volumes)

    agent_process("compute-agent", build)


if __name__ == "__main__":
    main()
