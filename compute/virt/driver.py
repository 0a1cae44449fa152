"""The libvirt driver: real guests under QEMU, built from the designer's domain objects.

It keeps the contract of :mod:`compute.driver`: a failed spawn removes what it created, a
destroy tolerates anything already gone. It only ever sees this cloud's guests (the domain
metadata carries the cloud id), so two clouds can share one libvirtd.
"""
from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path

from compute import configdrive, disks, states
from compute.driver import InstanceSpec
from compute.virt.designer import (
    VirtSettings,
    VolumeConnection,
    design_domain,
    disk_bus,
    iotune_from_qos,
    volume_disk,
)
from compute.virt.hardware import CDROM_FORMAT
from compute.virt.host import Host
from minicloud.config import Config
from minicloud.errors import MinicloudError, NotFound
from minicloud.paths import TRAVERSABLE, private_file
from volumes.connection import ConnectionInfo

ROOT_DISK, EPHEMERAL_DISK = "disk", "disk.eph0"
#: A CHAP secret's usage (its iSCSI target name in libvirt) starts with this and the cloud id,
#: so that ``minicloud audit`` tells this cloud's secrets from another's on a shared libvirtd.
SECRET_USAGE_PREFIX = "minicloud-"


def secret_usage(cloud_id: str, secret_id: str) -> str:
    """The usage name of this cloud's CHAP secret ``secret_id`` (an attachment id)."""
    return f"{SECRET_USAGE_PREFIX}{cloud_id}-{secret_id}"
#: A rescued guest's boot disk, and its own definition kept for the unrescue.
RESCUE_DISK, UNRESCUE_XML = "disk.rescue", "unrescue.xml"


def _connection(info: ConnectionInfo, secret_id: str) -> VolumeConnection:
    """The designer's view of a volume's connection info (CHAP password left in libvirt)."""
    data = info.data
    return VolumeConnection(volume_id=data.volume_id, target_iqn=data.target_iqn,
                            target_lun=data.target_lun, host=data.host, port=data.port,
                            auth_username=data.auth_username, secret_uuid=secret_id,
                            readonly=data.access_mode == "ro",
                            iotune=iotune_from_qos(data.qos_specs))


