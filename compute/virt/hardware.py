"""Image properties that choose a guest's virtual hardware, and what each becomes in libvirt.

One table, :data:`HARDWARE`: for each ``hw_*`` property minicloud honours, every value it
accepts and the domain XML that value produces. Anything else is refused with the reason
(:func:`resolve` raises :class:`~minicloud.errors.BadRequest`), and the compute API resolves
the image's properties when a server is created, so a bad value is a 400 at
``POST /servers``, never a build that fails on the host.

=================== ======================================================================
property            values (and their XML)
=================== ======================================================================
``hw_machine_type`` ``pc``, ``q35`` and the versioned ``pc-i440fx-X.Y`` / ``pc-q35-X.Y`` this
                    host's QEMU lists: ``<os><type machine="..."/>``. Default: libvirt's
                    (i440fx), q35 with UEFI firmware.
``hw_disk_bus``     ``virtio`` (vda...), ``scsi`` (sda... on a virtio-scsi controller),
                    ``sata`` (sda... on the AHCI controller), ``ide`` (hda..., i440fx only:
                    q35 has no IDE): ``<target bus="..."/>`` on every disk.
``hw_cdrom_bus``    the bus of a CD-ROM (an ``iso`` image): ``ide`` (i440fx only),
                    ``sata``, ``scsi``. Default: ``ide`` on i440fx, ``sata`` on q35.
``hw_video_model``  ``virtio``, ``vga``, ``cirrus``, ``qxl``, ``bochs``, ``none``:
                    ``<video><model type="..."/></video>``. Default: no video device.
``hw_rng_model``    ``virtio``: ``<rng model="virtio"><backend model="random">/dev/urandom
                    </backend></rng>`` (the guest's ``/dev/hwrng``). Default: none.
=================== ======================================================================
"""
from __future__ import annotations

import functools
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass

from minicloud import process
from minicloud.errors import BadRequest, MinicloudError

QEMU = "qemu-system-x86_64"
RNG_BACKEND = "/dev/urandom"

#: property -> accepted value -> the libvirt XML it produces (documentation and the refusal
#: messages read it; :class:`compute.virt.config` renders it).
HARDWARE: dict[str, dict[str, str]] = {
    "hw_machine_type": {
        "pc": '<type machine="pc">hvm</type> (i440FX + PIIX)',
        "q35": '<type machine="q35">hvm</type> (Q35 + ICH9)',
        "pc-i440fx-X.Y": "a versioned i440FX machine this host's QEMU lists",
        "pc-q35-X.Y": "a versioned Q35 machine this host's QEMU lists",
    },
    "hw_disk_bus": {
        "virtio": '<target dev="vda" bus="virtio"/>',
        "scsi": '<target dev="sda" bus="scsi"/> + <controller type="scsi" '
                'model="virtio-scsi"/>',
        "sata": '<target dev="sda" bus="sata"/>',
        "ide": '<target dev="hda" bus="ide"/> (i440fx machines only)',
    },
    "hw_cdrom_bus": {
        "ide": '<disk device="cdrom"><target dev="hda" bus="ide"/> (i440fx machines only)',
        "sata": '<disk device="cdrom"><target dev="sda" bus="sata"/>',
        "scsi": '<disk device="cdrom"><target dev="sda" bus="scsi"/> + virtio-scsi',
    },
    "hw_video_model": {
        "virtio": '<video><model type="virtio"/></video>',
        "vga": '<video><model type="vga"/></video>',
        "cirrus": '<video><model type="cirrus"/></video>',
        "qxl": '<video><model type="qxl"/></video>',
        "bochs": '<video><model type="bochs"/></video>',
        "none": '<video><model type="none"/></video>',
    },
    "hw_rng_model": {
        "virtio": f'<rng model="virtio"><backend model="random">{RNG_BACKEND}</backend></rng>',
    },
}

#: Values Nova knows that this cloud refuses, with the reason.
REFUSED: dict[tuple[str, str], str] = {
    ("hw_disk_bus", "usb"): "USB disks are not offered by minicloud's libvirt driver",
    ("hw_disk_bus", "fdc"): "floppy disks cannot hold a root disk",
    ("hw_cdrom_bus", "virtio"): "QEMU has no virtio CD-ROM (virtio-blk is disk only)",
    ("hw_cdrom_bus", "usb"): "USB CD-ROMs are not offered by minicloud's libvirt driver",
    ("hw_video_model", "vmvga"): "the VMware SVGA adapter is not offered (legacy, unsafe)",
    ("hw_video_model", "xen"): "this cloud's hypervisor is QEMU/KVM, not Xen",
    ("hw_video_model", "gop"): "GOP is a firmware framebuffer, not a QEMU/KVM device",
}
for _key in ("xen", "lxc", "uml"):
    REFUSED[("hw_disk_bus", _key)] = f"the {_key} bus belongs to another hypervisor"
    REFUSED[("hw_cdrom_bus", _key)] = f"the {_key} bus belongs to another hypervisor"

