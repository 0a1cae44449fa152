"""The tiny lab guests: report parsing, reproducible cached builds, and real boots under TCG.

The real boots run QEMU directly (no libvirt): software emulation, serial console to a file.
"""
from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from compute import guest_image
from compute.guest_image import (
    GuestDisk,
    GuestImage,
    GuestMetadata,
    GuestReport,
    GuestVolume,
    build_guest_images,
    parse_report,
)
from minicloud.errors import MinicloudError
from minicloud.process import run, spawn

MIB = 1 << 20
OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")

SAMPLE = (
    "SeaBIOS (version 1.16.2)\r\n"
    "Booting from Hard Disk...\r\n"
    "\x1bc\x1b[?7l\x1b[2JMINICLOUD-GUEST uuid=6f1c2f0e-1111-2222-3333-444455556666 "
    "firmware=bios\r\n"
    "MINICLOUD-DISK name=vda size=33554432 serial=\r\n"
    "[    2.345678] random: crng init done\r\n"
    "MINICLOUD-DISK name=vdb size=67108864 serial=\r\n"
    "MINICLOUD-DISK name=vdc size=1048576 serial=vol-test\r\n"
    "MINICLOUD-VOLUME name=vdc serial=vol-test found=instance=aaa time=17 "
    "wrote=instance=6f1c2f0e-1111-2222-3333-444455556666 time=42\r\n"
    "MINICLOUD-READY\r\n"
    "\r\n/ # \x1b[6n"
)


# -- parse_report ---------------------------------------------------------------------------

def test_parse_report_reads_items_between_noise_and_crlf() -> None:
    report = parse_report(SAMPLE)
    assert report == GuestReport(
        uuid="6f1c2f0e-1111-2222-3333-444455556666", firmware="bios",
        disks=[GuestDisk("vda", 32 * MIB, ""), GuestDisk("vdb", 64 * MIB, ""),
               GuestDisk("vdc", MIB, "vol-test")],
        volumes=[GuestVolume("vdc", "vol-test", "instance=aaa time=17",
                             "instance=6f1c2f0e-1111-2222-3333-444455556666 time=42")],
        ready=True)


def test_parse_report_empty_fields_and_incomplete_log() -> None:
    text = ("MINICLOUD-GUEST uuid= firmware=uefi\n"
            "MINICLOUD-VOLUME name=vdb serial=v1 found= wrote=\n")
    report = parse_report(text)
    assert (report.uuid, report.firmware, report.ready) == ("", "uefi", False)
    assert report.volumes == [GuestVolume("vdb", "v1", "", "")]
    assert parse_report("nothing here\r\n") == GuestReport("", "", [], [], False)


def test_parse_report_keeps_the_last_boot_only() -> None:
    second = SAMPLE.replace("firmware=bios", "firmware=uefi").replace("vdc", "vdd")
    report = parse_report(SAMPLE + "reboot: Restarting system\r\n" + second)
    assert report.firmware == "uefi"
    assert [d.name for d in report.disks] == ["vda", "vdb", "vdd"]
    assert [v.name for v in report.volumes] == ["vdd"]


# -- building -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GuestImage]:
    built = build_guest_images(tmp_path_factory.mktemp("guest-cache"))
    return {image.name: image for image in built}


def test_images_and_their_properties(images: dict[str, GuestImage]) -> None:
    tiny, uefi = images["tiny"], images["tiny-uefi"]
    assert tiny.properties == {"os_distro": "minicloud-tiny", "hw_disk_bus": "virtio"}
    assert uefi.properties == {**tiny.properties, "hw_firmware_type": "uefi",
                               "hw_machine_type": "q35"}
    for image in (tiny, uefi):
        assert image.disk_format == "qcow2"
        info = run(["qemu-img", "info", "--output=json", image.path]).stdout.decode()
        assert '"format": "qcow2"' in info
        assert f'"virtual-size": {32 * MIB}' in info
        assert image.path.stat().st_size < 16 * MIB


