"""The throw-away cloud Tempest runs against: real guests (libvirt, QEMU under TCG) and real
iSCSI exports (the host's tgtd), on free ports, in a temporary directory.

Layout of the temporary directory ``root`` (mode 0711: libvirt's QEMU user must traverse it
to reach instance disks): ``root/state`` is the cloud's state directory, ``root/tempest``
Tempest's workspace. :meth:`ThrowawayCloud.remove` deletes all of it.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from conformance.webimage import WebImage
from minicloud.client import Client, Credentials

SERVICES = ("identity", "image", "compute", "volume")
# Volume and compute agents must have registered before Tempest asks for guests or volumes.
COMMAND_TIMEOUT = 600


class CloudError(Exception):
    """A step of bringing the cloud up failed; the message says which and why."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class CloudFacts:
    """What tempest.conf needs to know about a running cloud."""

    auth: dict[str, str]            # clouds.yaml's auth block of the admin
    region: str
    image_id: str                   # the lab image ``tiny``
    flavor_id: str                  # ``lab.nano``
    flavor_alt_id: str              # ``lab.micro`` (more RAM: the larger one)
    compute_versions: tuple[str, str]   # (min, max) microversion
    volume_versions: tuple[str, str]
    http_image: str = ""            # the harness's web-download source (conformance.webimage)


