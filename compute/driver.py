"""The virt driver contract, and the in-tree fake used by fast tests and failure injection.

Contract (what the agent relies on):

* ``spawn`` builds every disk and the guest and starts it. If any step fails it undoes what
  *that call* created (disks, instance directory, domain) before raising, so a failed spawn
  leaves nothing behind on the host.
* ``destroy`` removes the guest, its NVRAM and the instance directory; it tolerates any part
  being gone already, so an interrupted delete can simply be run again.
* Power operations act on an existing guest and raise :class:`NotFound` when there is none.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from compute import states
from compute.configdrive import FILE_NAME as CONFIG_DRIVE_FILE
from compute.configdrive import ConfigDrive
from minicloud.errors import MinicloudError, NotFound


@dataclass(frozen=True)
class InstanceSpec:
    """Everything a driver needs to build one instance."""

    id: str
    name: str
    flavor: dict             # vcpus, ram (MiB), disk (GB), ephemeral (GB), extra_specs
    image_meta: dict         # the image's properties (hw_firmware_type, hw_disk_bus, ...)
    base_image: Path | None  # the cached base image (None: it boots from root_volume)
    base_format: str         # its disk format as recorded in the catalog (never probed)
    instance_dir: Path
    kernel: Path | None = None   # AMI-style images: cached kernel_id / ramdisk_id images
    ramdisk: Path | None = None
    #: the volume it boots from (vda), connected already: (connection info, device,
    #: libvirt secret id); None: it boots from ``base_image`` copied to local disk
    root_volume: tuple[Any, str, str] | None = None
    #: data volumes, connected already, as ``root_volume``
    volumes: tuple[tuple[Any, str, str], ...] = ()
    #: what goes on the config drive (``instance_dir/disk.config``); None: no config drive
    config_drive: ConfigDrive | None = None

    def __post_init__(self) -> None:
        if (self.base_image is None) == (self.root_volume is None):
            raise ValueError("an instance boots from a base image or a root volume (one)")


class Driver(Protocol):
    def spawn(self, spec: InstanceSpec) -> None: ...
    def destroy(self, instance_id: str, instance_dir: Path) -> None: ...
    def power_off(self, instance_id: str) -> None: ...
    def power_on(self, instance_id: str) -> None: ...
    def reboot(self, instance_id: str, hard: bool) -> None: ...
    def power_state(self, instance_id: str) -> int: ...
    def snapshot(self, instance_id: str, instance_dir: Path, dest: Path) -> str: ...
    def list_instances(self) -> list[str]: ...
    def attach_volume(self, instance_id: str, image_meta: dict, info, device: str,
                      secret_id: str) -> None: ...
    def detach_volume(self, instance_id: str, device: str, secret_id: str) -> None: ...


class InjectedFailure(MinicloudError):
    """Raised by the fake driver at a step a test chose."""


SPAWN_STEPS = ("create_dir", "root_disk", "ephemeral_disk", "config_drive", "define",
               "start")


@dataclass
class FakeDriver:
    """In-memory guests; ``fail_at`` names a spawn step to fail (tests of the undo path)."""

    fail_at: str | None = None
    guests: dict[str, int] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    volumes: dict[str, dict[str, str]] = field(default_factory=dict)  # instance -> dev -> vol
    config_drives: dict[str, ConfigDrive] = field(default_factory=dict)  # instance -> drive

    def spawn(self, spec: InstanceSpec) -> None:
        created: list[Path] = []
        try:
            for step in SPAWN_STEPS:
                if step == self.fail_at:
                    raise InjectedFailure(f"injected failure at {step}")
                if step == "create_dir":
                    spec.instance_dir.mkdir(parents=True)
                    created.append(spec.instance_dir)
                elif step == "root_disk" and spec.root_volume is None:
                    (spec.instance_dir / "disk").write_bytes(b"")
                elif step == "ephemeral_disk" and spec.flavor.get("ephemeral"):
                    (spec.instance_dir / "disk.eph0").write_bytes(b"")
                elif step == "config_drive" and spec.config_drive is not None:
                    # Recorded, not built: tests read what it would hold from here.
                    (spec.instance_dir / CONFIG_DRIVE_FILE).write_bytes(b"")
            self.guests[spec.id] = states.RUNNING
            if spec.config_drive is not None:
                self.config_drives[spec.id] = spec.config_drive
            attached = [spec.root_volume] if spec.root_volume else []
            self.volumes[spec.id] = {dev: info.data.volume_id
                                     for info, dev, _ in attached + list(spec.volumes)}
            self.calls.append(("spawn", spec.id))
        except BaseException:
            for path in reversed(created):
                for child in path.iterdir():
                    child.unlink()
                path.rmdir()
            self.guests.pop(spec.id, None)
            raise

    def destroy(self, instance_id: str, instance_dir: Path) -> None:
        self.guests.pop(instance_id, None)
        self.volumes.pop(instance_id, None)
        self.config_drives.pop(instance_id, None)
        if instance_dir.exists():
            for child in instance_dir.iterdir():
                child.unlink()
            instance_dir.rmdir()
        self.calls.append(("destroy", instance_id))

    def _guest(self, instance_id: str) -> None:
        if instance_id not in self.guests:
            raise NotFound(f"no guest for instance {instance_id}")

    def power_off(self, instance_id: str) -> None:
        self._guest(instance_id)
        self.guests[instance_id] = states.SHUTDOWN

    def power_on(self, instance_id: str) -> None:
        self._guest(instance_id)
        self.guests[instance_id] = states.RUNNING

    def reboot(self, instance_id: str, hard: bool) -> None:
        self._guest(instance_id)
        self.guests[instance_id] = states.RUNNING

    def power_state(self, instance_id: str) -> int:
        return self.guests.get(instance_id, states.NOSTATE)

    def snapshot(self, instance_id: str, instance_dir: Path, dest: Path) -> str:
        self._guest(instance_id)
        # A real (empty) qcow2: the image service inspects uploads against their disk_format.
        from compute.disks import create_blank

        create_blank(dest, 1)
        return "qcow2"

    def list_instances(self) -> list[str]:
        return list(self.guests)

    def attach_volume(self, instance_id: str, image_meta: dict, info, device: str,
                      secret_id: str) -> None:
        self._guest(instance_id)
        if self.fail_at == "attach_volume":
            raise InjectedFailure("injected failure at attach_volume")
        self.volumes.setdefault(instance_id, {})[device] = info.data.volume_id

    def detach_volume(self, instance_id: str, device: str, secret_id: str) -> None:
        self.volumes.get(instance_id, {}).pop(device, None)
