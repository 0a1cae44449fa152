"""Which Tempest tests a set runs.

A set is chosen from the tests Tempest lists (``tempest run --list-tests``), never from a
regex handed to Tempest, so the harness knows every selected test by name before the run
(tests whose class fails in ``setUpClass`` report nothing of their own).

Sets: ``identity``, ``image``, ``compute``, ``volume`` (``tempest.api.<service>``), ``all``
(the four), and ``interop``: the tests of the interop guideline "OpenStack Powered Compute
2020.06" that need no networking service (``interop-2020.06.tsv``), chosen by idempotent id,
which survives the renames between Tempest releases.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

SERVICES = ("identity", "image", "compute", "volume")
SETS = ("interop", *SERVICES, "all")
INTEROP_FILE = Path(__file__).with_name("interop-2020.06.tsv")
_ID_ATTR = re.compile(r"\bid-([0-9a-f-]{36})\b")


@dataclass(frozen=True)
class InteropTest:
    project: str
    test: str          # the test's name in the guideline (it may have moved since)
    idempotent_id: str
    flagged: bool      # the guideline itself excuses it


@dataclass(frozen=True)
class Selection:
    tests: list[str]               # full test ids as Tempest lists them ("name[attrs]")
    missing: list[InteropTest]     # interop tests this Tempest does not have


def base_name(test_id: str) -> str:
    """``tempest.api.x.Class.test_y[id-...,smoke]`` -> ``tempest.api.x.Class.test_y``."""
    return test_id.split("[", 1)[0]


def idempotent_id(test_id: str) -> str | None:
    found = _ID_ATTR.search(test_id.partition("[")[2])
    return found.group(1) if found else None


def service_of(test_id: str) -> str:
    """``identity``/``image``/``compute``/``volume`` from ``tempest.api.<service>``; else
    the third dotted part (``other`` when there is none)."""
    parts = base_name(test_id).split(".")
    return parts[2] if len(parts) > 3 and parts[:2] == ["tempest", "api"] else "other"


def load_interop(path: Path = INTEROP_FILE) -> list[InteropTest]:
    with path.open(newline="") as fh:
        return [InteropTest(row["project"], row["test"], row["idempotent_id"],
                            row.get("flagged") == "True")
                for row in csv.DictReader(fh, delimiter="\t")]


def select(listed: list[str], set_name: str, regex: str | None = None,
           interop_file: Path = INTEROP_FILE) -> Selection:
    """The listed tests in ``set_name``, further narrowed to those matching ``regex``
    (``re.search`` on the full id) when one is given."""
    if set_name not in SETS:
        raise ValueError(f"unknown set {set_name!r}: one of {', '.join(SETS)}")
    missing: list[InteropTest] = []
    if set_name == "interop":
        wanted = {t.idempotent_id: t for t in load_interop(interop_file)}
        tests = [t for t in listed if idempotent_id(t) in wanted]
        found = {idempotent_id(t) for t in tests}
        missing = [t for i, t in wanted.items() if i not in found]
    else:
        services = SERVICES if set_name == "all" else (set_name,)
        prefixes = tuple(f"tempest.api.{s}." for s in services)
        tests = [t for t in listed if t.startswith(prefixes)]
    if regex:
        pattern = re.compile(regex)
        tests = [t for t in tests if pattern.search(t)]
    return Selection(sorted(tests), missing)
