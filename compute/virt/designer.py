"""The designer: every decision about a guest's domain, as pure functions.

Flavor + image properties + disk paths + volume connections in, a
:class:`~compute.virt.config.DomainConfig` out; nothing here touches the host.
Image properties are user input: invalid values raise :class:`~minicloud.errors.BadRequest`.
"""
from __future__ import annotations

import string
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from compute.virt.config import (
    BiosBoot,
    Controller,
    Disk,
    DiskBus,
    DiskFormat,
    DomainConfig,
    DomainType,
    FileDisk,
    InstanceMetadata,
    KernelBoot,
    NetworkDisk,
    Rng,
    UefiBoot,
    Video,
)
from compute.virt.hardware import RNG_BACKEND, Hardware, resolve
from minicloud.errors import BadRequest, ConfigError

DEFAULT_UEFI_LOADER = "/usr/share/OVMF/OVMF_CODE_4M.fd"
DEFAULT_NVRAM_TEMPLATE = "/usr/share/OVMF/OVMF_VARS_4M.fd"
#: OVMF code -> the variable store built with it (sizes must match: 2 MiB vs 4 MiB flash).
NVRAM_TEMPLATES = {
    "/usr/share/OVMF/OVMF_CODE_4M.fd": DEFAULT_NVRAM_TEMPLATE,
    "/usr/share/OVMF/OVMF_CODE.fd": "/usr/share/OVMF/OVMF_VARS.fd",
    "/usr/share/OVMF/OVMF_CODE_4M.ms.fd": "/usr/share/OVMF/OVMF_VARS_4M.ms.fd",
    "/usr/share/OVMF/OVMF_CODE.ms.fd": "/usr/share/OVMF/OVMF_VARS.ms.fd",
}
#: Device-name prefix of each disk bus, as the guest kernel names them.
BUS_PREFIXES: dict[str, str] = {"virtio": "vd", "scsi": "sd", "sata": "sd", "ide": "hd"}
#: IDE has two channels of two devices; the other buses are limited by the names only.
_BUS_MAX_DEVICES = {"ide": 4}
DEFAULT_BUS: DiskBus = "virtio"
CONSOLE_LOG = "console.log"
NVRAM_FILE = "nvram.fd"
DOMAIN_PREFIX = "minicloud-"


@dataclass(frozen=True)
class VirtSettings:
    """The compute agent's virt settings (from the ``[compute]`` configuration section).

    ``nvram_template`` None: the template that matches ``uefi_loader`` (see NVRAM_TEMPLATES).
    """

    virt_type: DomainType = "qemu"
    uefi_loader: str = DEFAULT_UEFI_LOADER
    nvram_template: str | None = None

    def __post_init__(self) -> None:
        if self.virt_type not in ("qemu", "kvm"):
            raise ConfigError(f"[compute] virt_type = {self.virt_type!r}: 'qemu' or 'kvm' "
                              "is required")

    def uefi_nvram_template(self) -> str:
        """The NVRAM template for ``uefi_loader``; ConfigError when it cannot be derived."""
        if self.nvram_template is not None:
            return self.nvram_template
        try:
            return NVRAM_TEMPLATES[self.uefi_loader]
        except KeyError:
            raise ConfigError(f"[compute] uefi_loader = {self.uefi_loader!r}: no known NVRAM "
                              f"template for it (known loaders: {sorted(NVRAM_TEMPLATES)})"
                              ) from None


@dataclass(frozen=True)
class VolumeConnection:
    """How compute reaches a volume: an iSCSI LUN, optionally behind CHAP.

    ``secret_uuid`` names the libvirt secret holding the CHAP password (the agent defines it
    with :meth:`compute.virt.host.Host.define_secret` before attaching).
    """

    volume_id: str
    target_iqn: str
    target_lun: int
    host: str
    port: int = 3260
    auth_username: str | None = None
    secret_uuid: str | None = None
    readonly: bool = False                      # connection info access_mode "ro"
    iotune: Mapping[str, int] = field(default_factory=dict)  # see iotune_from_qos


#: The qos-specs keys Nova's libvirt driver turns into ``<iotune>`` children (same names).
IOTUNE_KEYS = ("total_bytes_sec", "read_bytes_sec", "write_bytes_sec", "total_iops_sec",
               "read_iops_sec", "write_iops_sec", "size_iops_sec")