def test_build_is_reproducible_and_cached(tmp_path: Path) -> None:
    first = build_guest_images(tmp_path / "a")
    time.sleep(2.1)  # FAT timestamps have a 2 s resolution: make a leaked clock visible
    second = build_guest_images(tmp_path / "b")
    for one, two in zip(first, second, strict=True):
        assert one.name == two.name
        assert one.path.read_bytes() == two.path.read_bytes(), one.name
    mtimes = [image.path.stat().st_mtime_ns for image in first]
    started = time.monotonic()
    again = build_guest_images(tmp_path / "a")
    assert time.monotonic() - started < 0.5
    assert again == first
    assert [image.path.stat().st_mtime_ns for image in again] == mtimes
    # Nothing but the finished build is left in the cache (no temporary directories).
    assert [p.name for p in (tmp_path / "a").iterdir()] == [first[0].path.parent.name]


def test_missing_tool_names_the_debian_package(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guest_image.shutil, "which", lambda name, path=None: None)
    with pytest.raises(MinicloudError, match="install the Debian package kmod"):
        build_guest_images(tmp_path)
    assert not any(tmp_path.iterdir())


# -- real boots -----------------------------------------------------------------------------

class Guest:
    """A QEMU process with its serial console in a file and its monitor on a socket."""

    def __init__(self, proc: subprocess.Popen, console: Path, monitor: Path) -> None:
        self.proc, self.console, self.monitor = proc, console, monitor

    def text(self) -> str:
        return self.console.read_bytes().decode(errors="replace") if self.console.exists() else ""

    def wait_ready(self, timeout: float = 90) -> GuestReport:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            report = parse_report(self.text())
            if report.ready:
                return report
            if self.proc.poll() is not None:
                break
            time.sleep(0.25)
        pytest.fail(f"no MINICLOUD-READY; console ends with:\n{self.text()[-2000:]}")

    def power_button(self) -> None:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.monitor))
            sock.sendall(b"system_powerdown\n")
            time.sleep(0.2)

    def power_off(self, timeout: float = 60) -> None:
        """Press the ACPI power button (again every 5 s, as libvirt users do) until the
        guest has powered itself off."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.power_button()
            try:
                self.proc.wait(timeout=5)
                return
            except subprocess.TimeoutExpired:
                continue
        pytest.fail("the guest did not power off on the ACPI power button")


@contextmanager
def qemu(tmp_path: Path, name: str, machine: list[str], disks: list[tuple[str, str]],
         instance_uuid: str, ram: int = 256) -> Iterator[Guest]:
    """Boot with ``disks``: (``-drive`` options, extra virtio-blk ``-device`` options)."""
    console, monitor = tmp_path / f"{name}.console", tmp_path / f"{name}.mon"
    argv = ["qemu-system-x86_64", *machine, "-m", str(ram), "-nographic", "-display", "none",
            "-no-reboot", "-nic", "none", "-serial", f"file:{console}",
            "-monitor", f"unix:{monitor},server=on,wait=off",
            "-smbios", f"type=1,uuid={instance_uuid}"]
    # Every disk through -device, in order: a serial needs -device (QEMU 7.2 refuses it on
    # -drive), and mixing if=virtio with -device reorders the PCI slots, so the guest's vd*
    # names and SeaBIOS's boot disk would no longer follow the command line.
    for index, (drive, device) in enumerate(disks):
        boot = ",bootindex=0" if index == 0 else ""
        argv += ["-drive", f"{drive},if=none,id=disk{index}",
                 "-device", f"virtio-blk-pci,drive=disk{index}{boot}{device}"]
    proc = spawn(argv, str(tmp_path / f"{name}.qemu.log"))
    try:
        yield Guest(proc, console, monitor)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.real
@pytest.mark.timeout(240)
def test_bios_guest_boots_reports_disks_and_keeps_a_volume_marker(
        images: dict[str, GuestImage], tmp_path: Path) -> None:
    image = images["tiny"].path
    image_hash = sha256(image)
    empty, volume, foreign = tmp_path / "empty.qcow2", tmp_path / "vol.raw", tmp_path / "f.raw"
    run(["qemu-img", "create", "-q", "-f", "qcow2", empty, "64M"])
    volume.write_bytes(bytes(MIB))
    foreign.write_bytes(b"somebody else's data\n".ljust(MIB, b"\0"))
    boot_disk = (f"file={image},format=qcow2,snapshot=on", "")
    vol_disk = (f"file={volume},format=raw", ",serial=vol-test")
    machine = ["-machine", "accel=tcg"]
    first_uuid, second_uuid = str(uuid.uuid4()).upper(), str(uuid.uuid4())

    first_disks = [boot_disk, (f"file={empty},format=qcow2", ""), vol_disk]
    with qemu(tmp_path, "first", machine, first_disks, first_uuid) as guest:
        report = guest.wait_ready()
    assert report.uuid == first_uuid.lower()
    assert report.firmware == "bios"
    assert report.disks == [GuestDisk("vda", 32 * MIB, ""), GuestDisk("vdb", 64 * MIB, ""),
                            GuestDisk("vdc", MIB, "vol-test")]
    [first] = report.volumes
    assert (first.name, first.serial, first.found) == ("vdc", "vol-test", "")
    assert first.wrote.startswith(f"instance={first_uuid.lower()} time=")
    sector = volume.read_bytes()[:512]
    assert sector == f"MINICLOUD-MARKER {first.wrote}\n".encode().ljust(512, b"\0")

    foreign_before = foreign.read_bytes()
    second_disks = [boot_disk, vol_disk, (f"file={foreign},format=raw", ",serial=vol-foreign")]
    with qemu(tmp_path, "second", machine, second_disks, second_uuid) as guest:
        report = guest.wait_ready()
        # The ACPI power button powers the guest off (busybox acpid): QEMU exits.
        guest.power_off()
    assert report.uuid == second_uuid
    assert [(d.name, d.serial) for d in report.disks] == [
        ("vda", ""), ("vdb", "vol-test"), ("vdc", "vol-foreign")]
    vol, other = report.volumes
    assert vol.found == first.wrote
    assert vol.wrote.startswith(f"instance={second_uuid} time=")
    assert (other.found, other.wrote) == ("", "")
    assert foreign.read_bytes() == foreign_before
    assert sha256(image) == image_hash  # snapshot=on: the cached image is untouched


@pytest.mark.real
@pytest.mark.timeout(240)
def test_uefi_guest_boots_through_ovmf(images: dict[str, GuestImage], tmp_path: Path) -> None:
    image = images["tiny-uefi"]
    nvram = tmp_path / "OVMF_VARS.fd"
    shutil.copyfile(OVMF_VARS, nvram)
    instance_uuid = str(uuid.uuid4())
    machine = ["-machine", "q35,accel=tcg",
               "-drive", f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}",
               "-drive", f"if=pflash,format=raw,file={nvram}"]
    with qemu(tmp_path, "uefi", machine, [(f"file={image.path},format=qcow2,snapshot=on", "")],
              instance_uuid, ram=image.min_ram) as guest:
        report = guest.wait_ready()
    assert (report.uuid, report.firmware) == (instance_uuid, "uefi")
    assert report.disks == [GuestDisk("vda", 32 * MIB, "")]
    assert report.volumes == []


def test_parse_report_reads_the_config_drive_line() -> None:
    line = ("MINICLOUD-METADATA uuid=6f1c2f0e-1111-2222-3333-444455556666 "
            "key=f0:2d:8d:a9:ac:0c:4e:31:3f:32:89:b8:1d:64:ce:c9 user_data=none\r\n")
    report = parse_report(SAMPLE.replace("MINICLOUD-READY", line + "MINICLOUD-READY"))
    assert report.metadata == GuestMetadata("6f1c2f0e-1111-2222-3333-444455556666",
                                            "f0:2d:8d:a9:ac:0c:4e:31:3f:32:89:b8:1d:64:ce:c9",
                                            "none")
    assert parse_report(SAMPLE).metadata is None
    # a later boot without a config drive forgets the earlier one's
    assert parse_report(line + SAMPLE).metadata is None
