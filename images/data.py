"""Image data: plain upload (``PUT .../file``), staging for import (``PUT .../stage``), download.

Upload contract: only a ``queued`` image accepts data; it is ``saving`` while the body streams
(in ``chunk_size`` chunks, never whole in memory) through the size cap, md5 + sha512 and the
format inspector (``images.intake``) into the store, then ``active`` with ``size``,
``checksum``, ``os_hash_*`` and ``virtual_size`` recorded in the same compare-and-swap.

On failure (client disconnect, oversize, refused format, store error) nothing of the upload
stays in the store and the image goes back to ``queued``, as modern Glance does for plain
uploads, so the client can retry. Only when the failed upload's data cannot be removed does
the image become ``killed``. If the image is deleted while its data streams in, the final
compare-and-swap fails and the data just written is removed again (409).

No database transaction is held while bytes move: SQLite writers would queue behind it.
"""
from __future__ import annotations

import errno
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from images import formats, signing, states
from images.intake import HASH_ALGO, Intake
from images.models import Image
from images.owners import owning, store_root
from images.service import Dependencies
from images.store import DataIterator, Store
from minicloud.errors import BadRequest, Conflict, Forbidden, NotFound, RequestTooLarge
from minicloud.identity.tokens import AuthContext

if TYPE_CHECKING:
    from images.cache_service import CacheService

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataInfo:
    """What a download needs to know before it streams (headers and range checks)."""

    image_id: str
    size: int
    checksum: str | None
    os_hash_algo: str | None = None
    os_hash_value: str | None = None
    status: str = states.ACTIVE


class DataService:
    def __init__(self, deps: Dependencies, cache: CacheService | None = None) -> None:
        self.deps = deps
        #: ``images.cache_service``: serves downloads when ``[image] cache_enabled``.
        self.cache = cache

    # -- receiving ---------------------------------------------------------------------
    def _begin(self, ctx: AuthContext, image_id: str, new: str, declared_size: int | None,
               need_formats: bool, rule: str) -> Image:
        """Checks (policy ``rule``), then ``queued -> new`` in one transaction; returns the
        (detached) image."""
        with self.deps.db.session() as s:
            image = self.deps.find(s, ctx, image_id, rule)
            if image.status != states.QUEUED:
                raise Conflict(f"Image {image.id} is {image.status}: data can only be "
                               "uploaded to a queued image.")
            if need_formats and not (image.disk_format and image.container_format):
                raise BadRequest("Properties disk_format and container_format must be set "
                                 "before the image data is uploaded.")
            formats.check_usable(image.disk_format)
            limit = self.deps.conf.image.max_image_size
            if declared_size is not None and declared_size > limit:
                raise RequestTooLarge(f"Image exceeds the maximum image size of {limit} "
                                      "bytes.")
            states.transition(s, image.id, states.QUEUED, new)
            return image

    def _receive(self, image_id: str, status: str, store: Store,
                 write: Callable[[], int]) -> None:
        """Run ``write``; on any failure remove what it left and re-queue (or kill)."""
        try:
            write()
        except signing.SignatureVerificationError as exc:
            self._fail(image_id, status, store, kill=True)
            raise signing.failure(image_id, exc) from None
        except OSError as exc:
            self._fail(image_id, status, store)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise RequestTooLarge("Image storage media is full.") from None
            raise
        except BaseException:
            self._fail(image_id, status, store)
            raise

    def _fail(self, image_id: str, status: str, store: Store, kill: bool = False) -> None:
        # A signed image whose data did not verify is killed, as Glance does.
        new = states.KILLED if kill else states.QUEUED
        try:
            store.delete(image_id)
        except OSError:
            LOG.exception("could not remove the data of failed upload %s", image_id)
            new = states.KILLED
        with self.deps.db.session() as s:
            try:
                states.transition(s, image_id, status, new)
            except Conflict:
                LOG.info("image %s changed during its failed upload", image_id)

    def upload(self, ctx: AuthContext, image_id: str, body: Iterable[bytes],
               declared_size: int | None = None) -> None:
        """``PUT /v2/images/{id}/file``: see the module docstring. This process owns the
        upload while it runs (:mod:`images.owners`: if it dies, a new worker re-queues it)."""
        with owning(store_root(self.deps.conf), image_id):
            self._upload(ctx, image_id, body, declared_size)

    def _upload(self, ctx: AuthContext, image_id: str, body: Iterable[bytes],
                declared_size: int | None) -> None:
        image = self._begin(ctx, image_id, states.SAVING, declared_size, need_formats=True,
                            rule="upload_image")
        intake = Intake(self.deps.conf.image.max_image_size, image.disk_format)
        store = self.deps.store
        props = {p.name: p.value for p in image.properties}
        chunks = signing.checked_stream(self.deps.certificates, ctx, props, intake.wrap(body))
        self._receive(image.id, states.SAVING, store, lambda: store.add(image.id, chunks))
        result = intake.result
        assert result is not None
        try:
            with self.deps.db.session() as s:
                states.transition(s, image.id, states.SAVING, states.ACTIVE,
                                  size=result.size, checksum=result.checksum,
                                  os_hash_algo=HASH_ALGO, os_hash_value=result.os_hash_value,
                                  virtual_size=result.virtual_size)
        except Conflict:
            store.delete(image.id)
            raise Conflict(f"Image {image.id} was deleted or changed during the upload; "
                           "its data was discarded.") from None

    def stage(self, ctx: AuthContext, image_id: str, body: Iterable[bytes],
              declared_size: int | None = None) -> None:
        """``PUT /v2/images/{id}/stage``: data into the staging area; status ``uploading``.

        The image stays ``uploading`` until ``POST .../import``. The bytes are already
        checked against the declared ``disk_format`` (when set) so that a refused image is a
        400 here; the import checks them again.
        """
        # Glance checks modify_image for staging (it is a step of an import), not upload.
        image = self._begin(ctx, image_id, states.UPLOADING, declared_size,
                            need_formats=False, rule="modify_image")
        intake = Intake(self.deps.conf.image.max_image_size, image.disk_format, hashes=False)
        staging = self.deps.staging
        self._receive(image.id, states.UPLOADING, staging,
                      lambda: staging.add(image.id, intake.wrap(body)))

    # -- sending -----------------------------------------------------------------------
    def info(self, ctx: AuthContext, image_id: str) -> DataInfo | None:
        """Download checks; ``None`` when the image has no data (the API answers 204)."""
        with self.deps.db.session() as s:
            image = self.deps.find(s, ctx, image_id, "download_image")
            if image.status == states.DEACTIVATED and not ctx.is_admin:
                raise Forbidden("The requested image has been deactivated. Image data "
                                "download is forbidden.")
            if image.status not in states.WITH_DATA:
                return None
            info = DataInfo(image.id, image.size or 0, image.checksum, image.os_hash_algo,
                            image.os_hash_value, image.status)
        if self.deps.store.size(info.image_id) is None:
            raise NotFound(f"The data of image {info.image_id} is missing from the store.")
        return info

    def read(self, info: DataInfo, offset: int = 0, length: int | None = None
             ) -> DataIterator:
        def from_store() -> DataIterator:
            return self.deps.store.get(info.image_id, offset, length)

        if self.cache is None:
            return from_store()
        return self.cache.serve(info, offset, length, from_store)
