"""qemu-img, the only place the image service runs it (import conversion plugin).

Hardening rules (hardening.md section 1, item 7): absolute paths, an explicit ``-f`` (QEMU
never probes), ``--output=json`` for ``info``, ``--force-share``, ``LC_ALL=C`` and
``prlimit`` CPU/address-space limits through :func:`minicloud.process.run`. A process killed
by a limit, or any other failure, is a refusal of the image: every exception out of here is
an :class:`~images.inspection.ImageRejected` (400) whose reason names no host path (qemu-img's
messages quote the file names; they are replaced by "the image" / "the output" and the full
message is logged).
"""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from images.inspection import ImageRejected
from minicloud.errors import CommandFailed
from minicloud.process import Limits, run

LOG = logging.getLogger(__name__)
QEMU_IMG = "/usr/bin/qemu-img"
ADDRESS_SPACE = 1 << 30


#: An absolute path in a message (after the known ones were named).
_PATH = re.compile(r"/[^\s'\",:;]+")


def _reason(exc: CommandFailed, names: dict[str, str]) -> str:
    """qemu-img's complaint (200 characters at most), each path in ``names`` replaced by what
    it stands for and any other absolute path by "a file"; the full text goes to the log."""
    LOG.info("qemu-img refused an image: %s", exc.message)
    text = exc.stderr.strip() or exc.message.replace(exc.argv[0], "qemu-img", 1)
    for path, name in names.items():
        text = text.replace(path, name)
    text = _PATH.sub("a file", text.replace("qemu-img: ", ""))
    return text[-200:]


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
                                f"{_reason(exc, {str(path): 'the image'})}") from None
        except (ValueError, OSError) as exc:  # malformed JSON, or qemu-img not runnable
            LOG.warning("qemu-img info on an image failed: %r", exc)
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
            reason = _reason(exc, {str(src): "the image", str(dst): "the output"})
            raise ImageRejected(f"Converting the image from {src_fmt} to {dst_fmt} failed: "
                                f"{reason}") from None
        except OSError as exc:
            LOG.warning("qemu-img convert could not run: %r", exc)
            raise ImageRejected(f"Converting the image from {src_fmt} to {dst_fmt} failed: "
                                "qemu-img could not be run.") from None
