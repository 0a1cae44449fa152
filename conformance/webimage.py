"""The web server Tempest's web-download tests fetch from (``[image] http_image`` and
``http_qcow2_image``): the machine has no internet, and Tempest's defaults point at
download.cirros-cloud.net. The harness serves one small qcow2 disk (made by qemu-img) on
127.0.0.1 from a thread of its own process, for as long as the cloud is up.

The cloud's image API must be allowed to fetch it: its port joins the web-download filter's
allowed ports (``[image] web_download_allowed_ports``) in the throw-away cloud's
configuration, and loopback is not among its disallowed hosts there. A production cloud
keeps loopback and other ports out (docs/images.md, "Import filtering").
"""
from __future__ import annotations

import functools
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FILE = "cirros-like.qcow2"


class _QuietHandler(SimpleHTTPRequestHandler):
    """Files of one directory; no request lines on the harness's output."""

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base's name)
        pass


class WebImage:
    """A qcow2 disk under ``directory`` served at :attr:`url` until :meth:`stop`."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(mode=0o700, exist_ok=True)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(directory / FILE),
                        "1M"], check=True, capture_output=True, timeout=60)
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/{FILE}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="web-image", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
