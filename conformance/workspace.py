"""The Tempest processes: a workspace (``tempest init``), the test list, the run, and the
run's results as subunit, read back through :mod:`conformance.subunit_json`.

Tempest lives in its own venv (``make tempest-venv``); nothing here imports it.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPEST_VENV = ROOT / ".venv-tempest"
# Seconds one test may take before Tempest's fixture fails it (a server build under TCG
# with two workers, its volume attach and its delete fit comfortably).
TEST_TIMEOUT = 900


def _stop_group(proc: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM the process group led by ``proc``, SIGKILL it after ``grace`` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


class TempestError(Exception):
    """A Tempest command failed in a way that leaves no results to read."""


class Workspace:
    """A Tempest workspace at ``path`` (its own registry file beside it, so that
    ``~/.tempest/workspace.yaml`` is never touched)."""

    def __init__(self, path: Path, venv: Path = TEMPEST_VENV) -> None:
        self.path, self.venv = path, venv
        self.registry = path.parent / "tempest-workspaces.yaml"

    def _bin(self, name: str) -> str:
        binary = self.venv / "bin" / name
        if not binary.exists():
            raise TempestError(f"{binary} is missing: run `make tempest-venv`")
        return str(binary)

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env.update(OS_TEST_TIMEOUT=str(TEST_TIMEOUT), PYTHONUNBUFFERED="1")
        return env

    def _run(self, argv: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
        proc = subprocess.run(argv, cwd=self.path if self.path.exists() else None,
                              env=self._env(), capture_output=True, timeout=timeout,
                              check=False)
        if proc.returncode != 0:
            raise TempestError(f"{' '.join(argv[:3])} failed (exit {proc.returncode}): "
                               f"{proc.stderr.decode(errors='replace').strip()[-2000:]}")
        return proc

    @property
    def log(self) -> Path:
        """Tempest's own log (every request and response): the first place to look."""
        return self.path / "logs" / "tempest.log"

    def init(self) -> None:
        self._run([self._bin("tempest"), "init", "--workspace-path", str(self.registry),
                   "--name", self.path.parent.name, str(self.path)])

    def list_tests(self) -> list[str]:
        """Every test id Tempest (and any installed plugin) offers, attributes included."""
        out = self._run([self._bin("tempest"), "run", "--list-tests"]).stdout
        return [line.strip() for line in out.decode(errors="replace").splitlines()
                if line.startswith("tempest.")]

    def run(self, tests: list[str], concurrency: int, console_log: Path) -> int:
        """Run exactly ``tests``; Tempest's progress goes to stdout and ``console_log``.
        Returns Tempest's exit code (non-zero as soon as one test failed)."""
        load_list = self.path / "selected-tests.txt"
        load_list.write_text("".join(f"{t}\n" for t in tests))
        argv = [self._bin("tempest"), "run", "--load-list", str(load_list),
                "--concurrency", str(concurrency)]
        # Its own process group: on an interruption, Tempest and its stestr workers are
        # stopped together, whoever got the signal.
        with console_log.open("w") as log, subprocess.Popen(
                argv, cwd=self.path, env=self._env(), stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True, errors="replace",
                start_new_session=True) as proc:
            assert proc.stdout is not None
            try:
                for line in proc.stdout:
                    log.write(line)
                    sys.stdout.write(line)
                    sys.stdout.flush()
                return proc.wait()
            except BaseException:
                _stop_group(proc)
                raise

    def results(self) -> list[dict]:
        """The last run's tests (see :mod:`conformance.subunit_json`)."""
        stream = self._run([self._bin("stestr"), "last", "--subunit"]).stdout
        reader = Path(__file__).with_name("subunit_json.py")
        proc = subprocess.run([self._bin("python"), str(reader)], input=stream,
                              capture_output=True, timeout=300, check=False)
        if proc.returncode != 0:
            raise TempestError(f"reading the subunit stream failed: "
                               f"{proc.stderr.decode(errors='replace')[-2000:]}")
        return json.loads(proc.stdout)