#: Glance's disk_format -> the format name QEMU opens it with. ``iso`` stays ``iso``: it is
#: not a disk but a CD-ROM (raw), attached as such by the driver; AMI parts are plain bytes.
QEMU_FORMATS = {"vhd": "vpc", "ami": "raw", "aki": "raw", "ari": "raw"}
#: The base format of an image booted from a CD-ROM (see QEMU_FORMATS).
CDROM_FORMAT = "iso"

_VERSIONED = re.compile(r"pc-(i440fx|q35)-[0-9]+\.[0-9]+\Z")


@dataclass(frozen=True)
class Hardware:
    """A guest's resolved virtual hardware (None: libvirt's default / no device)."""

    machine: str | None = None
    disk_bus: str = "virtio"
    cdrom_bus: str = "ide"
    video: str | None = None
    rng: str | None = None

    @property
    def q35(self) -> bool:
        return self.machine is not None and (self.machine == "q35"
                                             or self.machine.startswith("pc-q35-"))


@functools.lru_cache(maxsize=1)
def qemu_machines() -> frozenset[str] | None:
    """The machine types (and aliases) this host's QEMU lists; None without QEMU here."""
    if shutil.which(QEMU) is None:
        return None
    try:
        out = process.run([QEMU, "-machine", "help"], timeout=30).stdout.decode()
    except MinicloudError:
        return None
    return frozenset(line.split()[0] for line in out.splitlines()[1:] if line.strip())


def _refuse(prop: str, value: str, reason: str | None = None) -> BadRequest:
    accepted = ", ".join(HARDWARE[prop])
    why = reason or REFUSED.get((prop, value)) or f"accepted values: {accepted}"
    return BadRequest(f"Image property {prop}={value[:64]!r} is not supported: {why}.")


def _machine(value: str | None) -> str | None:
    if value is None or value in ("pc", "q35"):
        return value
    if not _VERSIONED.match(value):
        raise _refuse("hw_machine_type", value)
    known = qemu_machines()
    if known is not None and value not in known:
        raise _refuse("hw_machine_type", value, "this host's QEMU does not list that "
                                                f"machine (see `{QEMU} -machine help`)")
    return value


def _pick(props: Mapping[str, str], prop: str, default: str | None) -> str | None:
    value = props.get(prop)
    if value is None or value == "":
        return default
    if value not in HARDWARE[prop]:
        raise _refuse(prop, value)
    return value


def qemu_format(disk_format: str | None) -> str:
    """The format QEMU (and qemu-img) must be told for an image of ``disk_format``."""
    fmt = disk_format or "raw"
    return QEMU_FORMATS.get(fmt, fmt)


def check_image(props: Mapping[str, str]) -> Hardware:
    """:func:`resolve` an image's properties as a server create sees them (UEFI firmware
    from ``hw_firmware_type``): the compute API's 400 before anything is built."""
    uefi = (props.get("hw_firmware_type") or "").lower() == "uefi"
    return resolve(props, uefi=uefi)


def resolve(props: Mapping[str, str], uefi: bool = False) -> Hardware:
    """The hardware an image's properties ask for (``uefi``: the firmware is UEFI, whose
    machine defaults to q35); BadRequest naming the property, value and reason otherwise."""
    machine = _machine(props.get("hw_machine_type") or None) or ("q35" if uefi else None)
    hw = Hardware(machine=machine)
    disk_bus = _pick(props, "hw_disk_bus", "virtio")
    cdrom_bus = _pick(props, "hw_cdrom_bus", "sata" if hw.q35 else "ide")
    for prop, bus in (("hw_disk_bus", disk_bus), ("hw_cdrom_bus", cdrom_bus)):
        if bus == "ide" and hw.q35:
            raise _refuse(prop, "ide", "the q35 machine type has no IDE controller "
                                       "(use sata)")
    return Hardware(machine=machine, disk_bus=disk_bus or "virtio",
                    cdrom_bus=cdrom_bus or "ide",
                    video=_pick(props, "hw_video_model", None),
                    rng=_pick(props, "hw_rng_model", None))