def iotune_from_qos(qos_specs: Mapping[str, object] | None) -> dict[str, int]:
    """The ``<iotune>`` limits of a volume's front-end qos-specs (connection info
    ``qos_specs``), as Nova maps them: the keys of :data:`IOTUNE_KEYS` whose value is a
    non-negative integer (or its digits); other keys (back-end specs) are not the guest's."""
    tune: dict[str, int] = {}
    for key in IOTUNE_KEYS:
        value = (qos_specs or {}).get(key)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
            if int(value) >= 0:
                tune[key] = int(value)
    return tune


def domain_name(instance_uuid: str) -> str:
    """The libvirt domain name of an instance: unique, since instance ids are uuid4."""
    return f"{DOMAIN_PREFIX}{instance_uuid}"


def disk_bus(image_properties: Mapping[str, str]) -> DiskBus:
    """The bus of every disk of a guest: ``hw_disk_bus`` (default virtio)."""
    bus = image_properties.get("hw_disk_bus") or DEFAULT_BUS
    if bus not in BUS_PREFIXES:
        raise BadRequest(f"hw_disk_bus = {bus!r}: one of {sorted(BUS_PREFIXES)} is required")
    return bus  # type: ignore[return-value]


def _letters(index: int) -> str:
    """0 -> a, 25 -> z, 26 -> aa (the kernel's sd/vd naming)."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = string.ascii_lowercase[rest] + name
    return name


def next_device_name(bus: str, used_names: Collection[str]) -> str:
    """The first free device name of ``bus`` (``vda``, ``vdb``... ``vdz``, ``vdaa``...).

    ``used_names`` may hold names of any bus, with or without ``/dev/``. Raises BadRequest
    for an unknown bus or when the bus has no free name left (IDE: four devices).
    """
    if bus not in BUS_PREFIXES:
        raise BadRequest(f"disk bus {bus!r}: one of {sorted(BUS_PREFIXES)} is required")
    used = {PurePosixPath(name).name for name in used_names}
    prefix = BUS_PREFIXES[bus]
    for index in range(_BUS_MAX_DEVICES.get(bus, 26 * 27)):
        name = prefix + _letters(index)
        if name not in used:
            return name
    raise BadRequest(f"no free device name left on the {bus} bus")


def volume_disk(volume: VolumeConnection, bus: DiskBus, target_dev: str) -> NetworkDisk:
    """The disk of a volume; its serial is the volume id (the guest sees it in by-id links).
    A read-only volume is ``<readonly/>``, a qos-limited one carries ``<iotune>``."""
    return NetworkDisk(protocol="iscsi", name=f"{volume.target_iqn}/{volume.target_lun}",
                       host=volume.host, port=volume.port, target_dev=target_dev, bus=bus,
                       serial=volume.volume_id, auth_username=volume.auth_username,
                       secret_uuid=volume.secret_uuid, readonly=volume.readonly,
                       iotune=dict(volume.iotune))


def _firmware(image_properties: Mapping[str, str], instance_dir: Path,
              settings: VirtSettings) -> BiosBoot | UefiBoot:
    kind = (image_properties.get("hw_firmware_type") or "bios").lower()
    if kind == "bios":
        return BiosBoot()
    if kind == "uefi":
        return UefiBoot(loader=settings.uefi_loader, nvram_path=str(instance_dir / NVRAM_FILE),
                        nvram_template=settings.uefi_nvram_template())
    raise BadRequest(f"hw_firmware_type = {kind!r}: 'bios' or 'uefi' is required")


#: The bus of config drives: every machine type has it, and it is not virtio's.
CONFIG_DRIVE_BUS: DiskBus = "sata"


def config_drive_disk(path: str | Path, fmt: str, used: Collection[str]) -> FileDisk:
    """The config drive: a read-only CD-ROM (iso9660) or a disk (vfat: QEMU's SATA disks
    cannot be read-only), on :data:`CONFIG_DRIVE_BUS`."""
    target = next_device_name(CONFIG_DRIVE_BUS, used)
    if fmt == "vfat":
        return FileDisk(str(path), "raw", target, CONFIG_DRIVE_BUS)
    return FileDisk(str(path), "raw", target, CONFIG_DRIVE_BUS, readonly=True, device="cdrom")


def _controllers(hw: Hardware, with_cdrom: bool) -> list[Controller]:
    """A virtio-scsi controller when a disk (or the CD-ROM) is on the scsi bus; the other
    buses' controllers come with the machine type (libvirt adds an AHCI one to i440fx)."""
    if hw.disk_bus == "scsi" or (with_cdrom and hw.cdrom_bus == "scsi"):
        return [Controller("scsi", "virtio-scsi")]
    return []


