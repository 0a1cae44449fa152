"""The service runner behind ``minicloud up``, ``down`` and ``status``.

``up`` migrates the catalog, bootstraps the admin credentials, starts the host daemons the
cloud needs when they are not running, then starts each API service as its own process and
waits for its health check. Every step is idempotent, so ``up`` on a running cloud changes
nothing and ``up`` after a crash or reboot brings the same cloud back.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

from minicloud import process, services
from minicloud.config import Config
from minicloud.db import Database
from minicloud.errors import MinicloudError
from minicloud.identity.catalog import register_cloud
from minicloud.identity.service import IdentityService
from minicloud.paths import StatePaths

CLOUD_NAME = "minicloud"


@dataclass(frozen=True)
class Daemon:
    name: str
    argv: tuple[str, ...]
    package: str


# Order matters: libvirtd logs through virtlogd.
DAEMONS = (
    Daemon("virtlogd", ("virtlogd", "-d"), "libvirt-daemon-system"),
    Daemon("libvirtd", ("libvirtd", "-d"), "libvirt-daemon-system"),
    Daemon("tgtd", ("tgtd",), "tgt"),
)


@dataclass
class Row:
    name: str
    kind: str
    state: str
    pid: int | None
    detail: str


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A killed process nobody reaped (no init reaping here) is a zombie, not alive.
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _read_pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def _daemon_pid(name: str) -> int | None:
    """The pid of a live ``name`` process (a killed one nobody reaped does not count)."""
    proc = process.run(["pgrep", "-x", name], check=False, timeout=10)
    pids = [int(p) for p in proc.stdout.decode().split() if p.isdigit()]
    return next((pid for pid in sorted(pids) if _alive(pid)), None)


def _port_taken(host: str, port: int) -> bool:
    """Whether another process listens on ``host:port`` (so a new service cannot)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def _healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthcheck", timeout=2).status_code == 200
    except requests.RequestException:
        return False


