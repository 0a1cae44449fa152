"""What the benchmarks share: a throw-away cloud on free ports, its API client, timing.

Run the benchmarks as scripts (``.venv/bin/python benchmarks/NAME.py``): this module sits next
to them and is imported as ``benchcloud``. Set ``MINICLOUD_KEEP_BENCH_STATE=1`` to keep the
cloud's state directory (its logs) after a run.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from minicloud.client import Client, Credentials

NOVA = {"OpenStack-API-Version": "compute 2.96", "X-OpenStack-Nova-API-Version": "2.96"}
CINDER = {"OpenStack-API-Version": "volume 3.70"}
SERVICES = ("identity", "image", "compute", "volume")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def minicloud(state: Path, *args: str) -> str:
    """Run ``minicloud --state-dir STATE ARGS``; its stdout (fails loudly)."""
    return subprocess.run([sys.executable, "-m", "minicloud.cli.main", "--state-dir",
                           str(state), *args], check=True, capture_output=True,
                          text=True).stdout


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def wait(fetch: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 300,
         interval: float = 0.05) -> Any:
    """Call ``fetch`` until ``done`` holds for its value; return that value."""
    deadline = time.monotonic() + timeout
    while not done(value := fetch()):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out: {value}")
        time.sleep(interval)
    return value


@dataclass
class BenchCloud:
    root: Path    # a scratch directory for the benchmark's own files
    state: Path   # the cloud's state directory
    client: Client

    def compute(self, method: str, path: str, **kw):
        return self.client.request("compute", method, path, headers=NOVA, **kw)

    def volume(self, method: str, path: str, **kw):
        return self.client.request("volumev3", method, path, headers=CINDER, **kw)

    def image_id(self, name: str) -> str:
        return minicloud(self.state, "image", "show", name, "-f", "value", "-c", "id").strip()


@contextlib.contextmanager
def throwaway_cloud(options: dict[str, dict[str, object]] | None = None,
                    lab_images: bool = True, daemons: bool = True) -> Iterator[BenchCloud]:
    """A fresh cloud under ``/var/tmp`` (free ports, ``options`` merged into its
    ``minicloud.conf``), up with the host daemons (libvirtd, tgtd: unless ``daemons`` is
    false) and the lab images (unless ``lab_images`` is false); it is brought down and
    removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="minicloud-bench-", dir="/var/tmp"))
    root.chmod(0o711)  # libvirt's QEMU user reaches instance disks through it
    state = root / "state"
    state.mkdir()
    sections: dict[str, dict[str, object]] = {name: {"port": free_port()} for name in SERVICES}
    for section, values in (options or {}).items():
        sections.setdefault(section, {}).update(values)
    (state / "minicloud.conf").write_text("".join(
        f"[{section}]\n" + "".join(f"{key} = {value}\n" for key, value in values.items())
        for section, values in sections.items()))
    try:
        minicloud(state, "up", *([] if daemons else ["--no-daemons"]))
        if lab_images:
            minicloud(state, "lab", "images")
        auth = yaml.safe_load((state / "clouds.yaml").read_text())["clouds"]["minicloud"]["auth"]
        yield BenchCloud(root, state, Client(Credentials(
            auth["auth_url"], auth["username"], auth["password"], auth["project_name"])))
    finally:
        subprocess.run([sys.executable, "-m", "minicloud.cli.main", "--state-dir", str(state),
                        "down"], check=False, capture_output=True)
        if not os.environ.get("MINICLOUD_KEEP_BENCH_STATE"):
            shutil.rmtree(root, ignore_errors=True)
