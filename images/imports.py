"""Interoperable image import (``POST /v2/images/{id}/import``): glance-direct, web-download.

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
3. ``StoreData``: staged (or converted) bytes through ``images.intake`` (size cap, hashes,
   inspection) into the store.
4. ``Activate``: ``importing -> active`` with the results, in one compare-and-swap.

Progress is visible in reserved properties set by the service only, as Glance:
``os_glance_import_task`` (the task id, while running), ``os_glance_importing_to_stores``
(``file`` while running) and ``os_glance_failed_import`` (``file`` after a failure). A failed
import undoes its steps, removes the staged data and returns the image to ``queued``.

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
from images.inspection import inspect_file
from images.intake import HASH_ALGO, Intake, IntakeResult
from images.models import Image
from images.owners import Owner, store_root
from images.service import STORE_ID, Dependencies, set_properties
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
    #: The importing user's roles, for the import plugins (``images.inject``); None: a
    #: legacy ``POST /v2/tasks`` import, which runs no plugins (as Glance's task flow).
    roles: tuple[str, ...] | None = None
    injected: dict[str, str | None] = field(default_factory=dict)
    #: The caller who started the import (a signed image's certificate is fetched as them).
    auth: AuthContext | None = None
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


class StoreData:
    name = "store"

    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps

    def run(self, job: ImportJob) -> None:
        conf = self.deps.conf.image
        if job.converted is not None:
            chunks = _file_chunks(job.converted, conf.chunk_size)
        else:
            chunks = iter(self.deps.staging.get(job.image_id))
        intake = Intake(conf.max_image_size, job.disk_format)
        with self.deps.db.session() as s:
            image = s.get(Image, job.image_id)
            props = {p.name: p.value for p in image.properties} if image else {}
        chunks = signing.checked_stream(self.deps.certificates, job.auth, props,
                                        intake.wrap(chunks))
        try:
            self.deps.store.add(job.image_id, chunks)
        except signing.SignatureVerificationError as exc:
            raise signing.failure(job.image_id, exc) from None
        job.result = intake.result

    def undo(self, job: ImportJob) -> None:
        self.deps.store.delete(job.image_id)


class Activate:
    name = "activate"

    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps

    def run(self, job: ImportJob) -> None:
        result = job.result
        if result is None:
            raise ImportFailed("No data was stored.")
        with self.deps.db.session() as s:
            states.transition(s, job.image_id, states.IMPORTING, states.ACTIVE,
                              size=result.size, checksum=result.checksum,
                              os_hash_algo=HASH_ALGO, os_hash_value=result.os_hash_value,
                              virtual_size=result.virtual_size, disk_format=job.disk_format)
            _set_progress(s.get(Image, job.image_id), task=None, importing="", failed="")

    def undo(self, job: ImportJob) -> None:
        pass  # last step: nothing runs after it


def _set_progress(image: Image | None, task: str | None, importing: str, failed: str) -> None:
    if image is None:
        return
    props = {p.name: p.value for p in image.properties}
    props.pop("os_glance_import_task", None)
    if task is not None:
        props["os_glance_import_task"] = task
    props.update(os_glance_importing_to_stores=importing, os_glance_failed_import=failed)
    set_properties(image, props)


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

    def __init__(self, deps: Dependencies, qemu: QemuImg | None = None) -> None:
        self.deps = deps
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
        stores = body.get("stores")
        if stores is not None and stores != [STORE_ID]:
            raise BadRequest(f"Unknown stores {stores!r}: the only store is '{STORE_ID}'.")
        if name != "web-download":  # copy-image is refused once its policy has been checked
            return name, None
        return name, check_uri(method.get("uri"), self.deps.conf.image)

    def start(self, ctx: AuthContext, image_id: str, body: dict,
              request_id: str | None = None) -> str:
        """Validate, move the image to ``importing``, record the task (``pending``) and
        start the flow; returns the task id. The flow's thread owns the import
        (:mod:`images.owners`): if this process dies, a new worker re-queues the image."""
        return self._owned(image_id, self._start, ctx, image_id, body, request_id)

    def _owned(self, image_id: str, start: Any, *args: Any) -> str:
        owner = Owner(store_root(self.deps.conf), image_id)
        owner.acquire()
        try:
            return start(*args, owner)
        finally:
            if not owner.handed:
                owner.release()

    def _start(self, ctx: AuthContext, image_id: str, body: dict, request_id: str | None,
               owner: Owner) -> str:
        method, uri = self._parse(body)
        with self.deps.db.session() as s:
            image = self.deps.find(s, ctx, image_id,
                                   "copy_image" if method == "copy-image" else "modify_image")
            if method == "copy-image":
                raise BadRequest("Import method 'copy-image' needs several stores; this "
                                 "cloud has one.")
            if not (image.disk_format and image.container_format):
                raise BadRequest("Properties disk_format and container_format must be set "
                                 "before an import.")
            formats.check_usable(image.disk_format)
            wanted = states.UPLOADING if method == "glance-direct" else states.QUEUED
            if image.status != wanted or (
                    method == "glance-direct" and self.deps.staging.size(image.id) is None):
                raise Conflict(f"Image {image.id} is {image.status}: {method} needs a "
                               f"{'staged' if wanted == states.UPLOADING else 'queued'} "
                               "image.")
            states.transition(s, image.id, wanted, states.IMPORTING)
            task_id = self.tasks.add(s, ctx, "api_image_import", image.id, {
                "image_id": image.id, "import_req": body, "backend": [STORE_ID]},
                request_id)
            _set_progress(image, task=task_id, importing=STORE_ID, failed="")
            job = ImportJob(image.id, method, image.disk_format, task_id, uri=uri,
                            roles=tuple(ctx.roles), auth=ctx, owner=owner)
        self._spawn(job)
        return task_id

    def start_task(self, ctx: AuthContext, image_id: str, task_input: dict,
                   request_id: str | None = None) -> str:
        """``POST /v2/tasks`` of type ``import``: fetch ``task_input["import_from"]`` into the
        (new, queued) image ``image_id`` as a web-download does. A URI the import filter
        refuses fails the task at once (``failure`` with the reason), as Glance's task flow
        does; the image stays ``queued``."""
        return self._owned(image_id, self._start_task, ctx, image_id, task_input, request_id)

    def _start_task(self, ctx: AuthContext, image_id: str, task_input: dict,
                    request_id: str | None, owner: Owner) -> str:
        with self.deps.db.session() as s:
            image = self.deps.find(s, ctx, image_id, "modify_image")
            task_id = self.tasks.add(s, ctx, "import", image.id, task_input, request_id)
        try:
            uri = check_uri(task_input.get("import_from"), self.deps.conf.image)
        except BadRequest as exc:
            self.tasks.fail(task_id, exc.message)
            return task_id
        with self.deps.db.session() as s:
            image = self.deps.find(s, ctx, image_id, "modify_image")
            try:
                states.transition(s, image.id, states.QUEUED, states.IMPORTING)
            except Conflict as exc:
                self.tasks.fail(task_id, exc.message)
                return task_id
            _set_progress(image, task=task_id, importing=STORE_ID, failed="")
            job = ImportJob(image.id, "web-download", image.disk_format or "raw", task_id,
                            uri=uri, auth=ctx, owner=owner)
        self._spawn(job)
        return task_id

    def _alive(self, image_id: str) -> bool:
        """Whether ``image_id`` is still ``importing`` (a deleted image stops its import)."""
        with self.deps.db.session() as s:
            image = s.get(Image, image_id)
            return image is not None and image.status == states.IMPORTING

    def _steps(self, job: ImportJob) -> list[Step]:
        steps: list[Step] = []
        if job.method == "web-download":
            steps.append(WebDownload(self.deps, self._alive))
        if self.deps.conf.image.convert_to == "raw":
            steps.append(Convert(self.deps, self.qemu))
        if job.roles is not None and inject.PLUGIN in inject.enabled_plugins(
                self.deps.conf.image):
            steps.append(inject.InjectMetadata(self.deps))
        return [*steps, StoreData(self.deps), Activate(self.deps)]

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
        with self.deps.db.session() as s:
            try:
                states.transition(s, job.image_id, states.IMPORTING,
                                  states.KILLED if kill else states.QUEUED)
            except Conflict:
                LOG.info("image %s changed during its failed import", job.image_id)
                return
            _set_progress(s.get(Image, job.image_id), task=None, importing="",
                          failed=STORE_ID)

    def wait(self, timeout: float | None = None) -> bool:
        """Join the running imports (tests and shutdown); True when none is left."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)
        with self._lock:
            return not any(t.is_alive() for t in self._threads)
