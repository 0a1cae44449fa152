"""A run's report: counts per service, failures and skips grouped by their text, and the
machine-readable summary (``conformance/last-<set>.json``) that lets two runs be diffed.

Counting is per selected test (a class failing in ``setUpClass`` counts each of its
tests), so ``run = passed + failed + skipped + not run`` always holds.
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from conformance.results import FAILED, NOT_RUN, PASSED, SKIPPED, ClassError, Outcome
from conformance.selection import InteropTest


@dataclass
class Report:
    set_name: str
    outcomes: list[Outcome]
    class_errors: list[ClassError] = field(default_factory=list)
    missing: list[InteropTest] = field(default_factory=list)   # not in this Tempest
    leaks: dict[str, list[str]] = field(default_factory=dict)  # kind -> "id name"
    meta: dict[str, object] = field(default_factory=dict)      # date, commit, times ...

    def counts(self) -> dict[str, Counter]:
        """{service: Counter(run, passed, failed, skipped, not run)}, plus "total"."""
        table: dict[str, Counter] = defaultdict(Counter)
        for o in self.outcomes:
            for key in (o.service, "total"):
                table[key]["run"] += 1
                table[key][o.status] += 1
        return dict(table)

    @property
    def clean(self) -> bool:
        """No test failed or went unrun, no class error, nothing leaked."""
        bad = {FAILED, NOT_RUN}
        return not any(o.status in bad for o in self.outcomes) and not self.class_errors \
            and not any(self.leaks.values())

    def regressions(self, expected: list[str]) -> list[str]:
        """The tests of ``expected`` (names) that did not pass in this run."""
        status = {o.test: o.status for o in self.outcomes}
        return [name for name in expected if status.get(name) != PASSED]

    def passed(self) -> list[str]:
        return sorted(o.test for o in self.outcomes if o.status == PASSED)

    def guideline_counts(self) -> Counter:
        """Interop only: one status per guideline test (idempotent id). An id can name
        several Tempest tests (a subclass inherits them): failed if any failed, else not run
        if any was not run, else passed if any passed, else skipped."""
        by_id: dict[str, set[str]] = defaultdict(set)
        for o in self.outcomes:
            by_id[o.idempotent_id or o.test].add(o.status)
        counts = Counter({"ids": len(by_id) + len(self.missing),
                          "not in Tempest": len(self.missing)})
        for statuses in by_id.values():
            counts[next(s for s in (FAILED, NOT_RUN, PASSED, SKIPPED) if s in statuses)] += 1
        return counts

    def as_dict(self) -> dict:
        return {"set": self.set_name, **self.meta,
                "counts": {k: dict(v) for k, v in self.counts().items()},
                **({"guideline_counts": dict(self.guideline_counts())}
                   if self.set_name == "interop" else {}),
                "tests": [o.as_dict() for o in self.outcomes],
                "class_errors": [vars(e) for e in self.class_errors],
                "missing_from_tempest": [vars(t) for t in self.missing],
                "leaks": self.leaks}

    def write_json(self, path: Path) -> None:
        path.write_text(json.dumps(self.as_dict(), indent=1, sort_keys=False) + "\n")


def _grouped(outcomes: Iterable[Outcome]) -> list[tuple[str, list[Outcome]]]:
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups[o.detail].append(o)
    return sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))


def render(report: Report) -> str:
    """The human report, as printed at the end of a run."""
    lines = [f"== Tempest set '{report.set_name}' =="]
    header = f"{'service':10} {'run':>5} {'passed':>7} {'failed':>7} {'skipped':>8} " \
             f"{'not run':>8}"
    lines += [header, "-" * len(header)]
    counts = report.counts()
    for service in sorted(counts, key=lambda s: (s == "total", s)):
        c = counts[service]
        lines.append(f"{service:10} {c['run']:>5} {c[PASSED]:>7} {c[FAILED]:>7} "
                     f"{c[SKIPPED]:>8} {c[NOT_RUN]:>8}")
    if report.set_name == "interop":
        g = report.guideline_counts()
        lines.append(f"\nGuideline 2020.06 (non-network), per test id: {g['ids']} ids, "
                     f"{g[PASSED]} passed, {g[FAILED]} failed, {g[SKIPPED]} skipped, "
                     f"{g[NOT_RUN]} not run, {g['not in Tempest']} not in this Tempest")
    for status, title in ((FAILED, "Failed"), (NOT_RUN, "Not run"), (SKIPPED, "Skipped")):
        chosen = [o for o in report.outcomes if o.status == status]
        if not chosen:
            continue
        lines.append(f"\n{title} ({len(chosen)}), grouped by "
                     f"{'reason' if status == SKIPPED else 'error'}:")
        for detail, group in _grouped(chosen):
            via = " [in setUpClass]" if all(o.via for o in group) else ""
            lines.append(f"  {len(group)} x {detail}{via}")
            if status != SKIPPED:
                lines += [f"      {o.test}" for o in group]
    if report.class_errors:
        lines.append(f"\nClass errors ({len(report.class_errors)}):")
        lines += [f"  {e.event}: {e.detail}" for e in report.class_errors]
    if report.missing:
        lines.append(f"\nInterop tests this Tempest does not have ({len(report.missing)}):")
        lines += [f"  {t.idempotent_id} {t.test}" for t in report.missing]
    leaked = {k: v for k, v in report.leaks.items() if v}
    lines.append("\nLeaks: " + ("none" if not leaked else ""))
    for kind, items in leaked.items():
        lines.append(f"  {kind} ({len(items)}):")
        lines += [f"    {item}" for item in items]
    return "\n".join(lines) + "\n"
