"""The steps of ``make tempest`` (``conformance/run.py`` is the entry point; see there)."""
from __future__ import annotations

import argparse
import datetime
import shutil
import signal
import subprocess
import time
from pathlib import Path

from conformance import features, leaks, report, results, selection, sweep, tempestconf
from conformance.cloud import CloudError, ThrowawayCloud
from conformance.workspace import TempestError, Workspace

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


class Progress:
    """Timestamped progress lines, and how long each phase took."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.phases: dict[str, float] = {}

    def say(self, message: str) -> None:
        elapsed = int(time.monotonic() - self.start)
        print(f"[{elapsed // 60:02d}:{elapsed % 60:02d}] {message}", flush=True)

    def timed(self, phase: str, fn):
        begin = time.monotonic()
        try:
            return fn()
        finally:
            self.phases[phase] = round(time.monotonic() - begin, 1)


def _commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=False).stdout.strip()

    sha = git("rev-parse", "--short", "HEAD") or "unknown"
    return sha + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="conformance/run.py",
        description="Run Tempest against a throw-away minicloud and report (docs/conformance.md).")
    parser.add_argument("--set", dest="set_name", choices=selection.SETS, default="interop")
    parser.add_argument("--regex", help="run only the set's tests matching this (re.search)")
    parser.add_argument("--concurrency", type=int, default=2, help="Tempest workers")
    parser.add_argument("--ref", help="run the cloud from a clean export of this commit "
                        "(e.g. HEAD) instead of the working tree")
    parser.add_argument("--keep", action="store_true",
                        help="leave the cloud running and its directory in place (debugging)")
    parser.add_argument("--expect", type=Path,
                        help="a file of test names that must pass (one per line, # comments): "
                        "the exit status then says only whether they all did and nothing "
                        "leaked (a ratchet for CI while other tests still fail)")
    parser.add_argument("--record", type=Path,
                        help="write the names of the tests that passed to this file")
    parser.add_argument("--print-features", action="store_true",
                        help="print the feature table as Markdown and exit")
    return parser.parse_args(argv)


def conformance_run(args: argparse.Namespace, cloud: ThrowawayCloud, progress: Progress) -> int:
    say = progress.say
    commit = _commit()
    if args.ref:
        commit = cloud.export(ROOT, args.ref)
        say(f"cloud: code from a clean export of {args.ref} ({commit}) in {cloud.source}")
    say(f"cloud: bringing up a throw-away cloud in {cloud.root} (libvirt/QEMU, tgtd)")
    progress.timed("cloud up", cloud.up)
    facts = cloud.facts()
    say(f"cloud: up; compute {'-'.join(facts.compute_versions)}, "
        f"volume {'-'.join(facts.volume_versions)}, image tiny {facts.image_id}")
    workspace = Workspace(cloud.tempest_dir)
    workspace.init()
    conf_path = tempestconf.write(facts, workspace.path)
    say(f"tempest: workspace {workspace.path}, {conf_path.name} written; listing tests")
    chosen = selection.select(workspace.list_tests(), args.set_name, args.regex)
    if not chosen.tests:
        say("tempest: no test selected (check --set and --regex)")
        return 1
    say(f"tempest: {len(chosen.tests)} tests selected ({args.set_name}"
        f"{', regex ' + args.regex if args.regex else ''}), {args.concurrency} workers")
    before = leaks.snapshot(cloud.client(), say)
    console_log = workspace.path / "run-console.log"
    tempest_rc = progress.timed("tempest run", lambda: workspace.run(
        chosen.tests, args.concurrency, console_log))
    say(f"tempest: finished (exit {tempest_rc}); reading results")
    outcomes, class_errors = results.outcomes(chosen.tests, workspace.results())
    say("leak check: listing what the admin sees")
    leaked = leaks.diff(before, leaks.snapshot(cloud.client(), say))
    rep = report.Report(args.set_name, outcomes, class_errors, chosen.missing, leaked, meta={
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": commit, "tempest": "47.0.0", "concurrency": args.concurrency,
        "regex": args.regex, "tempest_exit": tempest_rc, "seconds": progress.phases})
    print("\n" + report.render(rep), end="", flush=True)
    out = HERE / f"last-{args.set_name}.json"
    rep.write_json(out)
    if workspace.log.exists():
        shutil.copyfile(workspace.log, HERE / f"last-{args.set_name}.tempest.log")
    say(f"summary: {out.relative_to(ROOT)}; Tempest's log: "
        f"conformance/last-{args.set_name}.tempest.log")
    if args.record:
        args.record.write_text("".join(f"{name}\n" for name in rep.passed()))
        say(f"recorded {len(rep.passed())} passing tests in {args.record}")
    if args.expect:
        expected = [line.strip() for line in args.expect.read_text().splitlines()
                    if line.strip() and not line.startswith("#")]
        regressed = rep.regressions(expected)
        for name in regressed:
            say(f"expected to pass, did not: {name}")
        say(f"expected: {len(expected) - len(regressed)} of {len(expected)} passed")
        return 0 if not regressed and not any(rep.leaks.values()) else 1
    return 0 if rep.clean else 1


def teardown(cloud: ThrowawayCloud, keep: bool, say) -> None:
    if keep:
        say(f"--keep: the cloud is still up. State dir: {cloud.state}  Tempest workspace: "
            f"{cloud.tempest_dir}  (stop it with `minicloud --state-dir {cloud.state} down`)")
        return
    say("teardown: minicloud down")
    for problem in cloud.down():
        say(f"teardown: {problem}")
    try:
        cloud_id = cloud.cloud_id()
    except OSError:
        cloud_id = None  # the cloud never got as far as its id: no guest can be its
    try:
        if cloud_id:
            removed, problems = sweep.sweep(cloud_id, cloud.state)
            for line in removed:
                say(f"teardown: removed leftover {line}")
            for line in problems:
                say(f"teardown: could not check {line}")
    finally:
        cloud.remove()
        say(f"teardown: removed {cloud.root}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.print_features:
        print(features.markdown_table(), end="")
        return 0
    def on_sigterm(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    progress = Progress()
    cloud = ThrowawayCloud()
    status = 1
    try:
        status = conformance_run(args, cloud, progress)
    except (CloudError, TempestError) as exc:
        progress.say(f"error: {exc}")
    except KeyboardInterrupt:
        progress.say("interrupted")
        status = 130
    finally:
        teardown(cloud, args.keep, progress.say)
    progress.say(f"done in {time.monotonic() - progress.start:.0f}s, exit {status}")
    return status

