"""The one pass incoming image bytes make before they may be stored.

``Intake(...).wrap(chunks)`` returns a generator to hand to ``Store.add``. In order, each
chunk is: counted against ``max_size`` (413 before anything beyond the cap is accepted),
hashed (md5 for ``checksum`` and sha512 for ``os_hash_value``, in the same pass), and shown
to the format inspector. Every check raises *inside* the generator, so the store keeps nothing
of a refused stream; the results are read from :attr:`Intake.result` once it is exhausted.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from werkzeug.exceptions import ClientDisconnected

from images.inspection import FormatCheck
from minicloud.errors import BadRequest, RequestTooLarge

HASH_ALGO = "sha512"


@dataclass(frozen=True)
class IntakeResult:
    size: int
    checksum: str | None        # md5 hex
    os_hash_value: str | None   # sha512 hex
    format: str | None          # detected format (None when not inspected)
    virtual_size: int | None


def read_stream(stream: IO[bytes], chunk_size: int,
                expected: int | None = None) -> Iterator[bytes]:
    """Chunks of a request body; a client that goes away mid-body is a 400.

    ``expected`` is the body's ``Content-Length`` (None for a chunked body). gunicorn
    hands the application its raw socket reader (``wsgi.input_terminated``), which just
    ends when the client closes early, so the count is checked here: a body that ends
    before ``expected`` bytes (or runs past them) raises, inside the generator, before the
    store keeps anything.
    """
    received = 0
    while True:
        try:
            chunk = stream.read(chunk_size)
        except (ClientDisconnected, OSError) as exc:
            # werkzeug: body shorter than Content-Length; gunicorn: broken chunked encoding.
            raise BadRequest(f"The upload was interrupted: {exc}") from None
        if not chunk:
            break
        received += len(chunk)
        if expected is not None and received > expected:
            raise BadRequest(f"The upload was interrupted: more than the {expected} bytes "
                             "its Content-Length announced.")
        yield chunk
    if expected is not None and received < expected:
        raise BadRequest(f"The upload was interrupted: {received} of the {expected} bytes "
                         "its Content-Length announced were received.")


class Intake:
    """Size cap, hashes and inspection for one stream (see the module docstring)."""

    def __init__(self, max_size: int, disk_format: str | None = None,
                 hashes: bool = True) -> None:
        self.max_size = max_size
        self.check = FormatCheck(disk_format) if disk_format else None
        self._md5 = hashlib.md5(usedforsecurity=False) if hashes else None
        self._sha = hashlib.sha512() if hashes else None
        self.size = 0
        self.result: IntakeResult | None = None

    def _capped(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self.size += len(chunk)
            if self.size > self.max_size:
                raise RequestTooLarge(f"Image exceeds the maximum image size of "
                                      f"{self.max_size} bytes.")
            if self._md5 is not None and self._sha is not None:
                self._md5.update(chunk)
                self._sha.update(chunk)
            yield chunk

    def wrap(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        stream = self._capped(chunks)
        if self.check is not None:
            stream = self.check.wrap(stream)
        yield from stream
        verdict = self.check.verdict if self.check is not None else None
        self.result = IntakeResult(
            size=self.size,
            checksum=self._md5.hexdigest() if self._md5 is not None else None,
            os_hash_value=self._sha.hexdigest() if self._sha is not None else None,
            format=verdict.format if verdict else None,
            virtual_size=verdict.virtual_size if verdict else None)
