"""Interoperable image import (``POST /v2/images/{id}/import``): glance-direct, web-download,
copy-image.

``start`` validates the request and moves the image to ``importing`` (the API answers 202);
the import then runs in a background thread of the service process as a list of steps, each
with an undo (Glance's import flow):

1. ``WebDownload`` (web-download only, ``images.webdownload``): fetch the http(s) URI
   (streamed, ``web_download_timeout`` per read, ``web_download_deadline`` for the whole
   download, ``max_image_size`` cap) into the staging area, stopping when the image is
   deleted. The URI and every redirect must pass Glance's import filter
   (``images.uri_filter.check_uri``: scheme http(s), an allowed port, 80 and 443 by default,
   not a disallowed host or address), so an import cannot reach the cloud's own APIs or
   other services on their ports.
2. ``Convert`` (only with ``[image] convert_to = raw``): inspect the staged data against the
   declared format *before* qemu-img reads it; qcow2 is checked again with ``qemu-img info``
   and converted to raw (``qemu-img convert -f qcow2 -O raw``); the output is re-inspected
   and ``disk_format`` becomes ``raw``.
3. ``InjectMetadata`` (``images.inject``; only when that import plugin is enabled, and not
   for ``copy-image`` or a ``POST /v2/tasks`` import): the configured properties.
4. ``ToStores`` (``images.import_stores``): staged (or converted) bytes through
   ``images.intake`` (size cap, hashes, inspection) and, for a signed image,
   ``images.signing.checked_stream`` (a bad signature kills the image) into each requested
   store, then
   ``importing -> active`` with the results in one compare-and-swap (after the first store
   or the last one, per ``all_stores_must_succeed``). ``copy-image`` runs only this step,
   from a store that has the image, on an image that stays ``active``.

Progress is visible in reserved properties set by the service only, as Glance:
``os_glance_import_task`` (the task id, while running), ``os_glance_importing_to_stores``
(the stores still to do) and ``os_glance_failed_import`` (the stores that failed). A failed
import undoes its steps, removes the staged data and returns the image to ``queued``
(``killed`` when its signature did not verify).

Every import is a task (``images.tasks``): ``pending`` when accepted, ``processing`` while
the flow runs, ``success`` or ``failure`` with the reason; ``os_glance_import_task`` is its id.
``POST /v2/tasks`` (type ``import``) runs the same web-download flow into a new image.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from images import formats, inject, signing, states
from images.conversion import QemuImg
from images.import_stores import (
    ToStores,
    copy_targets,
    finish,
    requested_stores,
    task_input,
    update_progress,
)
from images.inspection import inspect_file
from images.intake import IntakeResult
from images.models import Image
from images.owners import Owner, store_root
from images.service import Dependencies, ImageService
from images.tasks import TaskService
from images.uri_filter import check_uri
from images.webdownload import ImportFailed, ImportStopped, WebDownload

__all__ = ["ImportFailed", "ImportStopped", "ImportService", "check_uri", "METHODS"]
from minicloud import faults
from minicloud.errors import BadRequest, Conflict, MinicloudError
from minicloud.identity.tokens import AuthContext

LOG = logging.getLogger(__name__)

METHODS = ("glance-direct", "web-download", "copy-image")


@dataclass
class ImportJob:
    image_id: str
    method: str
    disk_format: str
    task_id: str
    uri: str | None = None
    converted: Path | None = None
    result: IntakeResult | None = None
    #: The stores to write, in order, and Glance's ``all_stores_must_succeed``.
    stores: list[str] = field(default_factory=list)
    must_succeed: bool = True
    #: Progress of ``images.import_stores.ToStores``.
    written: list[str] = field(default_factory=list)
    failed_store: str | None = None
    activated: bool = False
    #: copy-image: the hash every copy must have.
    expect_hash: str | None = None
    #: The importing user's roles, for the import plugins (``images.inject``); None: a
    #: legacy ``POST /v2/tasks`` import, which runs no plugins (as Glance's task flow).
    roles: tuple[str, ...] | None = None
    injected: dict[str, str | None] = field(default_factory=dict)
    #: The caller who started the import (a signed image's certificate is fetched as them).
    auth: AuthContext | None = None
    #: A legacy ``POST /v2/tasks`` import, whose image was made for the task: removed when
    #: the task fails, as Glance's task flow reverts the image it created (nothing is left
    #: ``queued`` behind a failure).
    legacy: bool = False
    #: The held owner lock of the image (:mod:`images.owners`), released when the job ends.
    owner: Owner | None = None


class Step(Protocol):
    name: str

    def run(self, job: ImportJob) -> None: ...

    def undo(self, job: ImportJob) -> None: ...


def enabled_methods(image_conf: Any) -> list[str]:
    return [m.strip() for m in image_conf.enabled_import_methods.split(",") if m.strip()]


def _file_chunks(path: Path, chunk_size: int) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            yield chunk


class Convert:
    name = "convert"

    def __init__(self, deps: Dependencies, qemu: QemuImg) -> None:
        self.deps, self.qemu = deps, qemu

    def run(self, job: ImportJob) -> None:
        src = self.deps.staging.path(job.image_id)
        if src is None:
            raise ImportFailed("Image conversion needs a filesystem staging area.")
        # Never let qemu-img open bytes the inspector has not accepted (hardening 1.7).
        verdict = inspect_file(src, job.disk_format, self.deps.conf.image.chunk_size)
        if verdict.format != "qcow2":
            return
        self.qemu.check_standalone(src, "qcow2")
        dst = src.with_name(f".{job.image_id}.converted.tmp")
        job.converted = dst
        self.qemu.convert(src, "qcow2", dst, "raw")
        inspect_file(dst, "raw", self.deps.conf.image.chunk_size)
        job.disk_format = "raw"

    def undo(self, job: ImportJob) -> None:
        if job.converted is not None:
            job.converted.unlink(missing_ok=True)


def run_flow(steps: list[Step], job: ImportJob) -> None:
    """Run ``steps`` in order; on failure undo the steps that ran (the failing one included,
    since it may have left something) in reverse order, then re-raise."""
    done: list[Step] = []
    try:
        for step in steps:
            done.append(step)
            step.run(job)
    except BaseException:
        for step in reversed(done):
            try:
                step.undo(job)
            except Exception:  # noqa: BLE001 - keep undoing; the first error is re-raised
                LOG.exception("import %s: undo of step %s failed", job.task_id, step.name)
        raise


class ImportService:
    """Starts imports, records each as a task (``images.tasks``) and runs them in background
    threads of the service process."""

    def __init__(self, deps: Dependencies, images: ImageService,
                 qemu: QemuImg | None = None) -> None:
        self.deps = deps
        self.images = images  # removes a failed legacy task's image
        self.qemu = qemu or QemuImg(deps.conf.image.inspect_cpu_seconds)
        self.tasks = TaskService(deps)
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def info(self) -> list[str]:
        return enabled_methods(self.deps.conf.image)

    def _parse(self, body: dict) -> tuple[str, str | None]:
        """``(method, uri)`` of a body valid against ``schema.IMPORT``."""
        method = body["method"]
        name = method["name"]
        if name not in self.info():
            raise BadRequest(f"Import method {name!r} is not enabled (enabled: "
                             f"{', '.join(self.info()) or 'none'}).")
        if name != "web-download":
            return name, None
        return name, check_uri(method.get("uri"), self.deps.conf.image)

    def start(self, ctx: AuthContext, image_id: str, body: dict,
              request_id: str | None = None, header_store: str | None = None) -> str | None:
        """Validate, move the image to ``importing`` (a copy-image leaves it ``active``),
        record the task (``pending``) and start the flow; returns the task id (None when a
        copy to ``all_stores`` finds every store already holding the image). The flow's
        thread owns the import (:mod:`images.owners`): if this process dies, a new worker
        re-queues the image."""
        return self._owned(image_id, self._start, ctx, image_id, body, request_id,
                           header_store)

    def _owned(self, image_id: str, start: Any, *args: Any) -> str | None:
        owner = Owner(store_root(self.deps.conf), image_id)
        owner.acquire()
        try:
            return start(*args, owner)
        finally:
            if not owner.handed:
                owner.release()

    def _start(self, ctx: AuthContext, image_id: str, body: dict, request_id: str | None,
               header_store: str | None, owner: Owner) -> str | None:
        method, uri = self._parse(body)
        copying = method == "copy-image"
        with self.deps.db.session() as s:
            image = self.deps.find(s, ctx, image_id,
                                   "copy_image" if copying else "modify_image")
            self._check_status(image, method)
            wanted = requested_stores(self.deps.store, body, header_store)
            if copying:
                wanted = copy_targets(self.deps.store, image.id, wanted,
                                      bool(body.get("all_stores")))
                if not wanted:
                    return None
            else:
                states.transition(s, image.id, image.status, states.IMPORTING)
            task_id = self.tasks.add(s, ctx, "api_image_import", image.id,
                                     task_input(wanted, body, image.id), request_id)
            update_progress(image, start=wanted, task=task_id)
            # copy-image runs no import plugins (as Glance's flow): roles stay None.
            job = ImportJob(image.id, method, image.disk_format or "raw", task_id, uri=uri,
                            stores=wanted,
                            must_succeed=body.get("all_stores_must_succeed", True),
                            expect_hash=image.os_hash_value if copying else None,
                            roles=None if copying else tuple(ctx.roles), auth=ctx,
                            owner=owner)
        self._spawn(job)
        return task_id

    def _check_status(self, image: Image, method: str) -> None:
        """Glance's checks of the image before an import (409s)."""
        if method == "copy-image":
            if image.status != states.ACTIVE:
                raise Conflict("Only images with status active can be targeted for copying")
            if any(p.name == "os_glance_import_task" for p in image.properties):
                raise Conflict(f"New operation on image '{image.id}' is not permitted as "
                               "prior operation is still in progress")
            return
        if not (image.disk_format and image.container_format):
            raise BadRequest("Properties disk_format and container_format must be set "
                             "before an import.")
        formats.check_usable(image.disk_format)
        wanted = states.UPLOADING if method == "glance-direct" else states.QUEUED
        if image.status != wanted or (
                method == "glance-direct" and self.deps.staging.size(image.id) is None):
            raise Conflict(f"Image {image.id} is {image.status}: {method} needs a "
                           f"{'staged' if wanted == states.UPLOADING else 'queued'} image.")

    def start_task(self, ctx: AuthContext, image_id: str, task_input: dict,
                   request_id: str | None = None) -> str:
        """``POST /v2/tasks`` of type ``import``: fetch ``task_input["import_from"]`` into the
        (new, queued) image ``image_id`` as a web-download does. A URI the import filter
        refuses fails the task at once (``failure`` with the reason), as Glance's task flow
        does. The image was made for the task: it is removed when the task fails."""
        return self._owned(image_id, self._start_task, ctx, image_id, task_input, request_id)

    def _start_task(self, ctx: AuthContext, image_id: str, task_input: dict,
                    request_id: str | None, owner: Owner) -> str:
        with self.deps.db.session() as s:
            image = self.deps.find(s, ctx, image_id, "modify_image")
            task_id = self.tasks.add(s, ctx, "import", image.id, task_input, request_id)

        def fail(message: str) -> str:
            self.tasks.fail(task_id, message)
            self.images.discard_failed([image_id])
            return task_id

        try:
            uri = check_uri(task_input.get("import_from"), self.deps.conf.image)
        except BadRequest as exc:
            return fail(exc.message)
        with self.deps.db.session() as s:
            image = self.deps.find(s, ctx, image_id, "modify_image")
            try:
                states.transition(s, image.id, states.QUEUED, states.IMPORTING)
            except Conflict as exc:
                s.rollback()
                return fail(exc.message)
            update_progress(image, start=[self.deps.store.default_id], task=task_id)
            job = ImportJob(image.id, "web-download", image.disk_format or "raw", task_id,
                            uri=uri, stores=[self.deps.store.default_id], auth=ctx,
                            owner=owner, legacy=True)
        self._spawn(job)
        return task_id

    def _alive(self, image_id: str) -> bool:
        """Whether ``image_id`` is still ``importing`` (a deleted image stops its import)."""
        with self.deps.db.session() as s:
            image = s.get(Image, image_id)
            return image is not None and image.status == states.IMPORTING

    def _steps(self, job: ImportJob) -> list[Step]:
        if job.method == "copy-image":
            return [ToStores(self.deps, self._stored_chunks)]
        steps: list[Step] = []
        if job.method == "web-download":
            steps.append(WebDownload(self.deps, self._alive))
        if self.deps.conf.image.convert_to == "raw":
            steps.append(Convert(self.deps, self.qemu))
        if job.roles is not None and inject.PLUGIN in inject.enabled_plugins(
                self.deps.conf.image):
            steps.append(inject.InjectMetadata(self.deps))
        return [*steps, ToStores(self.deps, self._staged_chunks)]

    def _staged_chunks(self, job: ImportJob) -> Iterator[bytes]:
        if job.converted is not None:
            return _file_chunks(job.converted, self.deps.conf.image.chunk_size)
        return iter(self.deps.staging.get(job.image_id))

    def _stored_chunks(self, job: ImportJob) -> Iterator[bytes]:
        return iter(self.deps.store.get(job.image_id))

    def _spawn(self, job: ImportJob) -> None:
        if job.owner is not None:
            job.owner.handed = True
        thread = threading.Thread(target=self._run, args=(job,), daemon=True,
                                  name=f"image-import-{job.image_id}")
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def _run(self, job: ImportJob) -> None:
        self.tasks.processing(job.task_id)
        try:
            faults.point("image.import.running")
            run_flow(self._steps(job), job)
            LOG.info("import %s of image %s finished", job.task_id, job.image_id)
            finish(self.deps, job, None)
            self.tasks.succeed(job.task_id, {"image_id": job.image_id})
        except signing.SignatureFailed as exc:
            LOG.warning("import %s: %s", job.task_id, exc.message)
            self._failed(job, exc.message, kill=True)
        except MinicloudError as exc:
            LOG.warning("import %s of image %s failed: %s", job.task_id, job.image_id,
                        exc.message)
            self._failed(job, exc.message)
        except Exception as exc:  # noqa: BLE001 - a thread's last resort: record the failure
            LOG.exception("import %s of image %s failed unexpectedly", job.task_id,
                          job.image_id)
            self._failed(job, f"Unexpected error: {type(exc).__name__}")
        finally:
            self.deps.staging.delete(job.image_id)
            if job.converted is not None:
                job.converted.unlink(missing_ok=True)
            if job.owner is not None:
                job.owner.release()
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _failed(self, job: ImportJob, message: str, kill: bool = False) -> None:
        self.tasks.fail(job.task_id, message)
        finish(self.deps, job, message, kill=kill)
        if job.legacy and not job.activated:  # an image that went active keeps its data
            self.images.discard_failed([job.image_id])

    def wait(self, timeout: float | None = None) -> bool:
        """Join the running imports (tests and shutdown); True when none is left."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)
        with self._lock:
            return not any(t.is_alive() for t in self._threads)
