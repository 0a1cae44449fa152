"""qemu-img, the only place the image service runs it (import conversion plugin).

Hardening rules (hardening.md section 1, item 7): absolute paths, an explicit ``-f`` (QEMU
never probes), ``--output=json`` for ``info``, ``--force-share``, ``LC_ALL=C`` and
``prlimit`` CPU/address-space limits through :func:`minicloud.process.run`. A process killed
by a limit, or any other failure, is a refusal of the image.
"""
from __future__ import annotations

import json
from pathlib import Path

from images.inspection import ImageRejected
from minicloud.errors import CommandFailed
from minicloud.process import Limits, run

QEMU_IMG = "/usr/bin/qemu-img"
ADDRESS_SPACE = 1 << 30


class QemuImg:
    """``info`` and ``convert`` on untrusted files, with resource limits."""

    def __init__(self, cpu_seconds: int, binary: str = QEMU_IMG,
                 convert_timeout: float = 3600) -> None:
        self.limits = Limits(cpu_seconds=cpu_seconds, address_space=ADDRESS_SPACE)
        self.binary = binary
        self.convert_timeout = convert_timeout

    @staticmethod
    def _absolute(path: Path) -> str:
        if not Path(path).is_absolute():
            raise ValueError(f"qemu-img needs absolute paths, got {path}")
        return str(path)

    def info(self, path: Path, fmt: str) -> dict:
        argv = [self.binary, "info", "-f", fmt, "--output=json", "--force-share",
                self._absolute(path)]
        try:
            proc = run(argv, timeout=60, limits=self.limits)
            info = json.loads(proc.stdout)
        except CommandFailed as exc:
            raise ImageRejected(f"qemu-img could not read the image as {fmt}: "
                                f"{exc.stderr.strip()[-200:] or exc.message}") from None
        except ValueError:
            raise ImageRejected("qemu-img info returned malformed output.") from None
        if not isinstance(info, dict):
            raise ImageRejected("qemu-img info returned malformed output.")
        return info

    def check_standalone(self, path: Path, fmt: str) -> dict:
        """``info``, refusing backing files and external data files (defence in depth)."""
        info = self.info(path, fmt)
        data = (info.get("format-specific") or {}).get("data") or {}
        if info.get("backing-filename") or info.get("full-backing-filename"):
            raise ImageRejected("Image data has a backing file; it is refused.")
        if data.get("data-file"):
            raise ImageRejected("Image data has an external data file; it is refused.")
        return info

    def convert(self, src: Path, src_fmt: str, dst: Path, dst_fmt: str) -> None:
        argv = [self.binary, "convert", "-f", src_fmt, "-O", dst_fmt,
                self._absolute(src), self._absolute(dst)]
        try:
            run(argv, timeout=self.convert_timeout, limits=self.limits)
        except CommandFailed as exc:
            raise ImageRejected(f"Converting the image from {src_fmt} to {dst_fmt} failed: "
                                f"{exc.stderr.strip()[-200:] or exc.message}") from None
