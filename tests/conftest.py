"""Shared fixtures: a temporary state directory, free ports, and a real running cloud.

Tests never touch a user's cloud: every state directory is a temporary one.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
OSC_BIN = ROOT / ".venv-osc" / "bin" / "openstack"


HOST_MEMORY_MIB = 8192


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_conf(state_dir: Path, options: dict[str, dict[str, object]] | None = None
               ) -> dict[str, int]:
    """Write a minicloud.conf with free ports (compute on the fake driver, volumes on real
    files with the fake iSCSI target, so no tgtd is needed, unless ``options`` say
    otherwise); returns the ports chosen."""
    ports = {"identity": free_port(), "image": free_port(), "compute": free_port(),
             "volume": free_port(), "key_manager": free_port()}
    sections: dict[str, dict[str, object]] = {name: {"port": port}
                                              for name, port in ports.items()}
    sections["compute"]["driver"] = "fake"
    # A fixed host size, whatever the machine: tests that want "no valid host" ask for more
    # RAM than this but less than the project's RAM quota (51200 MiB).
    sections["compute"]["memory_mib"] = HOST_MEMORY_MIB
    sections["volume"]["target_helper"] = "fake"
    for section, values in (options or {}).items():
        sections.setdefault(section, {}).update(values)
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "minicloud.conf").write_text("".join(
        f"[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in values.items()) + "\n"
        for name, values in sections.items()))
    return ports


@dataclass
class RunningCloud:
    state_dir: Path
    ports: dict[str, int]

    def minicloud(self, *args: str, input: bytes | None = None, check: bool = True,
                  env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """Run the minicloud CLI in a subprocess against this cloud."""
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        full_env.update(env or {})
        proc = subprocess.run(
            [sys.executable, "-m", "minicloud.cli.main", "--state-dir", str(self.state_dir),
             *args], input=input, capture_output=True, env=full_env, timeout=300,
            check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"minicloud {' '.join(args)} failed: {proc.stderr.decode()}")
        return proc

    @property
    def credentials(self) -> dict:
        data = yaml.safe_load((self.state_dir / "clouds.yaml").read_text())
        return data["clouds"]["minicloud"]["auth"]

    def os_env(self) -> dict[str, str]:
        """OS_* variables for the admin, as an openrc would set them."""
        c = self.credentials
        return {"OS_AUTH_URL": c["auth_url"], "OS_USERNAME": c["username"],
                "OS_PASSWORD": c["password"], "OS_PROJECT_NAME": c["project_name"],
                "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default"}


def osc_runner(os_env: dict[str, str]):
    """``run(*args, env=None, check=True, stdin=None, as_json=False)``: the unmodified
    ``openstack`` CLI with the cloud's credentials (``os_env``, e.g. ``cloud.os_env()``) and no
    OS_* variable of the caller's; ``env`` adds variables (OS_COMPUTE_API_VERSION...). With
    ``check`` a non-zero exit fails the test; a traceback always does. ``stdin`` (text, or
    bytes such as an image's data) is fed to the CLI, else its stdin is closed. Returns the
    CompletedProcess (stdout and stderr as text), or the parsed ``-f json`` output with
    ``as_json``."""
    if not OSC_BIN.exists():
        pytest.fail(f"{OSC_BIN} is missing: run `make setup`")
    base = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    base.update(os_env)

    def run(*args: str, env: dict[str, str] | None = None, check: bool = True,
            stdin: str | bytes | None = None, as_json: bool = False):
        argv = [str(OSC_BIN), *args, *(("-f", "json") if as_json else ())]
        raw = subprocess.run(argv, capture_output=True, env={**base, **(env or {})},
                             input=stdin.encode() if isinstance(stdin, str) else stdin,
                             stdin=None if stdin is not None else subprocess.DEVNULL,
                             timeout=120, check=False)
        proc = subprocess.CompletedProcess(argv, raw.returncode, raw.stdout.decode(),
                                           raw.stderr.decode())
        if check or as_json:
            assert proc.returncode == 0, f"openstack {' '.join(args)}: {proc.stderr}"
        assert "Traceback" not in proc.stderr, proc.stderr
        return json.loads(proc.stdout) if as_json else proc

    return run


def start_cloud(state_dir: Path, options: dict[str, dict[str, object]] | None = None,
                daemons: bool = False) -> RunningCloud:
    ports = write_conf(state_dir, options)
    cloud = RunningCloud(state_dir, ports)
    cloud.minicloud("up", *([] if daemons else ["--no-daemons"]))
    return cloud


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    """One real cloud (identity + image services under gunicorn) for the whole session."""
    running = start_cloud(tmp_path_factory.mktemp("cloud"))
    try:
        yield running
    finally:
        running.minicloud("down", check=False)
