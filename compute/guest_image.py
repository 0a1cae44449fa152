"""Tiny bootable lab guests, built offline and reproducibly from the host's Debian packages.

Two images come out of :func:`build_guest_images`:

- ``tiny``: BIOS; a DOS label with one bootable FAT partition at 1 MiB, booted by syslinux.
- ``tiny-uefi``: GPT with one EFI System partition holding a GRUB EFI binary, the kernel and
  the initramfs as plain files.

Both boot the newest ``/boot/vmlinuz-*`` with a busybox initramfs whose ``/init``
(``guest_init.sh``) prints a ``MINICLOUD-*`` report on the serial console (read it back with
:func:`parse_report`) and then keeps a shell running until the guest is stopped.

No root tricks: ``sfdisk`` writes the label into a plain file and mtools fills the file system
at an offset. Every timestamp is pinned (``SOURCE_DATE_EPOCH``, fixed mtimes, gzip ``mtime=0``)
and every identifier is fixed, so the same inputs give the same bytes.
"""
from __future__ import annotations

import gzip
import hashlib
import lzma
import os
import re
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

from minicloud.errors import MinicloudError
from minicloud.process import run

#: Bump when the recipe changes: it is part of the cache key.
BUILDER_VERSION = "1"
#: Every timestamp in the images (2001-09-09, inside FAT's 1980-2107 range).
EPOCH = 1_000_000_000
CMDLINE = "console=ttyS0 quiet panic=-1"
DISK_MIB = 32
PART_START = 2048  # sectors: the partition starts at 1 MiB
ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
#: Modules whose dependency chains are loaded, in this order (virtio PCI transport, virtio
#: disks, then the ACPI power button and evdev so that busybox acpid sees power-off requests;
#: then what reads a config drive: SCSI disk and CD-ROM drivers before the AHCI controller,
#: so its devices bind as they are found, and the iso9660 and vfat file systems with the
#: code pages vfat mounts with by default).
MODULES = ("virtio_pci", "virtio_blk", "button", "evdev", "sd_mod", "sr_mod", "ahci",
           "isofs", "vfat", "nls_cp437", "nls_ascii")
BASE_PROPERTIES = {"os_distro": "minicloud-tiny", "hw_disk_bus": "virtio"}
UEFI_PROPERTIES = {"hw_firmware_type": "uefi", "hw_machine_type": "q35"}
#: Guest RAM (MiB) needed to boot, measured under TCG: BIOS boots at 96. Debian's GRUB
#: 2.06 fails "out of memory" loading the kernel (init_size ~64 MiB) at 272 MiB, works at 288.
BIOS_MIN_RAM = 128
UEFI_MIN_RAM = 320

MBR_BIN = Path("/usr/lib/syslinux/mbr/mbr.bin")
GRUB_EFI_DIR = Path("/usr/lib/grub/x86_64-efi")
BUSYBOX = Path("/bin/busybox")
INIT_SCRIPT = Path(__file__).with_name("guest_init.sh")
#: Program -> the Debian package that ships it (named in the error when it is missing).
TOOLS = {"modprobe": "kmod", "cpio": "cpio", "sfdisk": "fdisk", "mformat": "mtools",
         "mcopy": "mtools", "mmd": "mtools", "syslinux": "syslinux",
         "grub-mkimage": "grub-common", "qemu-img": "qemu-utils", "env": "coreutils"}
# Fixed identifiers: random ones (the tools' defaults) would break reproducibility.
FAT_SERIAL = "4d494e49"
DOS_LABEL_ID = "0x4d494e49"
GPT_DISK_GUID = "4D494E49-434C-4F55-4400-000000000001"
GPT_PART_GUID = "4D494E49-434C-4F55-4400-000000000002"


@dataclass(frozen=True)
class GuestImage:
    """A built guest disk image, ready to upload to the image service."""

    name: str                    # "tiny" or "tiny-uefi"
    path: Path                   # the qcow2 file (in the cache: never modify it)
    disk_format: str             # "qcow2"
    properties: dict[str, str]   # image properties for the image service
    min_ram: int = 0             # MiB the guest needs to boot (the image's ``min_ram``)


@dataclass(frozen=True)
class GuestDisk:
    name: str     # "vda"
    size: int     # bytes
    serial: str   # "" when the disk has none


@dataclass(frozen=True)
class GuestVolume:
    """A disk with a serial: the marker a previous instance left, and the one written now."""

    name: str
    serial: str
    found: str    # "" when the marker sector held no marker
    wrote: str    # "" when the sector held foreign data (left untouched)
    sector: int = 0  # where the marker is: 0, or 2047 on a partitioned (boot) disk


