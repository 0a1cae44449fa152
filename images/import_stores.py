"""Imports into several stores, and ``copy-image`` (seed chapter 2; Glance's import flow).

Which stores (:func:`requested_stores`, Glance's ``get_stores_from_request``): ``all_stores``
(every store that is not read-only; not with ``stores`` or ``X-Image-Meta-Store``: 400),
else ``stores``, else the ``X-Image-Meta-Store`` header (not with ``stores``: 400), else the
default store. An unknown store is a 409 (Glance's ``UnknownScheme`` on import). For
``copy-image``, ``all_stores`` leaves out the stores that already hold the image (nothing
left: accepted, nothing done) and a named store that holds it is a 400.

The :class:`ToStores` step writes the data into each store in order, each write through
``images.intake`` (size cap, hashes, inspection); a copy (inspected when the image came in)
is only hashed, and must hash to the image's recorded ``os_hash_value``.
Progress, as the seed describes: ``os_glance_importing_to_stores`` starts
with every requested store and loses each one as it finishes; a store that fails joins
``os_glance_failed_import``.

* ``all_stores_must_succeed`` (Glance's default: true): the image becomes ``active`` when the
  last store has the data; the first store that fails stops the import, every copy this
  import wrote is removed, and the image goes back to ``queued`` (a copy-image leaves the
  image ``active`` with the stores it had).
* false (``--allow-failure``, the openstack CLI's default): a failing store is recorded and
  the import goes on; the image becomes ``active`` as soon as one store has the data; only
  when every store failed does it go back to ``queued``.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from images import signing, states
from images.intake import HASH_ALGO, Intake
from images.models import Image, ImageProperty
from images.service import Dependencies, set_properties
from images.stores import StoreSet
from images.webdownload import ImportFailed, ImportStopped
from minicloud.errors import BadRequest, Conflict, MinicloudError

if TYPE_CHECKING:
    from images.imports import ImportJob

IMPORTING = "os_glance_importing_to_stores"
FAILED = "os_glance_failed_import"
TASK = "os_glance_import_task"


def requested_stores(stores: StoreSet, body: dict, header: str | None) -> list[str]:
    """The stores an import request names (module docstring), validated."""
    if body.get("all_stores", False):
        if "stores" in body or header:
            raise BadRequest("All_stores parameter can't be used with x-image-meta-store "
                             "header or stores parameter")
        wanted = stores.writable_ids
    elif "stores" in body:
        if header:
            raise BadRequest("Stores parameter and x-image-meta-store header can't be both "
                             "specified")
        wanted = list(dict.fromkeys(body["stores"]))
    else:
        wanted = [header or stores.default_id]
    for store_id in wanted:
        if store_id not in stores.infos:
            raise Conflict(f"Store for identifier {store_id} not found")
    return wanted


def copy_targets(stores: StoreSet, image_id: str, wanted: list[str],
                 all_stores: bool) -> list[str]:
    """``copy-image``: the requested stores that do not hold the image yet."""
    holding = set(stores.holding(image_id))
    if not all_stores:
        for store_id in wanted:
            if store_id in holding:
                raise BadRequest(f"Image is already present at store '{store_id}'")
    return [s for s in wanted if s not in holding]


def _split(value: str | None) -> list[str]:
    return [v for v in (value or "").split(",") if v]


def update_progress(image: Image, done: Iterable[str] = (), failed: Iterable[str] = (),
                    start: Iterable[str] = (), task: str | None | bool = False) -> None:
    """Edit the progress properties: ``start`` stores join ``importing`` (and leave
    ``failed``), ``done`` and ``failed`` stores leave ``importing``, ``failed`` ones join
    ``failed``. ``task``: a task id sets ``os_glance_import_task``, None removes it."""
    props = {p.name: p.value for p in image.properties}
    importing, failures = _split(props.get(IMPORTING)), _split(props.get(FAILED))
    start, done, failed = list(start), list(done), list(failed)
    importing = [s for s in importing if s not in done and s not in failed]
    importing += [s for s in start if s not in importing]
    failures = [s for s in failures if s not in start]
    failures += [s for s in failed if s not in failures]
    props.update({IMPORTING: ",".join(importing), FAILED: ",".join(failures)})
    if task is None:
        props.pop(TASK, None)
    elif isinstance(task, str):
        props[TASK] = task
    set_properties(image, props)


class _Sha512:
    """Hashes the chunks it passes on (copy-image checks each copy against the image)."""

    result = None

    def __init__(self) -> None:
        self._hash = hashlib.sha512()

    def wrap(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self._hash.update(chunk)
            yield chunk

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class ToStores:
    """The import step that puts the data into every requested store (module docstring)."""

    name = "stores"

    def __init__(self, deps: Dependencies, source: Callable[[ImportJob], Iterator[bytes]]
                 ) -> None:
        self.deps, self.source = deps, source

    @property
    def copying(self) -> Callable[[ImportJob], bool]:
        return lambda job: job.method == "copy-image"

    def run(self, job: ImportJob) -> None:
        conf = self.deps.conf.image
        last = len(job.stores) - 1
        props = self._properties(job)
        for n, store_id in enumerate(job.stores):
            # A copy was inspected when it came in: its sha512 is all there is to check.
            intake = (_Sha512() if job.expect_hash
                      else Intake(conf.max_image_size, job.disk_format))
            chunks = intake.wrap(self.source(job))
            if not job.expect_hash:  # new data: a signed image's signature must verify
                chunks = signing.checked_stream(self.deps.certificates, job.auth, props,
                                                chunks)
            try:
                self.deps.store.add_to(store_id, job.image_id, chunks)
                job.written.append(store_id)
                if job.expect_hash and intake.hexdigest() != job.expect_hash:
                    raise ImportFailed(f"The copy in store {store_id} does not match the "
                                       "image's os_hash_value.")
            except ImportStopped:
                raise
            except signing.SignatureVerificationError as exc:
                # Bad data, not a bad store: the import stops whatever all_stores_must_succeed
                # says, and the image is killed (ImportService._run).
                job.failed_store = store_id
                raise signing.failure(job.image_id, exc) from None
            except (MinicloudError, OSError) as exc:
                if job.must_succeed:
                    job.failed_store = store_id
                    raise ImportFailed(f"Import to store {store_id} failed: "
                                       f"{getattr(exc, 'message', exc)}") from None
                self._record(job, failed=store_id)
                continue
            if job.result is None:
                job.result = intake.result
            activate = not self.copying(job) and not job.activated and (
                not job.must_succeed or n == last)
            self._record(job, done=store_id, activate=activate)
        if not job.written:
            raise ImportFailed("None of the uploads finished!")

    def _properties(self, job: ImportJob) -> dict[str, str]:
        with self.deps.db.session() as s:
            image = s.get(Image, job.image_id)
            return {p.name: p.value for p in image.properties} if image else {}

    def _record(self, job: ImportJob, done: str | None = None, failed: str | None = None,
                activate: bool = False) -> None:
        """One store finished (``done``) or failed; ``activate``: importing -> active with
        the data's results, in the same transaction. A deleted image stops the import."""
        with self.deps.db.session() as s:
            image = s.get(Image, job.image_id)
            expected = (states.WITH_DATA if self.copying(job) or job.activated
                        else {states.IMPORTING})
            if image is None or image.status not in expected:
                raise ImportStopped(f"Image {job.image_id} was deleted during its import.")
            if activate:
                result = job.result
                assert result is not None
                states.transition(s, job.image_id, states.IMPORTING, states.ACTIVE,
                                  size=result.size, checksum=result.checksum,
                                  os_hash_algo=HASH_ALGO,
                                  os_hash_value=result.os_hash_value,
                                  virtual_size=result.virtual_size,
                                  disk_format=job.disk_format)
                s.refresh(image)
            update_progress(image, done=[done] if done else (),
                            failed=[failed] if failed else ())
        job.activated = job.activated or activate  # only once it is committed

    def undo(self, job: ImportJob) -> None:
        if job.activated:
            with self.deps.db.session() as s:
                image = s.get(Image, job.image_id)
                if image is not None and image.status in states.WITH_DATA:
                    return  # an image that went active keeps the data it is active with
        for store_id in job.written:
            self.deps.store.delete_from(store_id, job.image_id)
        job.written.clear()


