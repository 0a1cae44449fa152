"""Domain XML objects against expected XML, the designer's decisions, device names."""
from __future__ import annotations

import textwrap
import xml.etree.ElementTree as ET

import pytest

from compute.virt.config import (
    BiosBoot,
    Controller,
    DomainConfig,
    FileDisk,
    InstanceMetadata,
    KernelBoot,
    NetworkDisk,
    SecretConfig,
    UefiBoot,
)
from compute.virt.designer import (
    VirtSettings,
    VolumeConnection,
    design_domain,
    next_device_name,
)
from minicloud.errors import BadRequest, ConfigError

UUID = "6f1c3a52-5b0e-4d8a-9a57-0c2f1e7d9b11"
IQN = "iqn.2025-01.example.minicloud:volume-1"


def expected(text: str) -> str:
    return textwrap.dedent(text).strip()


def test_bios_guest_with_two_disks() -> None:
    config = DomainConfig(
        name=f"minicloud-{UUID}", uuid=UUID, memory_mib=512, vcpus=2,
        disks=[FileDisk("/inst/disk"), FileDisk("/inst/disk.eph0", "raw", "vdb")],
        console_log="/inst/console.log", metadata=InstanceMetadata("cloud-a", "web-1"))
    assert config.to_xml() == expected(f"""
        <domain type="qemu">
          <name>minicloud-{UUID}</name>
          <uuid>{UUID}</uuid>
          <metadata>
            <minicloud:instance xmlns:minicloud="https://minicloud.example/xmlns/instance/1">
              <minicloud:cloud id="cloud-a" />
              <minicloud:name>web-1</minicloud:name>
            </minicloud:instance>
          </metadata>
          <memory unit="MiB">512</memory>
          <vcpu>2</vcpu>
          <os>
            <type arch="x86_64">hvm</type>
            <boot dev="hd" />
          </os>
          <features>
            <acpi />
            <apic />
          </features>
          <clock offset="utc" />
          <on_poweroff>destroy</on_poweroff>
          <on_reboot>restart</on_reboot>
          <on_crash>destroy</on_crash>
          <devices>
            <disk type="file" device="disk">
              <driver name="qemu" type="qcow2" />
              <source file="/inst/disk" />
              <target dev="vda" bus="virtio" />
            </disk>
            <disk type="file" device="disk">
              <driver name="qemu" type="raw" />
              <source file="/inst/disk.eph0" />
              <target dev="vdb" bus="virtio" />
            </disk>
            <serial type="pty">
              <log file="/inst/console.log" append="on" />
              <target port="0" />
            </serial>
            <console type="pty">
              <target type="serial" port="0" />
            </console>
            <memballoon model="none" />
          </devices>
        </domain>""")


def test_uefi_q35_guest() -> None:
    config = DomainConfig(
        type="kvm", name="uefi", uuid=UUID, memory_mib=1024, vcpus=1, machine="q35",
        firmware=UefiBoot("/usr/share/OVMF/OVMF_CODE_4M.fd", "/inst/nvram.fd",
                          "/usr/share/OVMF/OVMF_VARS_4M.fd"),
        disks=[FileDisk("/inst/disk", serial="root", readonly=True)])
    assert config.to_xml() == expected(f"""
        <domain type="kvm">
          <name>uefi</name>
          <uuid>{UUID}</uuid>
          <memory unit="MiB">1024</memory>
          <vcpu>1</vcpu>
          <os>
            <type arch="x86_64" machine="q35">hvm</type>
            <loader readonly="yes" type="pflash">/usr/share/OVMF/OVMF_CODE_4M.fd</loader>
            <nvram template="/usr/share/OVMF/OVMF_VARS_4M.fd">/inst/nvram.fd</nvram>
            <boot dev="hd" />
          </os>
          <features>
            <acpi />
            <apic />
          </features>
          <clock offset="utc" />
          <on_poweroff>destroy</on_poweroff>
          <on_reboot>restart</on_reboot>
          <on_crash>destroy</on_crash>
          <devices>
            <disk type="file" device="disk">
              <driver name="qemu" type="qcow2" />
              <source file="/inst/disk" />
              <target dev="vda" bus="virtio" />
              <serial>root</serial>
              <readonly />
            </disk>
            <memballoon model="none" />
          </devices>
        </domain>""")


