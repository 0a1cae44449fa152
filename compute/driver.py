"""The virt driver contract, and the in-tree fake used by fast tests and failure injection.

Contract (what the agent relies on):

* ``spawn`` builds every disk and the guest and starts it. If any step fails it undoes what
  *that call* created (disks, instance directory, domain) before raising, so a failed spawn
  leaves nothing behind on the host.
* ``destroy`` removes the guest, its NVRAM and the instance directory; it tolerates any part
  being gone already, so an interrupted delete can simply be run again.
* Power operations act on an existing guest and raise :class:`NotFound` when there is none.
  ``pause`` freezes the running guest in memory (PAUSED); ``suspend`` saves its memory to
  disk and stops it, ``resume`` starts it again from that image (the guest carries on
  where it was); ``power_off`` of a paused or suspended guest discards that state.
* ``rebuild`` gives the guest a new root disk (vda) from ``base_image`` and boots it; the
  ephemeral disk (vdb), the attached volumes and the domain definition stay. The old vda
  is replaced only once the new one is made, so a failure before that leaves it intact.
  A server with a config drive gets it written again from ``config_drive`` (the new name,
  metadata, key and user data), as Nova does.
  ``base_image`` None (a volume-backed server) keeps vda and only starts the guest again.
* ``rescue`` boots the guest from a copy of ``spec.base_image`` (vda) with its own vda as
  vdb and nothing else attached, keeping the original definition to restore; ``unrescue``
  restores it, drops the rescue disk and boots the guest from its own disks again.
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
    def pause(self, instance_id: str) -> None: ...
    def unpause(self, instance_id: str) -> None: ...
    def suspend(self, instance_id: str) -> None: ...
    def resume(self, instance_id: str) -> None: ...
    def rebuild(self, instance_id: str, instance_dir: Path, base_image: Path | None,
                base_format: str, root_gb: int, power_on: bool,
                config_drive: ConfigDrive | None = None) -> None: ...
    def rescue(self, spec: InstanceSpec) -> None: ...
    def unrescue(self, instance_id: str, instance_dir: Path) -> None: ...
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
    saved: set[str] = field(default_factory=set)  # suspended guests (memory "on disk")
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
        self.saved.discard(instance_id)
        self.guests[instance_id] = states.SHUTDOWN

    def pause(self, instance_id: str) -> None:
        self._guest(instance_id)
        self.guests[instance_id] = states.PAUSED
        self.calls.append(("pause", instance_id))

    def unpause(self, instance_id: str) -> None:
        self._guest(instance_id)
        self.guests[instance_id] = states.RUNNING
        self.calls.append(("unpause", instance_id))

    def suspend(self, instance_id: str) -> None:
        # as libvirt's managed save: the domain is shut off, its memory kept in a file
        self._guest(instance_id)
        self.saved.add(instance_id)
        self.guests[instance_id] = states.SHUTDOWN
        self.calls.append(("suspend", instance_id))

    def resume(self, instance_id: str) -> None:
        self._guest(instance_id)
        if instance_id not in self.saved:
            raise InjectedFailure(f"guest {instance_id} has no saved state to resume")
        self.saved.discard(instance_id)
        self.guests[instance_id] = states.RUNNING
        self.calls.append(("resume", instance_id))

    def rebuild(self, instance_id: str, instance_dir: Path, base_image: Path | None,
                base_format: str, root_gb: int, power_on: bool,
                config_drive: ConfigDrive | None = None) -> None:
        """A new vda naming its base (tests read it back); vdb untouched."""
        self._guest(instance_id)
        if self.fail_at == "rebuild":
            raise InjectedFailure("injected failure at rebuild")
        if base_image is not None:
            (instance_dir / "disk").write_text(f"overlay on {base_image}")
        if config_drive is not None:
            self.config_drives[instance_id] = config_drive
        self.saved.discard(instance_id)
        self.guests[instance_id] = states.RUNNING if power_on else states.SHUTDOWN
        self.calls.append(("rebuild", instance_id))

    def power_on(self, instance_id: str) -> None:
        self._guest(instance_id)
        self.guests[instance_id] = states.RUNNING

    def reboot(self, instance_id: str, hard: bool) -> None:
        self._guest(instance_id)
        self.saved.discard(instance_id)
        self.guests[instance_id] = states.RUNNING

    def power_state(self, instance_id: str) -> int:
        return self.guests.get(instance_id, states.NOSTATE)

    def snapshot(self, instance_id: str, instance_dir: Path, dest: Path) -> str:
        self._guest(instance_id)
        # A real (empty) qcow2: the image service inspects uploads against their disk_format.
        from compute.disks import create_blank

        create_blank(dest, 1)
        return "qcow2"

    def rescue(self, spec: InstanceSpec) -> None:
        self._guest(spec.id)
        if self.fail_at == "rescue":
            raise InjectedFailure("injected failure at rescue")
        (spec.instance_dir / "disk.rescue").write_text(f"copy of {spec.base_image}")
        self.saved.discard(spec.id)
        self.guests[spec.id] = states.RUNNING
        self.calls.append(("rescue", spec.id))

    def unrescue(self, instance_id: str, instance_dir: Path) -> None:
        self._guest(instance_id)
        (instance_dir / "disk.rescue").unlink(missing_ok=True)
        self.guests[instance_id] = states.RUNNING
        self.calls.append(("unrescue", instance_id))

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
