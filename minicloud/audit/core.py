"""The audit's one interface: a check has a name and returns findings; orphans carry a fix.

Order matters for safety: every check lists the host *first*, then reads the catalog. An
item created between the two reads is then simply not seen (never reported as an orphan, so
``--fix`` never removes something just being made); one deleted between them is reported as
an orphan whose removal the delete is doing anyway (every fix tolerates "already gone").
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from minicloud.errors import MinicloudError

LOG = logging.getLogger(__name__)

ORPHAN, MISSING, STALE, UNCHECKED = "orphan", "missing", "stale", "unchecked"
COLUMNS = ("Check", "Kind", "Item", "Detail")


@dataclass(frozen=True)
class Finding:
    """One difference. ``fix`` (orphans only) removes the orphan and tolerates it being gone."""

    check: str
    kind: str
    item: str
    detail: str = ""
    fix: Callable[[], None] | None = field(default=None, compare=False, repr=False)

    def row(self) -> dict[str, str]:
        return {"Check": self.check, "Kind": self.kind, "Item": self.item,
                "Detail": self.detail}


class Check(Protocol):
    """A small comparison of the catalog with one kind of host state."""

    name: str

    def findings(self) -> list[Finding]: ...


def run(checks: Iterable[Check]) -> list[Finding]:
    """Every check's findings; a check that cannot look (libvirt or tgtd down, a directory
    unreadable) gives one ``unchecked`` finding instead: never a silent "clean"."""
    found: list[Finding] = []
    for check in checks:
        try:
            found += check.findings()
        except (MinicloudError, OSError) as exc:
            message = getattr(exc, "message", None) or str(exc)
            found.append(Finding(check.name, UNCHECKED, "-", f"cannot check: {message}"))
    return found


def fix(findings: Sequence[Finding]) -> tuple[list[Finding], list[tuple[Finding, str]]]:
    """Apply the fix of every orphan (nothing else is ever touched): (removed, failures)."""
    removed, failed = [], []
    for finding in findings:
        if finding.kind != ORPHAN or finding.fix is None:
            continue
        try:
            finding.fix()
        except (MinicloudError, OSError) as exc:
            failed.append((finding, getattr(exc, "message", None) or str(exc)))
        else:
            removed.append(finding)
    return removed, failed


def older_than(path: Path, seconds: float) -> bool:
    """Whether ``path`` was last modified more than ``seconds`` ago (False once gone): a
    partial file younger than that may be a write still in progress."""
    try:
        return time.time() - path.stat().st_mtime > seconds
    except FileNotFoundError:
        return False
