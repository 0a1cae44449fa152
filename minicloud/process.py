"""The one subprocess runner: argument lists, ``LC_ALL=C``, timeouts, :class:`CommandFailed`.

Tests may record every argv through :data:`recorder`.
"""
from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from minicloud.errors import CommandFailed

#: Called with each argv before it runs (tests append to a list to assert exact commands).
recorder: list[Callable[[list[str]], None]] = []


@dataclass(frozen=True)
class Limits:
    """Resource limits applied with ``prlimit`` to commands that read untrusted input."""

    cpu_seconds: int = 8
    address_space: int = 1 << 30

    def prefix(self) -> list[str]:
        return ["prlimit", f"--cpu={self.cpu_seconds}", f"--as={self.address_space}", "--"]


#: Makes a command die with the thread that started it (``PR_SET_PDEATHSIG``, kept across
#: exec): a long conversion must not outlive an agent killed with ``kill -9``.
DIE_WITH_PARENT = ["setpriv", "--pdeathsig", "KILL", "--"]


def run(argv: Sequence[str], *, timeout: float = 120, limits: Limits | None = None,
        check: bool = True, input: bytes | None = None,
        die_with_parent: bool = False) -> subprocess.CompletedProcess:
    """Run ``argv`` (never through a shell) and return the completed process.

    With ``die_with_parent`` the command is killed when the calling thread's process dies
    (:data:`DIE_WITH_PARENT`). Raises :class:`CommandFailed` on a non-zero exit (when
    ``check``), a timeout, a missing program, or a kill by a resource limit (reported as such).
    """
    argv = [str(a) for a in argv]
    full = (limits.prefix() + argv) if limits else argv
    if die_with_parent:
        full = DIE_WITH_PARENT + full
    for hook in recorder:
        hook(argv)
    env = dict(os.environ, LC_ALL="C", LANG="C")
    try:
        proc = subprocess.run(full, capture_output=True, timeout=timeout, env=env, input=input,
                              check=False)
    except subprocess.TimeoutExpired as exc:
        raise CommandFailed(argv, None, str(exc.stderr or ""),
                            reason=f"timed out after {timeout}s") from None
    except FileNotFoundError:
        raise CommandFailed(argv, None, "", reason="program not found") from None
    if check and proc.returncode != 0:
        stderr = proc.stderr.decode(errors="replace")
        reason = ""
        # prlimit's SIGKILL (address space) or SIGXCPU (CPU time) shows as a signal exit.
        if limits and (proc.returncode < 0 or proc.returncode in (128 + 9, 128 + 24)):
            reason = "killed by a resource limit"
        raise CommandFailed(argv, proc.returncode, stderr, reason=reason)
    return proc


def spawn(argv: Sequence[str], log_path: str, env: dict[str, str] | None = None
          ) -> subprocess.Popen:
    """Start a long-running process in its own session, output appended to ``log_path``."""
    argv = [str(a) for a in argv]
    for hook in recorder:
        hook(argv)
    with open(log_path, "ab") as log:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                env=env or dict(os.environ), start_new_session=True)