@dataclass(frozen=True)
class GuestMetadata:
    """What the guest read on its config drive."""

    uuid: str        # meta_data.json's uuid
    key: str         # MD5 colon-hex fingerprint of the first ssh key, or "none"
    user_data: str   # sha256 hex of the user data, or "none"


@dataclass(frozen=True)
class GuestReport:
    """What the guest's ``/init`` printed on its console."""

    uuid: str
    firmware: str                # "bios" or "uefi"
    disks: list[GuestDisk]
    volumes: list[GuestVolume]
    ready: bool
    metadata: GuestMetadata | None = None  # None: the guest found no config drive


_GUEST = re.compile(r"MINICLOUD-GUEST uuid=(\S*) firmware=(\S*)")
_DISK = re.compile(r"MINICLOUD-DISK name=(\S+) size=(\d+) serial=(\S*)")
_VOLUME = re.compile(
    r"MINICLOUD-VOLUME name=(\S+) serial=(\S*)(?: sector=(\d+))? found=(.*?) wrote=(.*)$")
_METADATA = re.compile(r"MINICLOUD-METADATA uuid=(\S*) key=(\S*) user_data=(\S*)")
_READY = re.compile(r"MINICLOUD-READY\b")


def parse_report(console_text: str) -> GuestReport:
    """Parse the ``MINICLOUD-*`` lines of a console log (noise and ``\\r\\n`` tolerated).

    A report starts at its ``MINICLOUD-GUEST`` line: when the log holds several boots, the
    last one wins. Missing items leave empty fields and ``ready=False``.
    """
    uuid = firmware = ""
    disks: dict[str, GuestDisk] = {}
    volumes: dict[str, GuestVolume] = {}
    ready, metadata = False, None
    for raw_line in console_text.splitlines():
        line = raw_line.rstrip()
        if match := _GUEST.search(line):
            uuid, firmware = match.groups()
            disks, volumes, ready, metadata = {}, {}, False, None
        elif match := _METADATA.search(line):
            metadata = GuestMetadata(*match.groups())
        elif match := _DISK.search(line):
            name, size, serial = match.groups()
            disks[name] = GuestDisk(name, int(size), serial)
        elif match := _VOLUME.search(line):
            name, serial, sector, found, wrote = match.groups()
            volumes[name] = GuestVolume(name, serial, found, wrote, int(sector or 0))
        elif _READY.search(line):
            ready = True
    return GuestReport(uuid, firmware, sorted(disks.values(), key=lambda d: d.name),
                       sorted(volumes.values(), key=lambda v: v.name), ready, metadata)


def build_guest_images(cache_dir: Path) -> list[GuestImage]:
    """Build ``tiny`` and ``tiny-uefi`` into ``cache_dir``, or reuse an earlier build.

    The build lands in ``cache_dir/guest-<hash>`` where the hash covers every input (kernel,
    modules, busybox, the init script, :data:`BUILDER_VERSION`), so a second call with the
    same inputs only hashes them. The directory appears atomically (built under a temporary
    name, then renamed); a failed build leaves nothing behind.
    Raises :class:`MinicloudError` naming the Debian package when a tool or input is missing.
    """
    inputs = _Inputs.collect()
    cache_dir = Path(cache_dir)
    final = cache_dir / f"guest-{inputs.key()[:24]}"
    images = [GuestImage("tiny", final / "tiny.qcow2", "qcow2", dict(BASE_PROPERTIES),
                         BIOS_MIN_RAM),
              GuestImage("tiny-uefi", final / "tiny-uefi.qcow2", "qcow2",
                         {**BASE_PROPERTIES, **UEFI_PROPERTIES}, UEFI_MIN_RAM)]
    if all(image.path.is_file() for image in images):
        return images
    cache_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=cache_dir))
    try:
        initrd = work / "initrd.img"
        initrd.write_bytes(_initramfs(inputs, work / "root"))
        _to_qcow2(_bios_disk(work, inputs.kernel, initrd), work / "tiny.qcow2")
        _to_qcow2(_uefi_disk(work, inputs.kernel, initrd), work / "tiny-uefi.qcow2")
        out = work / "out"
        out.mkdir()
        for image in images:
            (work / image.path.name).rename(out / image.path.name)
        try:
            out.rename(final)
        except OSError:
            # Another builder won the race with the same inputs: its result is as good.
            if not all(image.path.is_file() for image in images):
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return images