def finish(deps: Dependencies, job: ImportJob, error: str | None, kill: bool = False) -> None:
    """The image's side of the end of an import: the task lock goes; on failure the stores
    still listed as importing are cleared, the store that failed an
    ``all_stores_must_succeed`` import is recorded, and an image that is not active (not a
    copy) goes back to ``queued`` (``killed`` with ``kill``: its signature did not verify)."""
    with deps.db.session() as s:
        image = s.get(Image, job.image_id)
        if image is None or image.status == states.DELETED:
            return
        if error is not None and job.method != "copy-image" and not job.activated:
            try:
                states.transition(s, job.image_id, states.IMPORTING,
                                  states.KILLED if kill else states.QUEUED)
            except Conflict:
                return  # changed meanwhile (deleted): nothing of ours to record
            s.refresh(image)
        if error is None:
            update_progress(image, task=None)
            return
        left = _split({p.name: p.value for p in image.properties}.get(IMPORTING))
        failed = [job.failed_store] if job.failed_store else []
        if not failed and not job.written:
            failed = left  # failed before any store was tried (a download): all failed
        update_progress(image, done=left, failed=failed, task=None)


def recover_copies(deps: Dependencies) -> None:
    """A copy-image cut off by a restart leaves an active image marked busy: its lock goes
    and the stores it was copying to are recorded as failed (a partial copy never shows:
    every store writes through a temp file)."""
    with deps.db.session() as s:
        rows = s.scalars(select(Image).join(ImageProperty).where(
            ImageProperty.name == TASK, Image.status.in_(states.WITH_DATA))).all()
        for image in rows:
            left = _split({p.name: p.value for p in image.properties}.get(IMPORTING))
            update_progress(image, failed=left, task=None)


def task_input(job_stores: list[str], body: dict, image_id: str) -> dict[str, Any]:
    return {"image_id": image_id, "import_req": body, "backend": job_stores}
