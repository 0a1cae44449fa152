"""The web-download import step: fetch an http(s) URI into the staging area.

Contract:

* the URI and every redirect it follows (at most :data:`MAX_REDIRECTS`) pass the import
  filter (``images.uri_filter.check_uri``);
* the body is read with ``requests`` streamed, each socket read waiting at most
  ``[image] web_download_timeout`` seconds, and the whole download - connecting, redirects,
  headers and every byte - must end within ``[image] web_download_deadline`` seconds: a
  server that trickles its headers or data is cut off at the deadline and the import fails.
  Between reads the deadline is checked; a read still blocked at the deadline is ended by a
  watchdog that shuts down the download's sockets (:class:`_Watchdog`);
* the import stops as soon as its image is no longer ``importing`` (deleted, say): the image
  is checked about once a second while bytes arrive;
* ``max_image_size`` caps the announced and the received size;
* whatever it staged is removed by ``undo``.
"""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urljoin

import requests
import urllib3.connection
import urllib3.connectionpool
from requests.adapters import HTTPAdapter

from images.intake import Intake
from images.uri_filter import check_uri
from minicloud.errors import BadRequest, MinicloudError, RequestTooLarge

#: Redirects a web-download follows (each one filtered like the URI itself).
MAX_REDIRECTS = 5
#: Seconds between two checks that the image is still being imported.
ALIVE_INTERVAL = 1.0


class ImportFailed(MinicloudError):
    """An import step failed (reported through ``os_glance_failed_import``)."""

    status, kind, title = 400, "badRequest", "Import Failed"


class ImportStopped(ImportFailed):
    """The image left ``importing`` (it was deleted) while its data was fetched."""


class Deadline:
    """The overall time limit of one download, and the periodic "still wanted?" check."""

    def __init__(self, seconds: float, alive: Callable[[], bool],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self.alive, self.clock = seconds, alive, clock
        self.end = clock() + seconds
        self._checked = clock()

    def check(self, uri: str) -> None:
        now = self.clock()
        if now > self.end:
            raise ImportFailed(f"Downloading {uri} failed: it did not finish within the "
                               f"{self.seconds:g} s deadline (web_download_deadline).")
        if now - self._checked >= ALIVE_INTERVAL:
            self._checked = now
            if not self.alive():
                raise ImportStopped("The image is no longer being imported (deleted?); "
                                    "the download was stopped.")


_OPENED = threading.local()   # .sockets: the current thread's download sockets, or unset


def _track(sock: socket.socket) -> socket.socket:
    sockets = getattr(_OPENED, "sockets", None)
    if sockets is not None:
        sockets.append(sock)
    return sock


class _HTTPConnection(urllib3.connection.HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _track(super()._new_conn())


class _HTTPSConnection(urllib3.connection.HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _track(super()._new_conn())


class _HTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _TrackingAdapter(HTTPAdapter):
    """requests' adapter whose connections register their sockets (for the watchdog)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


class _Watchdog:
    """Shuts down the sockets the current thread opens once ``seconds`` have passed, so a
    read blocked on a server that sends a byte now and then (headers included) ends."""

    def __init__(self, seconds: float) -> None:
        self.sockets: list[socket.socket] = []
        self.timer = threading.Timer(max(seconds, 0.0), self._fire)
        self.timer.daemon = True

    def _fire(self) -> None:
        for sock in list(self.sockets):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed

    def __enter__(self) -> _Watchdog:
        _OPENED.sockets = self.sockets
        self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timer.cancel()
        _OPENED.sockets = None


class WebDownload:
    """The import step (``images.imports.Step``) for ``web-download``.

    ``deps``: the image service's dependencies; ``alive(image_id)``: whether the image is
    still ``importing``.
    """

    name = "web-download"

    def __init__(self, deps: Any, alive: Callable[[str], bool]) -> None:
        self.deps, self.alive = deps, alive

    def _chunks(self, resp: requests.Response, uri: str, deadline: Deadline
                ) -> Iterator[bytes]:
        # read1 returns what one socket read brought (never waits for a whole chunk), so
        # the deadline is checked between reads even when the server sends a byte at a time.
        raw, size = resp.raw, self.deps.conf.image.chunk_size
        try:
            while True:
                deadline.check(uri)
                chunk = raw.read1(size, decode_content=True)
                if not chunk:
                    # an end the watchdog caused (shut down mid-body) is no end of the data
                    deadline.check(uri)
                    return
                yield chunk
        except MinicloudError:
            raise
        except Exception as exc:  # noqa: BLE001 - OSError, urllib3's ProtocolError ...
            deadline.check(uri)   # the watchdog ended the read: say so
            raise ImportFailed(f"Downloading {uri} failed: {exc}") from None

    def _get(self, http: requests.Session, uri: str, deadline: Deadline
             ) -> requests.Response:
        """GET ``uri``, following redirects only to URLs the import filter allows."""
        image_conf = self.deps.conf.image
        for _ in range(MAX_REDIRECTS + 1):
            deadline.check(uri)
            resp = http.get(uri, stream=True, timeout=image_conf.web_download_timeout,
                            headers={"Accept-Encoding": "identity"}, allow_redirects=False)
            if not resp.is_redirect:
                return resp
            resp.close()
            target = urljoin(uri, resp.headers["Location"])
            try:
                uri = check_uri(target, image_conf)
            except BadRequest as exc:
                raise ImportFailed(f"Redirected to a refused URL: {exc.message}") from None
        raise ImportFailed(f"Downloading {uri} failed: more than {MAX_REDIRECTS} "
                           "redirects.")

    def run(self, job: Any) -> None:
        image_conf = self.deps.conf.image
        uri = job.uri or ""
        deadline = Deadline(image_conf.web_download_deadline,
                            lambda: self.alive(job.image_id))
        intake = Intake(image_conf.max_image_size, hashes=False)
        http = requests.Session()
        adapter = _TrackingAdapter(max_retries=0)
        http.mount("http://", adapter)
        http.mount("https://", adapter)
        try:
            with http, _Watchdog(image_conf.web_download_deadline), \
                    self._get(http, uri, deadline) as resp:
                if resp.status_code >= 400:
                    raise ImportFailed(f"Downloading {uri} failed: HTTP {resp.status_code}.")
                length = resp.headers.get("Content-Length", "")
                if length.isdigit() and int(length) > image_conf.max_image_size:
                    raise RequestTooLarge(f"{uri} is larger than the maximum image size of "
                                          f"{image_conf.max_image_size} bytes.")
                self.deps.staging.add(job.image_id,
                                      intake.wrap(self._chunks(resp, uri, deadline)))
        except requests.RequestException as exc:
            if time.monotonic() > deadline.end:
                raise ImportFailed(f"Downloading {uri} failed: it did not finish within the "
                                   f"{deadline.seconds:g} s deadline (web_download_deadline)."
                                   ) from None
            raise ImportFailed(f"Downloading {uri} failed: {exc}") from None

    def undo(self, job: Any) -> None:
        self.deps.staging.delete(job.image_id)