class LibvirtDriver:
    def __init__(self, conf: Config, cloud_id: str) -> None:
        self.host = Host(conf.compute.connection_uri)
        self.cloud_id = cloud_id
        self.settings = VirtSettings(virt_type=conf.compute.virt_type,
                                     uefi_loader=conf.compute.uefi_loader)
        self.shutdown_timeout = conf.compute.shutdown_timeout
        self.detach_timeout = conf.compute.detach_timeout

    def spawn(self, spec: InstanceSpec) -> None:
        flavor = spec.flavor
        with contextlib.ExitStack() as undo:
            spec.instance_dir.mkdir(mode=TRAVERSABLE)
            undo.callback(shutil.rmtree, spec.instance_dir, ignore_errors=True)
            # Whatever the umask: QEMU must reach the disks, nobody may list them. The disks
            # are made 0600 (compute.disks); virtlogd writes the console log and libvirt the
            # NVRAM copy 0600 themselves.
            spec.instance_dir.chmod(TRAVERSABLE)

            def connect(volume: tuple[ConnectionInfo, str, str]) -> VolumeConnection:
                info, _device, secret_id = volume
                self.host.define_secret(secret_id, secret_usage(self.cloud_id, secret_id),
                                        info.data.auth_password)
                undo.callback(self.host.remove_secret, secret_id)
                return _connection(info, secret_id)

            cdrom = None
            if spec.root_volume is not None:
                root: str | VolumeConnection = connect(spec.root_volume)
            elif spec.base_format == CDROM_FORMAT:  # an installer: boot it, install on vda
                cdrom = str(spec.base_image)
                root = str(spec.instance_dir / ROOT_DISK)
                disks.create_blank(Path(root), flavor["disk"])
            else:
                root = str(spec.instance_dir / ROOT_DISK)
                disks.create_overlay(spec.base_image, spec.base_format, Path(root),
                                     flavor["disk"])
            ephemeral = None
            if flavor.get("ephemeral"):
                ephemeral = spec.instance_dir / EPHEMERAL_DISK
                disks.create_blank(ephemeral, flavor["ephemeral"])
            drive = None
            if spec.config_drive is not None:  # inside the instance dir: undone with it
                drive = spec.instance_dir / configdrive.FILE_NAME
                configdrive.build(spec.config_drive, drive)
            connections = [connect(volume) for volume in spec.volumes]
            config = design_domain(
                instance_uuid=spec.id, name=spec.name, cloud_id=self.cloud_id,
                vcpus=flavor["vcpus"], memory_mib=flavor["ram"],
                image_properties=spec.image_meta, instance_dir=spec.instance_dir,
                root_disk=root, ephemeral_disk=str(ephemeral) if ephemeral else None,
                kernel=str(spec.kernel) if spec.kernel else None,
                ramdisk=str(spec.ramdisk) if spec.ramdisk else None, volumes=connections,
                settings=self.settings, config_drive=str(drive) if drive else None,
                config_drive_format=spec.config_drive.format if drive else "iso9660",
                cdrom=cdrom)
            guest = self.host.define(config)
            undo.callback(guest.undefine)
            guest.start()
            undo.callback(guest.destroy)
            undo.pop_all()

    def destroy(self, instance_id: str, instance_dir: Path) -> None:
        guest = self.host.lookup(instance_id)
        if guest is not None and guest.cloud_id() == self.cloud_id:
            guest.destroy()
            guest.undefine()
        shutil.rmtree(instance_dir, ignore_errors=True)

    def _guest(self, instance_id: str):
        guest = self.host.lookup(instance_id)
        if guest is None or guest.cloud_id() != self.cloud_id:
            raise NotFound(f"no guest for instance {instance_id}")
        return guest

    def power_off(self, instance_id: str) -> None:
        """Clean shutdown (ACPI) for up to ``shutdown_timeout`` seconds, then pull the plug.

        A paused guest cannot answer ACPI: it is powered off at once. A suspended guest
        loses its saved memory (it boots afresh when started).
        """
        guest = self._guest(instance_id)
        guest.discard_saved_state()
        if guest.power_state() == states.PAUSED:
            guest.destroy()
            return
        guest.shutdown()
        deadline = time.monotonic() + self.shutdown_timeout
        while time.monotonic() < deadline:
            if guest.power_state() != states.RUNNING:
                return
            time.sleep(0.5)
        guest.destroy()

    def power_on(self, instance_id: str) -> None:
        self._guest(instance_id).start()

    def reboot(self, instance_id: str, hard: bool) -> None:
        guest = self._guest(instance_id)
        if hard:  # a fresh boot, even of a suspended guest
            guest.discard_saved_state()
        guest.reboot(hard)

    def power_state(self, instance_id: str) -> int:
        guest = self.host.lookup(instance_id)
        if guest is None or guest.cloud_id() != self.cloud_id:
            return states.NOSTATE
        return guest.power_state()

    def snapshot(self, instance_id: str, instance_dir: Path, dest: Path) -> str:
        self._guest(instance_id)
        disks.flatten(instance_dir / ROOT_DISK, dest)
        return "qcow2"

    def pause(self, instance_id: str) -> None:
        self._guest(instance_id).pause()

    def unpause(self, instance_id: str) -> None:
        self._guest(instance_id).unpause()

    def suspend(self, instance_id: str) -> None:
        self._guest(instance_id).save()

    def resume(self, instance_id: str) -> None:
        guest = self._guest(instance_id)
        if not guest.has_saved_state():
            raise MinicloudError(f"guest {instance_id} has no saved state to resume from")
        guest.start()

    def rebuild(self, instance_id: str, instance_dir: Path, base_image: Path | None,
                base_format: str, root_gb: int, power_on: bool,
                config_drive: configdrive.ConfigDrive | None = None) -> None:
        """The new vda is made beside the old one and renamed over it once the guest is
        off: the definition keeps naming ``disk``, vdb and the volumes are not touched."""
        guest = self._guest(instance_id)
        new_root = instance_dir / f"{ROOT_DISK}.rebuild"
        drive = instance_dir / configdrive.FILE_NAME
        new_drive = instance_dir / f"{configdrive.FILE_NAME}.rebuild"
        # only a drive the definition has already (a server created with one) is rewritten
        config_drive = config_drive if drive.exists() else None
        try:
            if base_image is not None:
                disks.create_overlay(base_image, base_format, new_root, root_gb)
            if config_drive is not None:
                configdrive.build(config_drive, new_drive)
        except BaseException:
            new_root.unlink(missing_ok=True)
            new_drive.unlink(missing_ok=True)
            raise
        guest.discard_saved_state()
        guest.destroy()
        if base_image is not None:
            new_root.replace(instance_dir / ROOT_DISK)
        if config_drive is not None:
            new_drive.replace(drive)
        if power_on:
            guest.start()

    def rescue(self, spec: InstanceSpec) -> None:
        """Boot a standalone copy of ``spec.base_image`` as vda with the guest's own vda as
        vdb (no ephemeral disk, no volumes); the guest's definition is kept in
        ``unrescue.xml``. A failure restores the guest as it was (and running)."""
        guest = self._guest(spec.id)
        saved = spec.instance_dir / UNRESCUE_XML
        rescue_disk = spec.instance_dir / RESCUE_DISK
        with contextlib.ExitStack() as undo:
            private_file(saved)
            undo.callback(saved.unlink, missing_ok=True)
            saved.write_text(guest.definition())
            undo.callback(rescue_disk.unlink, missing_ok=True)
            disks.copy_standalone(spec.base_image, spec.base_format, rescue_disk)
            config = design_domain(
                instance_uuid=spec.id, name=spec.name, cloud_id=self.cloud_id,
                vcpus=spec.flavor["vcpus"], memory_mib=spec.flavor["ram"],
                image_properties=spec.image_meta, instance_dir=spec.instance_dir,
                root_disk=str(rescue_disk),
                ephemeral_disk=str(spec.instance_dir / ROOT_DISK),
                kernel=str(spec.kernel) if spec.kernel else None,
                ramdisk=str(spec.ramdisk) if spec.ramdisk else None, settings=self.settings)
            guest.discard_saved_state()
            guest.destroy()
            undo.callback(self._restore_definition, spec.id, saved)
            self.host.define(config).start()
            undo.pop_all()

    def _restore_definition(self, instance_id: str, saved: Path) -> None:
        self._guest(instance_id).destroy()
        self.host.define_xml(saved.read_text()).start()

    def unrescue(self, instance_id: str, instance_dir: Path) -> None:
        """Back to the guest's own definition and disks (the rescue disk is removed)."""
        saved = instance_dir / UNRESCUE_XML
        if saved.exists():
            self._restore_definition(instance_id, saved)
            saved.unlink()
        else:  # nothing to restore (an interrupted unrescue): just make sure it runs
            self._guest(instance_id).start()
        (instance_dir / RESCUE_DISK).unlink(missing_ok=True)

    def attach_volume(self, instance_id: str, image_meta: dict, info: ConnectionInfo,
                      device: str, secret_id: str) -> None:
        """Add the iSCSI disk (CHAP secret in libvirt) to the definition, and hot-plug it
        into a running guest. Undoes the secret when the attach fails."""
        guest = self._guest(instance_id)
        self.host.define_secret(secret_id, secret_usage(self.cloud_id, secret_id),
                                info.data.auth_password)
        try:
            disk = volume_disk(_connection(info, secret_id), disk_bus(image_meta),
                               device.removeprefix("/dev/"))
            guest.attach_disk(disk, live=True)
        except BaseException:
            self.host.remove_secret(secret_id)
            raise

    def detach_volume(self, instance_id: str, device: str, secret_id: str) -> None:
        """Remove the disk from the guest and its definition, then the secret; tolerates
        either being gone already."""
        guest = self.host.lookup(instance_id)
        if guest is not None and guest.cloud_id() == self.cloud_id:
            dev = device.removeprefix("/dev/")
            guest.detach_disk(dev, live=True)
            # A live unplug completes when the guest releases the device; until then the
            # device name is taken and the export must stay (QEMU is still connected). A
            # guest still busy with a recent hot-plug ignores the request: ask again (as Nova
            # does) every few seconds.
            deadline = time.monotonic() + self.detach_timeout
            next_ask = time.monotonic() + 3
            while guest.has_disk(dev):
                if time.monotonic() > deadline:
                    raise MinicloudError(f"the guest did not release {dev} within "
                                         f"{self.detach_timeout:g}s")
                if time.monotonic() > next_ask:
                    guest.detach_disk(dev, live=True)
                    next_ask = time.monotonic() + 3
                time.sleep(0.2)
        self.host.remove_secret(secret_id)

    def list_instances(self) -> list[str]:
        return [guest.uuid for guest in self.host.guests(self.cloud_id)]
