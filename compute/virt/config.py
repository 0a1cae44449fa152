"""Plain objects for libvirt domain XML, each with ``to_xml()``.

These objects make no decisions: every value is given by the caller (see
:mod:`compute.virt.designer`) and rendered as is. ``to_xml()`` returns pretty-printed XML
(two-space indentation, no XML declaration) that libvirt's ``defineXML`` accepts; disks
render alone too, for hot-plug with ``attachDeviceFlags``.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Literal

#: Namespace of minicloud's ``<metadata>`` element: how a cloud recognises its own guests.
METADATA_NS = "https://minicloud.example/xmlns/instance/1"
METADATA_PREFIX = "minicloud"

DomainType = Literal["qemu", "kvm"]
DiskBus = Literal["virtio", "scsi", "sata", "ide"]
DiskFormat = Literal["qcow2", "raw"]


def _render(element: ET.Element) -> str:
    ET.indent(element, space="  ")
    return ET.tostring(element, encoding="unicode")


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    child = ET.SubElement(parent, tag, attrs)
    child.text = text
    return child


@dataclass
class BiosBoot:
    """Boot through SeaBIOS, QEMU's default firmware (nothing to render)."""


@dataclass
class UefiBoot:
    """Boot through OVMF: read-only code in pflash, per-guest NVRAM copied from a template."""

    loader: str
    nvram_path: str
    nvram_template: str


@dataclass
class KernelBoot:
    """Direct kernel boot (AMI-style images): QEMU loads kernel and initrd itself."""

    kernel: str
    initrd: str | None = None
    cmdline: str | None = None


@dataclass
class FileDisk:
    """A disk backed by a local image file."""

    path: str
    format: DiskFormat = "qcow2"
    target_dev: str = "vda"
    bus: DiskBus = "virtio"
    serial: str | None = None
    readonly: bool = False
    device: Literal["disk", "cdrom"] = "disk"

    def to_element(self) -> ET.Element:
        disk = ET.Element("disk", {"type": "file", "device": self.device})
        ET.SubElement(disk, "driver", {"name": "qemu", "type": self.format})
        ET.SubElement(disk, "source", {"file": self.path})
        ET.SubElement(disk, "target", {"dev": self.target_dev, "bus": self.bus})
        if self.serial is not None:
            _text(disk, "serial", self.serial)
        if self.readonly:
            ET.SubElement(disk, "readonly")
        return disk

    def to_xml(self) -> str:
        return _render(self.to_element())


@dataclass(kw_only=True)
class NetworkDisk:
    """A disk QEMU reaches over the network (an iSCSI LUN: ``name`` is ``IQN/LUN``).

    With ``auth_username``, ``secret_uuid`` names the libvirt secret holding the CHAP password.
    ``readonly`` renders ``<readonly/>`` (QEMU opens the LUN read-only); ``iotune`` renders
    ``<iotune>`` with one child per key (libvirt's names: ``total_bytes_sec``,
    ``read_iops_sec``...), in the given order.
    """

    protocol: Literal["iscsi"] = "iscsi"
    name: str
    host: str
    port: int = 3260
    target_dev: str
    bus: DiskBus = "virtio"
    serial: str | None = None
    auth_username: str | None = None
    secret_uuid: str | None = None
    readonly: bool = False
    iotune: dict[str, int] = field(default_factory=dict)

    def to_element(self) -> ET.Element:
        disk = ET.Element("disk", {"type": "network", "device": "disk"})
        ET.SubElement(disk, "driver", {"name": "qemu", "type": "raw", "cache": "none"})
        source = ET.SubElement(disk, "source", {"protocol": self.protocol, "name": self.name})
        ET.SubElement(source, "host", {"name": self.host, "port": str(self.port)})
        if self.auth_username is not None:
            auth = ET.SubElement(disk, "auth", {"username": self.auth_username})
            if self.secret_uuid is not None:
                ET.SubElement(auth, "secret", {"type": self.protocol, "uuid": self.secret_uuid})
        ET.SubElement(disk, "target", {"dev": self.target_dev, "bus": self.bus})
        if self.iotune:
            iotune = ET.SubElement(disk, "iotune")
            for key, value in self.iotune.items():
                _text(iotune, key, str(value))
        if self.serial is not None:
            _text(disk, "serial", self.serial)
        if self.readonly:
            ET.SubElement(disk, "readonly")
        return disk

    def to_xml(self) -> str:
        return _render(self.to_element())


Disk = FileDisk | NetworkDisk


@dataclass
class Controller:
    """A device controller, e.g. ``Controller("scsi", "virtio-scsi")`` for ``sd*`` disks."""

    type: str
    model: str
    index: int = 0

    def to_element(self) -> ET.Element:
        return ET.Element("controller", {"type": self.type, "index": str(self.index),
                                         "model": self.model})


@dataclass
class Video:
    """A video adapter: ``<video><model type="virtio"/></video>`` (``none``: explicitly
    none)."""

    model: str

    def to_element(self) -> ET.Element:
        video = ET.Element("video")
        ET.SubElement(video, "model", {"type": self.model})
        return video


@dataclass
class Rng:
    """A random-number generator device fed from a host file (``/dev/urandom``)."""

    model: str
    backend: str

    def to_element(self) -> ET.Element:
        rng = ET.Element("rng", {"model": self.model})
        _text(rng, "backend", self.backend, model="random")
        return rng


