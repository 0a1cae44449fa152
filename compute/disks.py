"""Instance disks with qemu-img: overlays on cached bases, blank ephemeral disks, flattening.

Every call names the format explicitly (never lets QEMU probe), uses absolute paths and JSON
output (hardening.md 1.7-1.9). Every file made here holds a guest's data: it is created 0600
before qemu-img writes it (qemu-img keeps an existing file's mode), so it is never readable
by other local users; libvirt hands it to its QEMU user when the guest starts.
"""
from __future__ import annotations

import json
from pathlib import Path

from minicloud import process
from minicloud.errors import BadRequest
from minicloud.paths import private_file

GIB = 1024 ** 3


def virtual_size(path: Path, fmt: str) -> int:
    out = process.run(["qemu-img", "info", "-f", fmt, "--output=json", "--force-share",
                       path.resolve()], timeout=30, limits=process.Limits()).stdout
    return int(json.loads(out)["virtual-size"])


def create_overlay(base: Path, base_format: str, dest: Path, size_gb: int) -> None:
    """A qcow2 ``dest`` backed by ``base``, grown to ``size_gb`` (0: the base's size).

    Refuses (400) when the image is larger than the flavor's root disk: shrinking would
    destroy data.
    """
    base_size = virtual_size(base, base_format)
    size = size_gb * GIB if size_gb else base_size
    if base_size > size:
        raise BadRequest(f"Flavor's disk is too small for requested image. Flavor disk is "
                         f"{size} bytes, image is {base_size} bytes.")
    private_file(dest)
    process.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", base.resolve(),
                 "-F", base_format, dest.resolve(), str(size)], timeout=60)


def create_blank(dest: Path, size_gb: int) -> None:
    """An empty qcow2 disk (the ephemeral vdb): the guest sees zeros, nothing formatted."""
    private_file(dest)
    process.run(["qemu-img", "create", "-q", "-f", "qcow2", dest.resolve(),
                 str(size_gb * GIB)], timeout=60)


def copy_standalone(src: Path, src_format: str, dest: Path) -> None:
    """A standalone qcow2 copy of an image (a rescue disk: it needs no base in ``_base/``)."""
    private_file(dest)
    process.run(["qemu-img", "convert", "-f", src_format, "-O", "qcow2", "--force-share",
                 src.resolve(), dest.resolve()], timeout=3600)


def flatten(src: Path, dest: Path) -> None:
    """Copy a qcow2 overlay and its backing chain into one standalone qcow2 (a snapshot)."""
    private_file(dest)
    process.run(["qemu-img", "convert", "-f", "qcow2", "-O", "qcow2", "--force-share",
                 src.resolve(), dest.resolve()], timeout=3600)
