"""Host/Guest against libvirt: the simulated ``test:///default`` driver, and the real
``qemu:///system`` (marked ``real``) for what the test driver lacks and one real boot."""
from __future__ import annotations

import gzip
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from compute import states
from compute.virt.config import DomainConfig, FileDisk
from compute.virt.designer import VolumeConnection, design_domain, volume_disk
from compute.virt.host import Host
from minicloud import process
from minicloud.errors import MinicloudError, NotFound, ServiceUnavailable

TEST_URI = "test:///default"
REAL_URI = "qemu:///system"
#: The domain test:///default starts with ("test"): running, with no minicloud metadata.
TEST_DRIVER_DOMAIN = "6695eb01-f6a4-8304-79aa-97f2502e193f"


def designed(cloud_id: str = "cloud-a", instance_dir: str = "/var/tmp/inst", **kw: object
             ) -> DomainConfig:
    args: dict = dict(instance_uuid=str(uuid.uuid4()), name="web-1", cloud_id=cloud_id,
                      vcpus=1, memory_mib=256, image_properties={},
                      instance_dir=instance_dir, root_disk=f"{instance_dir}/disk")
    args.update(kw)
    return design_domain(**args)


@pytest.fixture
def host() -> Iterator[Host]:
    """One Host per test: test:///default's state lives and dies with its connection."""
    with Host(TEST_URI) as h:
        yield h


def test_lifecycle(host: Host) -> None:
    config = designed()
    guest = host.define(config)
    assert (guest.uuid, guest.name) == (config.uuid, f"minicloud-{config.uuid}")
    found = host.lookup(config.uuid)
    assert found is not None and found.uuid == config.uuid
    assert guest.power_state() == states.SHUTDOWN
    guest.start()
    guest.start()  # already running: no-op
    assert guest.power_state() == states.RUNNING
    guest.destroy()
    assert guest.power_state() == states.SHUTDOWN
    guest.destroy()  # already off: tolerated
    guest.undefine()
    assert host.lookup(config.uuid) is None
    guest.undefine()  # already gone: tolerated
    guest.destroy()   # already gone: tolerated


def test_shutdown_and_reboot(host: Host) -> None:
    guest = host.define(designed())
    guest.shutdown()  # not running: no-op
    guest.reboot(hard=True)  # starts a shut-off guest
    assert guest.power_state() == states.RUNNING
    guest.reboot(hard=False)
    assert guest.power_state() == states.RUNNING
    guest.shutdown()
    assert guest.power_state() == states.SHUTDOWN


def test_guests_lists_only_this_clouds_guests(host: Host) -> None:
    a = host.define(designed("cloud-a"))
    b = host.define(designed("cloud-b"))
    assert [g.uuid for g in host.guests("cloud-a")] == [a.uuid]
    assert [g.uuid for g in host.guests("cloud-b")] == [b.uuid]
    assert host.guests("cloud-c") == []
    assert a.cloud_id() == "cloud-a"
    foreign = host.lookup(TEST_DRIVER_DOMAIN)
    assert foreign is not None and foreign.name == "test"
    assert foreign.cloud_id() is None


def test_libvirt_accepts_designed_volumes_and_kernel_boot(host: Host) -> None:
    volumes = [VolumeConnection("vol-1", "iqn.2025-01.example:v1", 1, "127.0.0.1",
                                auth_username="u", secret_uuid=str(uuid.uuid4()))]
    guest = host.define(designed(volumes=volumes, kernel="/k", ramdisk="/r"))
    xml = guest.xml()
    assert "<source protocol='iscsi' name='iqn.2025-01.example:v1/1'>" in xml
    assert "<serial>vol-1</serial>" in xml
    assert "<kernel>/k</kernel>" in xml
    assert "<log file='/var/tmp/inst/console.log' append='on'/>" in xml
    guest.undefine()


def test_libvirt_errors_become_minicloud_errors(host: Host) -> None:
    bad = designed()
    bad.memory_mib = -1
    with pytest.raises(MinicloudError) as info:
        host.define(bad)
    assert not isinstance(info.value, NotFound)
    assert info.value.message.startswith(f"define {bad.name}: ")
    assert isinstance(info.value.extra["libvirt_code"], int)

    guest = host.define(designed())
    guest.undefine()
    with pytest.raises(NotFound):
        guest.start()
    with pytest.raises(NotFound):
        guest.power_state()


def test_soft_reboot_of_a_shut_off_guest_is_an_error(host: Host) -> None:
    guest = host.define(designed())
    with pytest.raises(MinicloudError, match="reboot"):
        guest.reboot(hard=False)


def test_unreachable_libvirt_is_service_unavailable() -> None:
    uri = "qemu+unix:///system?socket=/nonexistent/minicloud/libvirt-sock"
    with Host(uri) as h, pytest.raises(ServiceUnavailable, match="cannot connect"):
        h.lookup(str(uuid.uuid4()))


# --- real libvirtd (qemu:///system) ---------------------------------------------------

def _running(name: str) -> bool:
    return process.run(["pgrep", "-x", name], check=False).returncode == 0