class Runner:
    def __init__(self, conf: Config, say: Callable[[str], None] = print) -> None:
        self.conf, self.say = conf, say
        self.paths = StatePaths(conf.state_dir)

    # -- credentials -----------------------------------------------------------------------
    def admin_password(self) -> str | None:
        try:
            data = yaml.safe_load(self.paths.clouds_yaml.read_text())
            return data["clouds"][CLOUD_NAME]["auth"]["password"]
        except (OSError, KeyError, TypeError, yaml.YAMLError):
            return None

    def bootstrap(self, db: Database) -> None:
        """Identity (admin, service user), this cloud's id, the default flavors and the
        metadata definitions catalog (each loaded once: operator changes are kept)."""
        from compute import flavors
        from compute.service import ComputeService
        from images import metadef_catalog

        password = self.admin_password() or secrets.token_urlsafe(18)
        ident = self.conf.identity
        IdentityService(db).bootstrap(ident.admin_user, ident.admin_project, password)
        register_cloud(db, self.conf)  # the catalog: region, services, endpoints
        if self.admin_password() is None:
            self._write_credentials(password)
        self.paths.cloud_id()
        ComputeService(db, image_client=None).sync_flavors(flavors.load())
        metadef_catalog.load(db, IdentityService(db).get_project(ident.admin_project).id)

    def _write_credentials(self, password: str) -> None:
        ident = self.conf.identity
        auth_url = services.by_name("identity").endpoint(self.conf)
        cloud = {"auth": {"auth_url": auth_url, "username": ident.admin_user,
                          "password": password, "project_name": ident.admin_project,
                          "user_domain_name": "Default", "project_domain_name": "Default"},
                 "region_name": self.conf.DEFAULT.region, "identity_api_version": 3}
        self._write_secret(self.paths.clouds_yaml,
                           yaml.safe_dump({"clouds": {CLOUD_NAME: cloud}}, sort_keys=False))
        self._write_secret(self.paths.openrc, "".join(
            f"export {k}={v}\n" for k, v in (
                ("OS_AUTH_URL", auth_url), ("OS_USERNAME", ident.admin_user),
                ("OS_PASSWORD", password), ("OS_PROJECT_NAME", ident.admin_project),
                ("OS_USER_DOMAIN_NAME", "Default"), ("OS_PROJECT_DOMAIN_NAME", "Default"),
                ("OS_REGION_NAME", self.conf.DEFAULT.region),
                ("OS_IDENTITY_API_VERSION", "3"))))

    @staticmethod
    def _write_secret(path: Path, text: str) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)  # a leftover would keep its own (wider) mode
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        tmp.replace(path)

    # -- daemons -----------------------------------------------------------------------------
    def _daemon_argv(self, daemon: Daemon) -> tuple[str, ...]:
        if daemon.name != "tgtd":
            return daemon.argv
        # Listen on the portal compute is told about, not on every address of the host.
        from volumes.targets import portal_text

        volume = self.conf.volume
        return (*daemon.argv, "--iscsi",
                f"portal={portal_text(volume.iscsi_ip_address, volume.iscsi_port)}")

    def ensure_daemons(self) -> None:
        for daemon in DAEMONS:
            if _daemon_pid(daemon.name):
                continue
            if shutil.which(daemon.argv[0]) is None:
                self.say(f"warning: {daemon.name} is not installed (Debian package "
                         f"{daemon.package}); compute and volumes need it")
                continue
            process.spawn(self._daemon_argv(daemon), str(self.paths.log(daemon.name)))
            for _ in range(50):
                if _daemon_pid(daemon.name):
                    break
                time.sleep(0.1)
            self.say(f"started {daemon.name}")
        self._bind_portal()

    def _bind_portal(self) -> None:
        """A tgtd started by someone else may listen on every address: move it to ours
        (host-wide; see docs/volumes.md, "Security of the exports")."""
        if self.conf.volume.target_helper != "tgtadm" or not _daemon_pid("tgtd"):
            return
        from volumes.targets import TgtTarget

        volume = self.conf.volume
        try:
            TgtTarget(portal_ip=volume.iscsi_ip_address,
                      portal_port=volume.iscsi_port).ensure_portal()
        except MinicloudError as exc:
            self.say(f"warning: {exc.message}")

    # -- services ----------------------------------------------------------------------------
    def up(self, manage_daemons: bool = True) -> None:
        # Also tightens what an older version left readable (docs/architecture.md).
        self.paths.secure(instances=self.conf.path(self.conf.compute.instances_path),
                          volumes=self.conf.path(self.conf.volume.volumes_path))
        db = Database(self.conf.database_url, self.conf.database.busy_timeout)
        try:
            db.upgrade()
            self.bootstrap(db)
        finally:
            db.dispose()
        if manage_daemons:
            self.ensure_daemons()
        for svc in services.SERVICES:
            self._start(svc)
        for agent in services.AGENTS:
            self._start_agent(agent)
        for svc in services.SERVICES:
            self.say(f"{svc.name:9} {svc.endpoint(self.conf)}")
        self.say(f"credentials: {self.paths.clouds_yaml} (cloud '{CLOUD_NAME}') and "
                 f"{self.paths.openrc}")

    def _start(self, svc: services.ServiceDef) -> None:
        url = svc.base_url(self.conf)
        pidfile = self.paths.pidfile(svc.name)
        if _read_pid(pidfile) and _healthy(url):
            return
        self._stop_pid(svc.name, pidfile)
        port = svc.port(self.conf)
        if _port_taken(self.conf.DEFAULT.bind_host, port):
            # Another process (often another cloud's service) would answer our health
            # checks and our clients: refuse rather than report it as ours.
            raise MinicloudError(
                f"port {port} for the {svc.name} service is in use by another process "
                f"(another cloud?): stop it, or set [{svc.name}] port in "
                f"{self.conf.state_dir / 'minicloud.conf'}")
        env = dict(os.environ, MINICLOUD_STATE_DIR=str(self.conf.state_dir))
        child = process.spawn([sys.executable, "-m", "minicloud.serve", svc.name],
                              str(self.paths.log(svc.name)), env)
        deadline = time.monotonic() + self.conf.DEFAULT.start_timeout
        while time.monotonic() < deadline:
            if child.poll() is not None:
                raise MinicloudError(
                    f"the {svc.name} service exited at start (code {child.returncode}): "
                    f"{self._last_error(svc.name)}")
            if _healthy(url) and _read_pid(pidfile) == child.pid:
                return
            time.sleep(0.1)
        raise MinicloudError(f"the {svc.name} service did not answer on {url} within "
                             f"{self.conf.DEFAULT.start_timeout:.0f}s; see "
                             f"{self.paths.log(svc.name)}")

    def _start_agent(self, agent: services.AgentDef) -> None:
        pidfile = self.paths.pidfile(agent.name)
        if _read_pid(pidfile):
            return
        env = dict(os.environ, MINICLOUD_STATE_DIR=str(self.conf.state_dir))
        child = process.spawn([sys.executable, "-m", agent.module],
                              str(self.paths.log(agent.name)), env)
        deadline = time.monotonic() + self.conf.DEFAULT.start_timeout
        while _read_pid(pidfile) != child.pid:
            if child.poll() is not None or time.monotonic() > deadline:
                raise MinicloudError(f"the {agent.name} did not start: "
                                     f"{self._last_error(agent.name)}")
            time.sleep(0.1)

    def _last_error(self, name: str) -> str:
        try:
            lines = self.paths.log(name).read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        errors = [line for line in lines if "Error" in line or "error" in line]
        return (errors or lines or ["no log"])[-1][-300:]

    def _stop_pid(self, name: str, pidfile: Path, timeout: float = 15) -> bool:
        pid = _read_pid(pidfile)
        if pid is None:
            pidfile.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        pidfile.unlink(missing_ok=True)
        return True

    def down(self) -> None:
        """Stop the API services. Host daemons stay: other clouds on this host may use them."""
        names = [a.name for a in services.AGENTS] + [s.name for s in services.SERVICES][::-1]
        for name in names:
            if self._stop_pid(name, self.paths.pidfile(name)):
                self.say(f"stopped {name}")

    def status(self) -> list[Row]:
        rows = []
        for svc in services.SERVICES:
            pid = _read_pid(self.paths.pidfile(svc.name))
            url = svc.endpoint(self.conf)
            state = "stopped" if pid is None else (
                "running" if _healthy(svc.base_url(self.conf)) else "unhealthy")
            rows.append(Row(svc.name, "service", state, pid, url))
        for agent in services.AGENTS:
            pid = _read_pid(self.paths.pidfile(agent.name))
            rows.append(Row(agent.name, "agent", "stopped" if pid is None else "running", pid,
                            "catalog work queue"))
        for daemon in DAEMONS:
            pid = _daemon_pid(daemon.name)
            installed = shutil.which(daemon.argv[0]) is not None
            state = "running" if pid else ("stopped" if installed else "not installed")
            rows.append(Row(daemon.name, "daemon", state, pid, "host-wide"))
        return rows