@dataclass
class InstanceMetadata:
    """minicloud's ``<metadata>``: which cloud owns the guest, and the instance's name."""

    cloud_id: str
    name: str

    def to_element(self) -> ET.Element:
        metadata = ET.Element("metadata")
        p = METADATA_PREFIX
        # Literal prefixed tags keep the xmlns declaration on this element (ElementTree's
        # namespace support would hoist it to <domain> and needs a global registry).
        instance = ET.SubElement(metadata, f"{p}:instance", {f"xmlns:{p}": METADATA_NS})
        ET.SubElement(instance, f"{p}:cloud", {"id": self.cloud_id})
        _text(instance, f"{p}:name", self.name)
        return metadata


@dataclass(kw_only=True)
class DomainConfig:
    """A whole libvirt domain.

    Fixed by design (not fields): ACPI and APIC on (without ACPI ``poweroff`` halts instead
    of powering off), UTC clock, ``on_poweroff``/``on_crash`` destroy and ``on_reboot``
    restart, no graphics, no memory balloon. ``console_log`` is the file that receives
    everything the guest writes on its first serial port (ttyS0).
    """

    type: DomainType = "qemu"
    name: str
    uuid: str
    memory_mib: int
    vcpus: int
    arch: str = "x86_64"
    machine: str | None = None
    firmware: BiosBoot | UefiBoot = field(default_factory=BiosBoot)
    kernel_boot: KernelBoot | None = None
    disks: list[Disk] = field(default_factory=list)
    controllers: list[Controller] = field(default_factory=list)
    #: Other devices (``hw_video_model``, ``hw_rng_model``: compute.virt.hardware).
    devices: list[Video | Rng] = field(default_factory=list)
    #: BIOS boot order (``cdrom`` first for an ``iso`` image).
    boot: tuple[str, ...] = ("hd",)
    console_log: str | None = None
    metadata: InstanceMetadata | None = None

    def to_xml(self) -> str:
        domain = ET.Element("domain", {"type": self.type})
        _text(domain, "name", self.name)
        _text(domain, "uuid", self.uuid)
        if self.metadata is not None:
            domain.append(self.metadata.to_element())
        _text(domain, "memory", str(self.memory_mib), unit="MiB")
        _text(domain, "vcpu", str(self.vcpus))
        domain.append(self._os_element())
        features = ET.SubElement(domain, "features")
        ET.SubElement(features, "acpi")
        ET.SubElement(features, "apic")
        ET.SubElement(domain, "clock", {"offset": "utc"})
        _text(domain, "on_poweroff", "destroy")
        _text(domain, "on_reboot", "restart")
        _text(domain, "on_crash", "destroy")
        domain.append(self._devices_element())
        return _render(domain)

    def _os_element(self) -> ET.Element:
        os_ = ET.Element("os")
        type_attrs = {"arch": self.arch}
        if self.machine is not None:
            type_attrs["machine"] = self.machine
        _text(os_, "type", "hvm", **type_attrs)
        if isinstance(self.firmware, UefiBoot):
            _text(os_, "loader", self.firmware.loader, readonly="yes", type="pflash")
            _text(os_, "nvram", self.firmware.nvram_path,
                  template=self.firmware.nvram_template)
        if self.kernel_boot is not None:
            _text(os_, "kernel", self.kernel_boot.kernel)
            if self.kernel_boot.initrd is not None:
                _text(os_, "initrd", self.kernel_boot.initrd)
            if self.kernel_boot.cmdline is not None:
                _text(os_, "cmdline", self.kernel_boot.cmdline)
        else:
            for dev in self.boot:
                ET.SubElement(os_, "boot", {"dev": dev})
        return os_

    def _devices_element(self) -> ET.Element:
        devices = ET.Element("devices")
        for disk in self.disks:
            devices.append(disk.to_element())
        for controller in self.controllers:
            devices.append(controller.to_element())
        for device in self.devices:
            devices.append(device.to_element())
        if self.console_log is not None:
            # A pty whose output virtlogd copies to the log file: the file holds everything
            # the guest printed whether or not anyone is attached, virtlogd (root) writes it
            # so QEMU's user needs no write access to the instance directory, and
            # `virsh console` still works for debugging.
            serial = ET.SubElement(devices, "serial", {"type": "pty"})
            ET.SubElement(serial, "log", {"file": self.console_log, "append": "on"})
            ET.SubElement(serial, "target", {"port": "0"})
            console = ET.SubElement(devices, "console", {"type": "pty"})
            ET.SubElement(console, "target", {"type": "serial", "port": "0"})
        ET.SubElement(devices, "memballoon", {"model": "none"})
        return devices


@dataclass
class SecretConfig:
    """A persistent, private libvirt secret for an iSCSI target's CHAP password.

    ``usage_name`` is the target (libvirt allows one secret per usage).
    """

    uuid: str
    usage_name: str

    def to_xml(self) -> str:
        secret = ET.Element("secret", {"ephemeral": "no", "private": "yes"})
        _text(secret, "uuid", self.uuid)
        usage = ET.SubElement(secret, "usage", {"type": "iscsi"})
        _text(usage, "target", self.usage_name)
        return _render(secret)