@dataclass(frozen=True)
class _Inputs:
    """Everything the images are made of; :meth:`key` hashes it for the cache."""

    kernel: Path
    kver: str
    modules: tuple[Path, ...]   # in load order
    busybox: Path
    init_script: bytes

    @classmethod
    def collect(cls) -> _Inputs:
        kernel, kver = _newest_kernel()
        busybox = _require(BUSYBOX, "busybox-static")
        if not _is_static_elf(busybox):
            raise MinicloudError(f"{busybox} is dynamically linked: install busybox-static")
        return cls(kernel, kver, _module_chain(kver), busybox, INIT_SCRIPT.read_bytes())

    def key(self) -> str:
        # The module list too: a module the kernel has built in adds no file to the chain.
        digest = hashlib.sha256(f"minicloud-guest {BUILDER_VERSION} {self.kver} "
                                f"{' '.join(MODULES)}\n".encode())
        for path in (self.kernel, self.busybox, *self.modules):
            digest.update(f"{path.name} {path.stat().st_size}\n".encode())
            digest.update(path.read_bytes())
        digest.update(self.init_script)
        return digest.hexdigest()


def _tool(name: str) -> str:
    path = shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    if path is None:
        raise MinicloudError(f"{name} not found: install the Debian package {TOOLS[name]}")
    return path


def _require(path: Path, package: str) -> Path:
    if not path.exists():
        raise MinicloudError(f"{path} not found: install the Debian package {package}")
    return path


def _mtools(name: str) -> list[str]:
    """argv prefix for an mtools program with pinned timestamps (syslinux calls mtools too)."""
    return [_tool("env"), f"SOURCE_DATE_EPOCH={EPOCH}", _tool(name)]


def _version_key(text: str) -> list[tuple[int, str]]:
    return [(int(part), "") if part.isdigit() else (-1, part)
            for part in re.findall(r"\d+|[^\d]+", text)]


def _newest_kernel() -> tuple[Path, str]:
    kernels = sorted(Path("/boot").glob("vmlinuz-*"), key=lambda p: _version_key(p.name))
    if not kernels:
        raise MinicloudError("no /boot/vmlinuz-*: install the Debian package linux-image-amd64")
    return kernels[-1], kernels[-1].name.removeprefix("vmlinuz-")


def _module_chain(kver: str) -> tuple[Path, ...]:
    """The module files of :data:`MODULES` and their dependencies, in load order."""
    chain: list[Path] = []
    for module in MODULES:
        out = run([_tool("modprobe"), "-S", kver, "--show-depends", module], timeout=30)
        for line in out.stdout.decode().splitlines():
            words = line.split()
            # Built-in modules print "builtin NAME": nothing to load.
            if len(words) >= 2 and words[0] == "insmod" and Path(words[1]) not in chain:
                chain.append(Path(words[1]))
    return tuple(chain)


def _module_bytes(path: Path) -> tuple[str, bytes]:
    """A module's plain ``.ko`` name and bytes: busybox insmod cannot decompress."""
    data = path.read_bytes()
    if path.name.endswith(".ko"):
        return path.name, data
    if path.name.endswith(".ko.xz"):
        return path.name.removesuffix(".xz"), lzma.decompress(data)
    if path.name.endswith(".ko.gz"):
        return path.name.removesuffix(".gz"), gzip.decompress(data)
    raise MinicloudError(f"cannot decompress kernel module {path} (only .ko, .ko.xz, .ko.gz)")


def _is_static_elf(path: Path) -> bool:
    """True when the 64-bit little-endian ELF at ``path`` has no PT_INTERP program header."""
    with path.open("rb") as f:
        header = f.read(64)
        if header[:5] != b"\x7fELF\x02" or header[5] != 1:
            return False
        phoff, = struct.unpack_from("<Q", header, 32)
        phentsize, phnum = struct.unpack_from("<HH", header, 54)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    return all(struct.unpack_from("<I", table, i * phentsize)[0] != 3 for i in range(phnum))


def _initramfs(inputs: _Inputs, root: Path) -> bytes:
    """A gzip'ed newc cpio of busybox, the modules and ``/init``, identical for equal inputs."""
    (root / "bin").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "lib" / "modules").mkdir(parents=True)
    shutil.copyfile(inputs.busybox, root / "bin" / "busybox")
    (root / "init").write_bytes(inputs.init_script)
    names = []
    for module in inputs.modules:
        name, data = _module_bytes(module)
        (root / "lib" / "modules" / name).write_bytes(data)
        names.append(name)
    (root / "etc" / "modules").write_text("".join(f"{name}\n" for name in names))
    entries = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    for entry in entries:
        path = root / entry
        executable = path.is_dir() or entry in ("init", "bin/busybox")
        path.chmod(0o755 if executable else 0o644)
        os.utime(path, (EPOCH, EPOCH))
    archive = run([_tool("cpio"), "--quiet", "-o", "-H", "newc", "--reproducible",
                   "-R", "0:0", "-D", root], input="".join(f"{e}\n" for e in entries).encode(),
                  timeout=60).stdout
    return gzip.compress(archive, compresslevel=9, mtime=0)


