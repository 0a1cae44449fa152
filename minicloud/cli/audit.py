"""``minicloud audit [--fix]``: the catalog compared with the host (an operator's command).

Like ``up``/``down`` it runs on the cloud's host and reads the catalog file directly (no
API, no credentials beyond being able to read the state directory: root for a system cloud).
"""
from __future__ import annotations

import sys

import click

from minicloud.cli.context import CliContext, pass_ctx
from minicloud.cli.output import emit_list, output_options

MAX_AGE = 600.0  # minicloud.audit.build.MAX_AGE, without importing the cloud at start


@click.command()
@click.option("--fix", is_flag=True,
              help="Remove every orphan (never anything the catalog owns), then audit again.")
@click.option("--older-than", "max_age", type=click.FloatRange(min=0), default=MAX_AGE,
              show_default=True, metavar="SECONDS",
              help="Report unfinished tasks, downloads and writes older than this.")
@output_options
@pass_ctx
def audit(obj: CliContext, fix: bool, max_age: float, fmt: str, columns) -> None:
    """Show every orphan and missing piece of this cloud on this host; exit 1 if any.

    Orphans: on the host, owned by nothing in the catalog. Missing: owned by the catalog,
    absent on the host. Stale: tasks unfinished after --older-than seconds. Unchecked: a
    check that could not look (libvirt or tgtd down).
    """
    from minicloud.audit import build, core
    from minicloud.db import Database

    conf = obj.conf()
    catalog = conf.state_dir / "minicloud.db"
    if not conf.database.connection and not catalog.exists():
        raise click.ClickException(f"no catalog at {catalog}: is this the cloud's state "
                                   "directory (--state-dir)?")
    db = Database(conf.database_url, conf.database.busy_timeout)
    try:
        checks = build.checks(conf, db, build.host_access(conf), max_age)
        found = core.run(checks)
        headers = list(core.COLUMNS)
        rows = [f.row() for f in found]
        remaining = found
        if fix:
            removed, failed = core.fix(found)
            outcome = {id(f): "removed" for f in removed}
            outcome.update({id(f): f"failed: {why}" for f, why in failed})
            headers.append("Fixed")
            rows = [dict(f.row(), Fixed=outcome.get(id(f), "")) for f in found]
            remaining = core.run(checks)
    finally:
        db.dispose()
    if found or fmt != "table":
        emit_list(rows, headers, fmt, columns)
    if fmt == "table":
        names = ", ".join(c.name for c in checks)
        click.echo(f"{len(found)} finding(s) from {len(checks)} checks ({names})"
                   if found else f"clean: {len(checks)} checks ({names}) found nothing")
    if fix and remaining:
        click.echo(f"still found after --fix: {len(remaining)} (missing, stale or unchecked "
                   "items are never fixed; see docs/operations.md)", err=True)
    sys.exit(1 if remaining else 0)


COMMANDS = (audit,)
