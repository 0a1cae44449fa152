"""Checks on untrusted image data, as it streams past (hardening.md section 1).

Built on ``oslo_utils.imageutils.format_inspector``, the library OpenStack uses: every known
inspector sees every chunk; at the end of the stream the rules below decide.

1. Exactly one format may match. ISO + GPT (a hybrid ISO) counts as ISO; any other
   combination, e.g. an ISO with a qcow2 header in its system area, is refused.
2. The detected format must equal the declared ``disk_format``. ``raw`` is what is detected
   when nothing specific matched; a GPT/MBR partition table counts as raw (a raw disk with a
   partition table), after its own safety check. Formats the library cannot recognise
   (``ami``, ``ari``, ``aki``, ``ploop``) must look raw: anything recognised in them is a lie.
   A kernel (``aki``) or ramdisk (``ari``) is never opened as a disk: a partition table
   detected in it (a bzImage's boot sector) is accepted without the MBR checks.
3. The detected format's safety checks must pass: qcow2 without backing file or data-file,
   version 2/3, no unknown incompatible features; VMDK only monolithicSparse/streamOptimized
   with no ``/`` in extents; QED and LUKS never; a sane MBR/GPT.
4. ``virtual_size`` comes from the inspector (for raw: the byte count), never from the user,
   and must be a size QEMU can address (at most :data:`MAX_VIRTUAL_SIZE`): a header claiming
   2^64-1 bytes is a lie, refused before anything is stored.

The library parses hostile bytes: *any* exception out of it (a ``KeyError`` on a VMDK text
descriptor without a sparse header, an overflow on a malformed header) is a refusal naming
the format and what could not be read, never a server error.

A zero-byte stream is accepted whatever the declared format: there is nothing to inspect and
nothing a hypervisor could be tricked into opening (the CLI sends 0-byte uploads from an empty
stdin). Every refusal is an :class:`ImageRejected` (HTTP 400) with a message naming the reason.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from oslo_utils.imageutils import format_inspector as fi

from minicloud.errors import BadRequest

LOG = logging.getLogger(__name__)

#: Declared formats the library can recognise (the inspector name equals the disk_format).
INSPECTED_FORMATS = frozenset({"raw", "qcow2", "vmdk", "vhd", "vhdx", "vdi", "iso"})
#: Detected formats that are never accepted, whatever was declared.
BANNED_FORMATS = frozenset({"qed", "luks"})
#: Kernels and ramdisks of AMI-style images: QEMU loads them (``-kernel``/``-initrd``) and
#: never opens them as disks, so the boot sector a Linux bzImage starts with is not a
#: partition table to check. Any disk format recognised in them is still refused.
BOOT_FILE_FORMATS = frozenset({"aki", "ari"})
#: The largest virtual disk QEMU opens (its BDRV_MAX_LENGTH: INT64_MAX aligned down to
#: 1 GiB); anything larger is a forged header (and beyond a signed 64-bit catalog column).
MAX_VIRTUAL_SIZE = (2 ** 63 - 1) & ~((1 << 30) - 1)


class ImageRejected(BadRequest):
    """The image data is refused (format mismatch, unsafe content, unreadable header)."""


@dataclass(frozen=True)
class Verdict:
    """What inspection concluded about an accepted stream."""

    format: str          # the detected format ("raw" also for a bare partition table)
    virtual_size: int    # bytes, from the inspector


def _names(inspectors: Iterable[fi.FileInspector]) -> str:
    return ", ".join(sorted(str(i) for i in inspectors))


def _family(detected: str) -> str:
    return "raw" if detected == "gpt" else detected


def _safety_failures(exc: fi.SafetyCheckFailed) -> str:
    return "; ".join(f"{name} ({reason})" for name, reason in sorted(exc.failures.items()))


class _Feed:
    """The wrapper's source: hands over exactly the chunk it was given (None: end)."""

    def __init__(self) -> None:
        self._next: bytes | None = None

    def put(self, chunk: bytes | None) -> None:
        self._next = chunk

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        chunk, self._next = self._next, None
        if chunk is None:
            raise StopIteration
        return chunk


def _inspect(wrapper: fi.InspectWrapper, declared: str) -> None:
    """Let every inspector see the fed chunk (or the end of the stream)."""
    try:
        next(wrapper)
    except StopIteration:
        pass
    except Exception as exc:  # noqa: BLE001 - the source is our feed: any error is a parser's
        # The expected format's inspector gave up on the data (wrong magic, bad header...).
        LOG.info("image data refused while streaming: %s", exc)
        raise ImageRejected(
            f"Image data does not match its disk_format '{declared}'.") from None


