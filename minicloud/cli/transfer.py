"""Image data in and out of the CLI: streamed in bounded chunks, verified, with progress.

Uploads read at most :data:`CHUNK` bytes at a time (stdin goes chunked); downloads are
written under a temporary name and renamed once their hash matched. The progress bar is
drawn on stderr only when stderr is a terminal, so scripts and tests see clean output.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from minicloud import errors

if TYPE_CHECKING:
    from tqdm import tqdm

    from minicloud.cli.images import ImageApi
    from minicloud.cli.rest import Response

CHUNK = 1 << 20


def _progress(total: int | None, desc: str) -> tqdm:
    from tqdm import tqdm  # only commands that move image data pay for it

    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024,
                file=sys.stderr, disable=not sys.stderr.isatty())


class ProgressReader:
    """A body the client can stream: every read feeds the progress bar.

    ``read`` never returns more than :data:`CHUNK` bytes, even for ``read()``, so the file is
    never held in memory. ``len`` is set only when the size is known: the client then sends a
    Content-Length, else ``Transfer-Encoding: chunked`` (stdin).
    """

    def __init__(self, stream: IO[bytes], bar: tqdm, size: int | None) -> None:
        self._stream, self._bar = stream, bar
        if size is not None:
            self.len = size

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n if 0 < n <= CHUNK else CHUNK)
        self._bar.update(len(data))
        return data

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(CHUNK):
            yield chunk


def send_data(api: ImageApi, image_id: str, source: str, target: str = "file") -> None:
    """Stream a file (``-`` for stdin) to the image's ``file`` or ``stage``."""
    with contextlib.ExitStack() as stack:
        stream = stack.enter_context(click.open_file(source, "rb"))
        size = None if source == "-" else os.fstat(stream.fileno()).st_size
        bar = stack.enter_context(_progress(size, "upload"))
        data = b"" if size == 0 else ProgressReader(stream, bar, size)
        api.upload(image_id, data, size, target)


def _hasher(img: dict, resp: Response) -> tuple[Any, str, str] | None:
    """(hash object, algorithm, expected hex) the data must match, None if nothing to check."""
    algo, value = img.get("os_hash_algo"), img.get("os_hash_value")
    if algo and value:
        try:
            return hashlib.new(algo), algo, value
        except ValueError:
            raise errors.MinicloudError(
                f"image {img['id']} uses an unknown hash algorithm {algo!r}") from None
    checksum = img.get("checksum") or resp.headers.get("Content-MD5")
    if checksum:
        return hashlib.md5(usedforsecurity=False), "md5", checksum
    return None


def save_data(api: ImageApi, img: dict, out: str) -> None:
    """Download the image's data to ``out`` (``-``: stdout), verifying its hash on the way.

    A file is written next to ``out`` under a temporary name and renamed only once the data
    matched, so a failed or corrupt download leaves no ``out`` behind (stdout cannot be undone:
    the mismatch is reported after the data).
    """
    with contextlib.ExitStack() as stack:
        resp = stack.enter_context(api.download(img["id"]))
        if resp.status_code == 204:
            raise errors.NotFound(f"image {img['id']} has no data")
        check = _hasher(img, resp)
        length = resp.headers.get("Content-Length")
        bar = stack.enter_context(_progress(int(length) if length else img.get("size"),
                                            "download"))
        if out == "-":
            sink: IO[bytes] = stack.enter_context(click.open_file("-", "wb"))
        else:
            target = Path(out)
            part = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
            sink = stack.enter_context(open(part, "xb"))
            stack.callback(part.unlink, missing_ok=True)
        for chunk in resp.iter_content(CHUNK):
            sink.write(chunk)
            if check:
                check[0].update(chunk)
            bar.update(len(chunk))
        sink.flush()
        if check and check[0].hexdigest() != check[2].lower():
            raise errors.MinicloudError(
                f"checksum mismatch for image {img['id']}: expected {check[1]} {check[2]}, "
                f"got {check[0].hexdigest()}")
        if out != "-":
            os.replace(part, target)