def _blank_disk(path: Path, label_script: str) -> None:
    with path.open("wb") as f:
        f.truncate(DISK_MIB << 20)
    run([_tool("sfdisk"), "--quiet", "--no-reread", "--no-tell-kernel", path],
        input=label_script.encode(), timeout=30)


def _fill_fat(disk: Path, sectors: int, label: str, files: dict[str, Path]) -> None:
    """Format the partition at :data:`PART_START` and copy ``files`` (``"/A/B": source``)."""
    image = f"{disk}@@{PART_START * 512}"
    run([*_mtools("mformat"), "-i", image, "-N", FAT_SERIAL, "-T", str(sectors),
         "-H", str(PART_START), "-h", "64", "-s", "32", "-v", label, "::"], timeout=30)
    for target, source in files.items():
        for parent in reversed(Path(target).parents[:-1]):
            run([*_mtools("mmd"), "-D", "s", "-i", image, f"::{parent}"], timeout=30)
        run([*_mtools("mcopy"), "-i", image, source, f"::{target}"], timeout=60)


def _bios_disk(work: Path, kernel: Path, initrd: Path) -> Path:
    """DOS label, bootable FAT partition, syslinux; returns the raw disk."""
    disk, sectors = work / "tiny.raw", (DISK_MIB << 11) - PART_START
    _blank_disk(disk, f"label: dos\nlabel-id: {DOS_LABEL_ID}\nunit: sectors\n\n"
                      f"start={PART_START}, size={sectors}, type=e, bootable\n")
    config = work / "syslinux.cfg"
    config.write_text("DEFAULT linux\nPROMPT 0\nTIMEOUT 0\nLABEL linux\n  KERNEL /vmlinuz\n"
                      f"  APPEND initrd=/initrd.img {CMDLINE}\n")
    _fill_fat(disk, sectors, "TINY", {"/vmlinuz": kernel, "/initrd.img": initrd,
                                      "/syslinux.cfg": config})
    run([*_mtools("syslinux"), "--offset", str(PART_START * 512), "--install", disk],
        timeout=60)
    mbr = _require(MBR_BIN, "syslinux-common").read_bytes()[:440]
    with disk.open("r+b") as f:
        f.write(mbr)
    return disk


def _uefi_disk(work: Path, kernel: Path, initrd: Path) -> Path:
    """GPT, EFI System partition with GRUB as the removable-media loader; returns the raw disk.

    Kernel and initramfs stay files on the ESP (in GRUB's memdisk they would need ~1 GiB of
    guest RAM). ``grub-mkimage`` with an embedded config, rather than ``grub-mkstandalone``,
    because the latter's memdisk tar records the build time (never the same bytes twice).
    """
    disk, sectors = work / "tiny-uefi.raw", (DISK_MIB - 2) << 11
    _blank_disk(disk, f"label: gpt\nlabel-id: {GPT_DISK_GUID}\nunit: sectors\n\n"
                      f"start={PART_START}, size={sectors}, type={ESP_TYPE}, "
                      f"uuid={GPT_PART_GUID}, name=\"EFI System\"\n")
    config = work / "grub.cfg"
    config.write_text("set timeout=0\nsearch --no-floppy --file --set=root /vmlinuz\n"
                      f"linux /vmlinuz {CMDLINE}\ninitrd /initrd.img\nboot\n")
    loader = work / "BOOTX64.EFI"
    run([_tool("grub-mkimage"), "-O", "x86_64-efi", "-o", loader, "-c", config,
         "-p", "/EFI/BOOT", "-d", _require(GRUB_EFI_DIR, "grub-efi-amd64-bin"),
         "part_gpt", "fat", "search", "search_fs_file", "linux", "boot"], timeout=60)
    _fill_fat(disk, sectors, "ESP", {"/EFI/BOOT/BOOTX64.EFI": loader, "/vmlinuz": kernel,
                                     "/initrd.img": initrd})
    return disk


def _to_qcow2(raw: Path, dest: Path) -> None:
    run([_tool("qemu-img"), "convert", "-f", "raw", "-O", "qcow2", raw, dest], timeout=120)
    raw.unlink()