class FormatCheck:
    """Inspect a stream against its declared ``disk_format``.

    ``wrap(chunks)`` passes the chunks through unchanged and, when the source is exhausted,
    decides: it raises :class:`ImageRejected` (so a store consuming the generator stores
    nothing) or sets :attr:`verdict`.
    """

    def __init__(self, declared: str) -> None:
        self.declared = declared
        self.verdict: Verdict | None = None

    def wrap(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        # Name the expected inspector only for formats it can recognise: the wrapper then
        # aborts as soon as the header proves the declaration wrong, not after gigabytes.
        expected = self.declared if self.declared in INSPECTED_FORMATS - {"raw"} else None
        feed = _Feed()
        wrapper = fi.InspectWrapper(feed, expected_format=expected)
        total = 0
        for chunk in chunks:  # errors of the source (size cap, disconnect) pass through
            feed.put(chunk)
            _inspect(wrapper, self.declared)
            total += len(chunk)
            yield chunk
        feed.put(None)
        _inspect(wrapper, self.declared)
        self.verdict = self._decide(wrapper, total)

    def _decide(self, wrapper: fi.InspectWrapper, total: int) -> Verdict:
        if total == 0:
            return Verdict(self.declared, 0)
        try:
            found = list(wrapper.formats or [])
        except Exception as exc:  # noqa: BLE001 - parsers of hostile bytes: any error refuses
            LOG.info("image data refused: format detection failed: %r", exc)
            raise ImageRejected(f"Image data could not be inspected: {exc}") from None
        if {str(i) for i in found} == {"iso", "gpt"}:
            found = [i for i in found if str(i) == "iso"]
        if len(found) != 1:
            raise ImageRejected(
                f"Image data matches several formats ({_names(found)}); it is refused.")
        inspector = found[0]
        detected = str(inspector)
        self._check_declared(detected)
        if self.declared in BOOT_FILE_FORMATS:
            return Verdict("raw", total)  # plain bytes to QEMU (see BOOT_FILE_FORMATS)
        _safety_check(inspector, detected)
        size = total if _family(detected) == "raw" else _virtual_size(inspector, detected)
        return Verdict(_family(detected), size)

    def _check_declared(self, detected: str) -> None:
        if detected in BANNED_FORMATS:
            raise ImageRejected(f"Image data is in {detected} format, which is never accepted.")
        wanted = self.declared if self.declared in INSPECTED_FORMATS else "raw"
        if _family(detected) != wanted:
            raise ImageRejected(f"Image data is in {detected} format, but the image's "
                                f"disk_format is '{self.declared}'.")


def _safety_check(inspector: fi.FileInspector, detected: str) -> None:
    """The library's safety checks; every way they can fail is a refusal."""
    try:
        inspector.safety_check()
    except fi.SafetyCheckFailed as exc:
        raise ImageRejected(f"Image data failed the {detected} safety checks: "
                            f"{_safety_failures(exc)}.") from None
    except fi.ImageFormatError as exc:
        raise ImageRejected(f"Image data is not a valid {detected} image: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - a parser of hostile bytes gave up
        LOG.info("image data refused: %s safety check raised %r", detected, exc)
        raise ImageRejected(f"Image data is not a valid {detected} image: its structure "
                            "could not be checked.") from None


def _virtual_size(inspector: fi.FileInspector, detected: str) -> int:
    """The size the header declares, refused when unreadable or beyond what QEMU opens."""
    try:
        size = int(inspector.virtual_size)
    except Exception as exc:  # noqa: BLE001 - e.g. KeyError: a VMDK descriptor, no header
        LOG.info("image data refused: %s virtual size unreadable: %r", detected, exc)
        raise ImageRejected(f"Image data is not a valid {detected} image: its virtual size "
                            "could not be read (a header is missing or malformed).") from None
    if not 0 <= size <= MAX_VIRTUAL_SIZE:
        raise ImageRejected(f"Image data declares a virtual size of {size} bytes, beyond the "
                            f"largest disk QEMU can open ({MAX_VIRTUAL_SIZE} bytes).")
    return size


def inspect_file(path: Path, declared: str, chunk_size: int = 1 << 20) -> Verdict:
    """Inspect a local file as if it were uploaded (used after qemu-img conversion)."""
    check = FormatCheck(declared)

    def chunks() -> Iterator[bytes]:
        with open(path, "rb") as fh:
            while chunk := fh.read(chunk_size):
                yield chunk

    for _ in check.wrap(chunks()):
        pass
    if check.verdict is None:  # pragma: no cover - wrap() always decides or raises
        raise ImageRejected("Image data could not be inspected.")
    return check.verdict