@pytest.fixture(scope="session")
def libvirtd() -> str:
    """The real libvirt URI, starting virtlogd and libvirtd when they are not running."""
    if not _running("virtlogd"):
        process.run(["virtlogd", "-d"])
    if not _running("libvirtd"):
        process.run(["libvirtd", "-d"])
    deadline = time.monotonic() + 30
    while True:
        try:
            with Host(REAL_URI) as h:
                h.lookup(str(uuid.uuid4()))
            return REAL_URI
        except ServiceUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture
def guest_dir() -> Iterator[Path]:
    """A directory QEMU (user libvirt-qemu) can traverse: under /var/tmp, mode 0711."""
    path = Path(tempfile.mkdtemp(prefix="minicloud-virt-test-", dir="/var/tmp"))
    path.chmod(0o711)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.mark.real
@pytest.mark.timeout(60)
def test_real_disk_hotplug_config_secrets_and_nvram(libvirtd: str, guest_dir: Path) -> None:
    """What test:///default does not implement: device changes, secrets, NVRAM undefine."""
    cloud = f"test-{uuid.uuid4().hex[:12]}"
    with Host(libvirtd) as host:
        secret = str(uuid.uuid4())
        defined = []
        try:
            guest = host.define(designed(cloud, str(guest_dir)))
            defined.append(guest)
            uefi = host.define(designed(cloud, str(guest_dir),
                                        image_properties={"hw_firmware_type": "uefi"}))
            defined.append(uefi)
            assert sorted(g.uuid for g in host.guests(cloud)) == sorted([guest.uuid, uefi.uuid])
            host.define_secret(secret, f"iqn.2025-01.example:{cloud}", "chap-password")
            host.define_secret(secret, f"iqn.2025-01.example:{cloud}", b"new-password")
            vol = VolumeConnection("vol-1", f"iqn.2025-01.example:{cloud}", 1, "127.0.0.1",
                                   auth_username="u", secret_uuid=secret)
            guest.attach_disk(FileDisk(f"{guest_dir}/eph", "raw", "vdb"), live=True)
            guest.attach_disk(volume_disk(vol, "virtio", "vdc"), live=True)
            xml = guest.xml()
            assert "<target dev='vdb' bus='virtio'/>" in xml
            assert f"<secret type='iscsi' uuid='{secret}'/>" in xml
            guest.detach_disk("vdc", live=True)
            guest.detach_disk("vdc", live=True)  # already gone: tolerated
            assert "vdc" not in guest.xml() and "vdb" in guest.xml()
            assert "nvram" in uefi.xml()
        finally:
            for g in defined:
                g.undefine()
            host.remove_secret(secret)
        host.remove_secret(secret)  # already gone: tolerated
        assert host.guests(cloud) == []


def make_initramfs(work: Path) -> bytes:
    """A busybox initramfs whose /init prints the SMBIOS uuid on ttyS0 and powers off."""
    root = work / "initramfs"
    for sub in ("bin", "dev", "proc", "sys"):
        (root / sub).mkdir(parents=True)
    shutil.copy("/bin/busybox", root / "bin" / "busybox")
    init = root / "init"
    init.write_text(
        "#!/bin/busybox sh\n"
        "/bin/busybox mount -t devtmpfs dev /dev\n"
        "/bin/busybox mount -t sysfs sys /sys\n"
        "echo MINICLOUD-TEST uuid=$(/bin/busybox cat /sys/class/dmi/id/product_uuid)"
        " > /dev/ttyS0\n"
        "/bin/busybox poweroff -f\n")
    init.chmod(0o755)
    names = [".", "bin", "bin/busybox", "dev", "proc", "sys", "init"]
    archive = process.run(["cpio", "-o", "-H", "newc", "-D", str(root)],
                          input="".join(f"{n}\n" for n in names).encode()).stdout
    return gzip.compress(archive)


@pytest.mark.real
@pytest.mark.timeout(180)
def test_real_boot_direct_kernel(libvirtd: str, guest_dir: Path) -> None:
    kernels = sorted(Path("/boot").glob("vmlinuz-*"), key=lambda p: p.stat().st_mtime)
    if not kernels or not shutil.which("qemu-system-x86_64") or not Path("/bin/busybox").exists():
        pytest.skip("needs linux-image-amd64, qemu-system-x86 and busybox-static")
    kernel = guest_dir / "vmlinuz"
    shutil.copy(kernels[-1], kernel)  # a copy: libvirt relabels boot files while in use
    initrd = guest_dir / "initrd.gz"
    initrd.write_bytes(make_initramfs(guest_dir))
    process.run(["qemu-img", "create", "-f", "qcow2", str(guest_dir / "disk"), "64M"])
    config = designed(f"test-{uuid.uuid4().hex[:12]}", str(guest_dir),
                      kernel=str(kernel), ramdisk=str(initrd))
    with Host(libvirtd) as host:
        guest = host.define(config)
        try:
            started = time.monotonic()
            guest.start()
            while guest.power_state() != states.SHUTDOWN:
                assert time.monotonic() - started < 150, "the guest did not power off"
                time.sleep(0.25)
            elapsed = time.monotonic() - started
            print(f"\nreal boot: start -> powered off in {elapsed:.1f} s")
            log = (guest_dir / "console.log").read_text(errors="replace")
            assert f"MINICLOUD-TEST uuid={config.uuid}" in log, log[-2000:]
        finally:
            guest.destroy()
            guest.undefine()
        assert host.lookup(config.uuid) is None