def _devices(hw: Hardware) -> list[Video | Rng]:
    devices: list[Video | Rng] = []
    if hw.video is not None:
        devices.append(Video(hw.video))
    if hw.rng is not None:
        devices.append(Rng(hw.rng, RNG_BACKEND))
    return devices


def design_domain(*, instance_uuid: str, name: str, cloud_id: str, vcpus: int,
                  memory_mib: int, image_properties: Mapping[str, str],
                  instance_dir: str | Path, root_disk: str | VolumeConnection,
                  ephemeral_disk: str | None = None,
                  disk_format: DiskFormat = "qcow2", kernel: str | None = None,
                  ramdisk: str | None = None, volumes: Sequence[VolumeConnection] = (),
                  settings: VirtSettings | None = None, config_drive: str | None = None,
                  config_drive_format: str = "iso9660", cdrom: str | None = None
                  ) -> DomainConfig:
    """Design the domain of one instance.

    - Name ``minicloud-<instance_uuid>``; the domain UUID is the instance id, so the guest's
      SMBIOS system UUID equals it. The metadata names ``cloud_id`` and the display ``name``.
    - Firmware from ``hw_firmware_type`` (bios by default; uefi: the settings' loader, NVRAM
      at ``<instance_dir>/nvram.fd``); machine ``hw_machine_type``, else q35 for UEFI, else
      libvirt's default.
    - Disks, all on ``hw_disk_bus``: root first (vda; a local file, or a volume when the
      server boots from one), the ephemeral disk next when given, then the volumes in
      order, each volume with its id as serial. ``scsi`` adds a virtio-scsi controller.
    - ``kernel`` (and optional ``ramdisk``) selects direct kernel boot with the image's
      ``os_command_line``, else ``root=/dev/<root> console=ttyS0``.
    - ``config_drive`` (a raw image) is attached as Nova attaches it: iso9660 as a
      read-only CD-ROM, vfat as a disk, on the SATA bus whatever ``hw_disk_bus`` says (both
      i440fx and q35 have an AHCI controller then, and the vd* names stay as they are).
    - ``cdrom`` (an ``iso`` image, raw) is a read-only CD-ROM on ``hw_cdrom_bus``, after
      the disks, and the guest boots from it first (then from the root disk).
    - The ``hw_*`` properties of :mod:`compute.virt.hardware` choose the machine type, the
      buses, a video adapter and an RNG device (BadRequest for a value it refuses).
    - Console output goes to ``<instance_dir>/console.log``.
    """
    settings = settings or VirtSettings()
    instance_dir = Path(instance_dir)
    firmware = _firmware(image_properties, instance_dir, settings)
    hw = resolve(image_properties, uefi=isinstance(firmware, UefiBoot))
    bus = hw.disk_bus

    disks: list[Disk] = []
    used: list[str] = []
    for disk in (root_disk, ephemeral_disk, *volumes):
        if disk is None:
            continue
        used.append(next_device_name(bus, used))
        disks.append(volume_disk(disk, bus, used[-1]) if isinstance(disk, VolumeConnection)
                     else FileDisk(disk, disk_format, used[-1], bus))

    if cdrom is not None:
        used.append(next_device_name(hw.cdrom_bus, used))
        disks.append(FileDisk(cdrom, "raw", used[-1], hw.cdrom_bus,  # type: ignore[arg-type]
                              readonly=True, device="cdrom"))
    if config_drive is not None:
        disks.append(config_drive_disk(config_drive, config_drive_format, used))

    kernel_boot = None
    if kernel is not None:
        cmdline = image_properties.get("os_command_line") or f"root=/dev/{used[0]} console=ttyS0"
        kernel_boot = KernelBoot(kernel, ramdisk, cmdline)
    elif ramdisk is not None:
        raise BadRequest("a ramdisk needs a kernel (ramdisk_id without kernel_id)")

    return DomainConfig(
        type=settings.virt_type, name=domain_name(instance_uuid), uuid=instance_uuid,
        memory_mib=memory_mib, vcpus=vcpus, machine=hw.machine, firmware=firmware,
        kernel_boot=kernel_boot, disks=disks, controllers=_controllers(hw, cdrom is not None),
        devices=_devices(hw), boot=("cdrom", "hd") if cdrom is not None else ("hd",),
        console_log=str(instance_dir / CONSOLE_LOG),
        metadata=InstanceMetadata(cloud_id=cloud_id, name=name))