def test_direct_kernel_boot() -> None:
    config = DomainConfig(
        name="k", uuid=UUID, memory_mib=256, vcpus=1,
        kernel_boot=KernelBoot("/inst/kernel", "/inst/ramdisk", "root=/dev/vda console=ttyS0"),
        disks=[FileDisk("/inst/disk")], controllers=[Controller("scsi", "virtio-scsi")])
    assert config.to_xml() == expected(f"""
        <domain type="qemu">
          <name>k</name>
          <uuid>{UUID}</uuid>
          <memory unit="MiB">256</memory>
          <vcpu>1</vcpu>
          <os>
            <type arch="x86_64">hvm</type>
            <kernel>/inst/kernel</kernel>
            <initrd>/inst/ramdisk</initrd>
            <cmdline>root=/dev/vda console=ttyS0</cmdline>
          </os>
          <features>
            <acpi />
            <apic />
          </features>
          <clock offset="utc" />
          <on_poweroff>destroy</on_poweroff>
          <on_reboot>restart</on_reboot>
          <on_crash>destroy</on_crash>
          <devices>
            <disk type="file" device="disk">
              <driver name="qemu" type="qcow2" />
              <source file="/inst/disk" />
              <target dev="vda" bus="virtio" />
            </disk>
            <controller type="scsi" index="0" model="virtio-scsi" />
            <memballoon model="none" />
          </devices>
        </domain>""")


def test_iscsi_network_disk_with_chap_secret() -> None:
    disk = NetworkDisk(name=f"{IQN}/1", host="127.0.0.1", port=3260, target_dev="vdc",
                       bus="virtio", serial="vol-1", auth_username="chapuser",
                       secret_uuid="0b5e0b55-9d1c-4a0e-8b7e-5d0f6c1a2b3c")
    assert disk.to_xml() == expected(f"""
        <disk type="network" device="disk">
          <driver name="qemu" type="raw" cache="none" />
          <source protocol="iscsi" name="{IQN}/1">
            <host name="127.0.0.1" port="3260" />
          </source>
          <auth username="chapuser">
            <secret type="iscsi" uuid="0b5e0b55-9d1c-4a0e-8b7e-5d0f6c1a2b3c" />
          </auth>
          <target dev="vdc" bus="virtio" />
          <serial>vol-1</serial>
        </disk>""")


def test_iscsi_network_disk_without_auth() -> None:
    disk = NetworkDisk(name=f"{IQN}/1", host="10.0.0.5", port=3261, target_dev="sdb",
                       bus="scsi")
    assert disk.to_xml() == expected(f"""
        <disk type="network" device="disk">
          <driver name="qemu" type="raw" cache="none" />
          <source protocol="iscsi" name="{IQN}/1">
            <host name="10.0.0.5" port="3261" />
          </source>
          <target dev="sdb" bus="scsi" />
        </disk>""")


def test_secret() -> None:
    assert SecretConfig("0b5e0b55-9d1c-4a0e-8b7e-5d0f6c1a2b3c", IQN).to_xml() == expected(f"""
        <secret ephemeral="no" private="yes">
          <uuid>0b5e0b55-9d1c-4a0e-8b7e-5d0f6c1a2b3c</uuid>
          <usage type="iscsi">
            <target>{IQN}</target>
          </usage>
        </secret>""")


def test_text_and_attributes_are_escaped() -> None:
    xml = DomainConfig(name="a", uuid=UUID, memory_mib=1, vcpus=1,
                       metadata=InstanceMetadata("c", "<b> & \"q\"")).to_xml()
    assert ET.fromstring(xml).find(".//{https://minicloud.example/xmlns/instance/1}name"
                                   ).text == "<b> & \"q\""


# --- designer -------------------------------------------------------------------------

def design(**overrides: object) -> DomainConfig:
    args: dict = dict(instance_uuid=UUID, name="web-1", cloud_id="cloud-a", vcpus=2,
                      memory_mib=512, image_properties={}, instance_dir="/inst",
                      root_disk="/inst/disk")
    args.update(overrides)
    return design_domain(**args)


def volume(n: int, **kw: object) -> VolumeConnection:
    return VolumeConnection(volume_id=f"vol-{n}", target_iqn=f"{IQN[:-1]}{n}", target_lun=1,
                            host="127.0.0.1", **kw)  # type: ignore[arg-type]


def test_design_bios_guest() -> None:
    config = design(ephemeral_disk="/inst/disk.eph0")
    assert config == DomainConfig(
        type="qemu", name=f"minicloud-{UUID}", uuid=UUID, memory_mib=512, vcpus=2,
        machine=None, firmware=BiosBoot(), kernel_boot=None,
        disks=[FileDisk("/inst/disk", "qcow2", "vda", "virtio"),
               FileDisk("/inst/disk.eph0", "qcow2", "vdb", "virtio")],
        console_log="/inst/console.log", metadata=InstanceMetadata("cloud-a", "web-1"))


@pytest.mark.parametrize(("loader", "template"), [
    ("/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"),
    ("/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"),
])
def test_design_uefi_guest(loader: str, template: str) -> None:
    config = design(image_properties={"hw_firmware_type": "uefi"},
                    settings=VirtSettings(uefi_loader=loader))
    assert config.firmware == UefiBoot(loader, "/inst/nvram.fd", template)
    assert config.machine == "q35"


