"""`minicloud up/down/status` with real service processes in a temporary state directory."""
from __future__ import annotations

import os
import signal
import time

import pytest
import requests

from minicloud.config import Config
from minicloud.runner import Runner, _alive
from tests.conftest import RunningCloud, start_cloud, write_conf

pytestmark = pytest.mark.real


def _pids(cloud) -> dict[str, int]:
    return {p.stem: int(p.read_text()) for p in (cloud.state_dir / "run").glob("*.pid")}


def _token(cloud) -> requests.Response:
    c = cloud.credentials
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": c["username"], "domain": {"name": "Default"}, "password": c["password"]}}},
        "scope": {"project": {"name": c["project_name"], "domain": {"name": "Default"}}}}}
    return requests.post(c["auth_url"] + "/auth/tokens", json=body, timeout=10)


@pytest.mark.timeout(120)
def test_up_is_idempotent_survives_a_crash_and_down_stops(tmp_path):
    cloud = start_cloud(tmp_path / "state")
    try:
        first = _pids(cloud)
        assert set(first) == {"identity", "image", "compute", "compute-agent", "volume",
                              "volume-agent", "key_manager"}
        out = cloud.minicloud("up", "--no-daemons").stdout.decode()
        assert "clouds.yaml" in out and f":{cloud.ports['image']}" in out
        assert _pids(cloud) == first, "re-running up must not restart running services"
        password = cloud.credentials["password"]
        assert (cloud.state_dir / "clouds.yaml").stat().st_mode & 0o777 == 0o600
        assert _token(cloud).status_code == 201

        os.kill(first["image"], signal.SIGKILL)  # a crash
        time.sleep(0.5)
        status = cloud.minicloud("status", "-f", "value", "-c", "Name", "-c", "State")
        assert "image stopped" in status.stdout.decode()
        cloud.minicloud("up", "--no-daemons")
        assert _pids(cloud)["image"] != first["image"]
        assert _pids(cloud)["identity"] == first["identity"]
        assert cloud.credentials["password"] == password, "the same cloud comes back"
        status = cloud.minicloud("status", "-f", "value", "-c", "Name", "-c", "State")
        assert "identity running" in status.stdout.decode()
        assert "image running" in status.stdout.decode()
    finally:
        cloud.minicloud("down")
    assert not list((cloud.state_dir / "run").glob("*.pid"))
    for pid in first.values():  # gone (or a zombie: nothing reaps orphans in a container)
        assert not _alive(pid)
    status = cloud.minicloud("status", "-f", "value", "-c", "Name", "-c", "State")
    assert "identity stopped" in status.stdout.decode()


@pytest.mark.timeout(60)
def test_port_taken_gives_one_clear_line(tmp_path):
    """The port is held by another process that even answers health checks (another
    cloud's service, say): `up` refuses with one clear line instead of taking it for its
    own service."""
    import http.server
    import threading

    class Healthy(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the handler API
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    impostor = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Healthy)
    thread = threading.Thread(target=impostor.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    busy = impostor.server_address[1]
    state = tmp_path / "state"
    write_conf(state, {"identity": {"port": busy}})
    cloud = RunningCloud(state, {})
    try:
        proc = cloud.minicloud("up", "--no-daemons", check=False)
    finally:
        cloud.minicloud("down", check=False)
        impostor.shutdown()
        impostor.server_close()
    err = proc.stderr.decode()
    assert proc.returncode == 1 and "Traceback" not in err
    assert err == (f"Error: port {busy} for the identity service is in use by another "
                   f"process (another cloud?): stop it, or set [identity] port in "
                   f"{state / 'minicloud.conf'}\n")


@pytest.mark.timeout(120)
def test_up_starts_host_daemons(tmp_path):
    """libvirtd, virtlogd and tgtd are started when missing and reported by status."""
    conf = Config.load(tmp_path, environ={})
    runner = Runner(conf, say=lambda _msg: None)
    runner.paths.ensure()
    runner.ensure_daemons()
    states = {row.name: row.state for row in runner.status() if row.kind == "daemon"}
    assert states == {"virtlogd": "running", "libvirtd": "running", "tgtd": "running"}