class ThrowawayCloud:
    """A cloud in a fresh temporary directory. Nothing here touches another cloud: its own
    state directory, ports and cloud id (libvirt guests are told apart by it)."""

    def __init__(self, parent: Path = Path("/var/tmp")) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="minicloud-tempest-", dir=parent))
        self.root.chmod(0o711)
        self.state = self.root / "state"
        self.state.mkdir(mode=0o711)
        self.tempest_dir = self.root / "tempest"
        self.source: Path | None = None   # where the cloud's code runs from (None: here)
        self._client: Client | None = None
        self.web: WebImage | None = None   # what web-download imports fetch, while up

    def export(self, repo: Path, ref: str) -> str:
        """Run the cloud from a clean export of commit ``ref`` of ``repo`` (``root/source``)
        instead of the working tree, which others may be editing; returns the commit id.

        The cloud's processes start in that directory, and ``python -m`` puts it first on
        their import path, ahead of the editable install of the working tree.
        """
        def git(*args: str, **kw) -> subprocess.CompletedProcess:
            return subprocess.run(["git", "-C", str(repo), *args], capture_output=True,
                                  check=False, timeout=120, **kw)

        rev = git("rev-parse", "--short", f"{ref}^{{commit}}")
        if rev.returncode != 0:
            raise CloudError(f"--ref {ref}: not a commit of {repo}")
        commit = rev.stdout.decode().strip()
        source = self.root / "source"
        source.mkdir()
        archive = git("archive", "--format=tar", commit)
        if archive.returncode != 0:
            raise CloudError(f"git archive {commit} failed: {archive.stderr.decode()[-500:]}")
        subprocess.run(["tar", "-x", "-C", str(source)], input=archive.stdout, check=True,
                       timeout=120)
        self.source = source
        return commit

    # -- lifecycle ------------------------------------------------------------------------
    def write_conf(self) -> None:
        """Free ports; the real drivers (minicloud's defaults), named where it matters."""
        sections: dict[str, dict[str, object]] = {n: {"port": free_port()} for n in SERVICES}
        sections["compute"].update(driver="libvirt", virt_type="qemu")
        sections["volume"].update(driver="file", target_helper="tgtadm")
        # Two image stores, so Tempest's multi-store and copy-image tests run; Tempest's
        # image_caching_enabled: the cache on, and the prefetcher's round short enough for
        # ImageCachingTest to see a queued image cached (it waits build_timeout).
        sections["image"].update(enabled_backends="central:file, edge1:file",
                                 enabled_import_methods="glance-direct,web-download,copy-image",
                                 cache_enabled="true", cache_prefetcher_interval=5)
        if self.web is not None:  # web-download may fetch the harness's image server
            sections["image"]["web_download_allowed_ports"] = f"80,443,{self.web.port}"
        (self.state / "minicloud.conf").write_text("".join(
            f"[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in values.items()) + "\n"
            for name, values in sections.items()))

    def minicloud(self, *args: str, timeout: float = COMMAND_TIMEOUT) -> str:
        """``minicloud --state-dir STATE ARGS``; its stdout. Raises CloudError on failure."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        argv = [sys.executable, "-m", "minicloud.cli.main", "--state-dir", str(self.state),
                *args]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, env=env,
                                  cwd=self.source, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise CloudError(f"minicloud {' '.join(args)}: no answer in {timeout:.0f}s") \
                from None
        if proc.returncode != 0:
            raise CloudError(f"minicloud {' '.join(args)} failed (exit {proc.returncode}): "
                             f"{proc.stderr.strip()[-2000:]}")
        return proc.stdout

    def up(self) -> None:
        self.web = WebImage(self.root / "web")
        self.write_conf()
        self.minicloud("up")
        self.minicloud("lab", "images")

    def down(self) -> list[str]:
        """Stop the services and agents; what went wrong, as lines (teardown goes on).

        ``minicloud down`` first; then any process still running for this state directory
        (``down`` failed, or the checkout changed under it) is stopped by its environment,
        so that removing the directory never orphans a service.
        """
        problems = []
        if self.web is not None:
            self.web.stop()
            self.web = None
        try:
            self.minicloud("down", timeout=120)
        except CloudError as exc:
            problems.append(str(exc))
        stopped = self._stop_processes()
        if stopped:
            problems.append(f"stopped {len(stopped)} process(es) `down` left running: "
                            f"{' '.join(map(str, stopped))}")
        return problems

    def _processes(self) -> list[int]:
        """Pids of the processes started for this state directory (services, workers,
        agents: `minicloud up` hands them MINICLOUD_STATE_DIR)."""
        marker = f"MINICLOUD_STATE_DIR={self.state}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue  # gone, or not ours to read
        return found

    def _stop_processes(self, grace: float = 15) -> list[int]:
        pids = self._processes()
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in self._processes():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + grace
            while self._processes() and time.monotonic() < deadline:
                time.sleep(0.2)
        return pids

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    # -- what the cloud is ------------------------------------------------------------------
    def admin_auth(self) -> tuple[dict[str, str], str]:
        """The admin's clouds.yaml auth block and region."""
        cloud = yaml.safe_load((self.state / "clouds.yaml").read_text())["clouds"]["minicloud"]
        return dict(cloud["auth"]), cloud.get("region_name") or "RegionOne"

    def cloud_id(self) -> str:
        return (self.state / "cloud-id").read_text().strip()

    def client(self) -> Client:
        """An admin client (one token, renewed by :meth:`Client.authenticate` if needed)."""
        if self._client is None:
            auth, region = self.admin_auth()
            self._client = Client(Credentials(
                auth["auth_url"], auth["username"], auth["password"], auth["project_name"],
                auth.get("user_domain_name", "Default"),
                auth.get("project_domain_name", "Default"), region))
        return self._client

    def facts(self) -> CloudFacts:
        auth, region = self.admin_auth()
        client = self.client()
        images = client.request("image", "GET", "/v2/images?name=tiny").json()["images"]
        active = [i for i in images if i.get("status") == "active"]
        if not active:
            raise CloudError("the lab image 'tiny' is not active after `minicloud lab images`")
        flavors = {f["name"]: f["id"] for f in
                   client.request("compute", "GET", "/flavors").json()["flavors"]}
        missing = {"lab.nano", "lab.micro"} - set(flavors)
        if missing:
            raise CloudError(f"flavors missing from the cloud: {', '.join(sorted(missing))}")
        return CloudFacts(auth=auth, region=region, image_id=active[0]["id"],
                          flavor_id=flavors["lab.nano"], flavor_alt_id=flavors["lab.micro"],
                          compute_versions=self._versions("compute", "v2.1"),
                          volume_versions=self._versions("volumev3", "v3.0"),
                          http_image=self.web.url if self.web else "")

    def _versions(self, service_type: str, version_id: str) -> tuple[str, str]:
        """(min_version, version) of ``version_id`` in the service's root version document."""
        parts = urlsplit(self.client().endpoint(service_type))
        root = f"{parts.scheme}://{parts.netloc}/"
        resp = self.client().session.get(root, timeout=30)
        if resp.status_code not in (200, 300):
            raise CloudError(f"GET {root} ({service_type} versions): HTTP {resp.status_code}")
        for entry in resp.json().get("versions", []):
            if entry.get("id") == version_id and entry.get("version"):
                return entry["min_version"], entry["version"]
        raise CloudError(f"GET {root}: no {version_id} entry with microversions")