def test_design_uefi_default_loader_and_machine_type_from_image() -> None:
    config = design(image_properties={"hw_firmware_type": "uefi",
                                      "hw_machine_type": "pc-q35-7.2"})
    assert config.firmware == UefiBoot("/usr/share/OVMF/OVMF_CODE_4M.fd", "/inst/nvram.fd",
                                       "/usr/share/OVMF/OVMF_VARS_4M.fd")
    assert config.machine == "pc-q35-7.2"


def test_design_unknown_uefi_loader_needs_a_template() -> None:
    with pytest.raises(ConfigError, match="uefi_loader"):
        design(image_properties={"hw_firmware_type": "uefi"},
               settings=VirtSettings(uefi_loader="/opt/fw/CODE.bin"))
    config = design(image_properties={"hw_firmware_type": "uefi"},
                    settings=VirtSettings(uefi_loader="/opt/fw/CODE.bin",
                                          nvram_template="/opt/fw/VARS.bin"))
    assert config.firmware == UefiBoot("/opt/fw/CODE.bin", "/inst/nvram.fd", "/opt/fw/VARS.bin")


def test_design_scsi_bus_names_sd_and_adds_a_controller() -> None:
    config = design(image_properties={"hw_disk_bus": "scsi"}, ephemeral_disk="/inst/eph",
                    volumes=[volume(1)])
    assert [(d.target_dev, d.bus) for d in config.disks] == [
        ("sda", "scsi"), ("sdb", "scsi"), ("sdc", "scsi")]
    assert config.controllers == [Controller("scsi", "virtio-scsi")]


def test_design_volumes_follow_root_without_ephemeral() -> None:
    config = design(volumes=[volume(1), volume(2, auth_username="u", secret_uuid="s-2")])
    assert config.disks[1:] == [
        NetworkDisk(name=f"{IQN}/1", host="127.0.0.1", target_dev="vdb", serial="vol-1"),
        NetworkDisk(name=f"{IQN[:-1]}2/1", host="127.0.0.1", target_dev="vdc",
                    serial="vol-2", auth_username="u", secret_uuid="s-2")]


def test_design_volumes_follow_ephemeral() -> None:
    config = design(ephemeral_disk="/inst/eph", volumes=[volume(1), volume(2)])
    assert [d.target_dev for d in config.disks] == ["vda", "vdb", "vdc", "vdd"]
    assert [d.serial for d in config.disks] == [None, None, "vol-1", "vol-2"]


def test_design_kernel_boot() -> None:
    config = design(kernel="/inst/kernel", ramdisk="/inst/ramdisk", disk_format="raw",
                    settings=VirtSettings(virt_type="kvm"))
    assert config.kernel_boot == KernelBoot("/inst/kernel", "/inst/ramdisk",
                                            "root=/dev/vda console=ttyS0")
    assert config.type == "kvm"
    assert config.disks == [FileDisk("/inst/disk", "raw", "vda")]
    config = design(kernel="/k", image_properties={"os_command_line": "quiet console=ttyS0",
                                                   "hw_disk_bus": "sata"})
    assert config.kernel_boot == KernelBoot("/k", None, "quiet console=ttyS0")


@pytest.mark.parametrize(("overrides", "message"), [
    ({"image_properties": {"hw_firmware_type": "coreboot"}}, "hw_firmware_type"),
    ({"image_properties": {"hw_disk_bus": "usb"}}, "hw_disk_bus"),
    ({"ramdisk": "/inst/ramdisk"}, "kernel"),
])
def test_design_rejects_bad_input(overrides: dict, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        design(**overrides)


def test_virt_type_is_validated() -> None:
    with pytest.raises(ConfigError, match="virt_type"):
        VirtSettings(virt_type="xen")  # type: ignore[arg-type]


# --- device names ---------------------------------------------------------------------

@pytest.mark.parametrize(("bus", "used", "name"), [
    ("virtio", [], "vda"),
    ("virtio", ["vda"], "vdb"),
    ("virtio", ["vda", "vdc"], "vdb"),
    ("virtio", ["/dev/vda", "/dev/vdb"], "vdc"),
    ("scsi", ["vda"], "sda"),
    ("sata", ["sda", "sdb"], "sdc"),
    ("ide", ["hda", "hdb", "hdc"], "hdd"),
    ("virtio", [f"vd{chr(c)}" for c in range(ord("a"), ord("z") + 1)], "vdaa"),
    ("virtio", [f"vd{chr(c)}" for c in range(ord("a"), ord("z") + 1)] + ["vdaa"], "vdab"),
])
def test_next_device_name(bus: str, used: list[str], name: str) -> None:
    assert next_device_name(bus, used) == name


def test_next_device_name_limits() -> None:
    with pytest.raises(BadRequest, match="ide"):
        next_device_name("ide", ["hda", "hdb", "hdc", "hdd"])
    with pytest.raises(BadRequest, match="floppy"):
        next_device_name("floppy", [])
