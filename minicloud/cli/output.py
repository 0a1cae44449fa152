"""Output formatting shared by every command: ``-f table|json|yaml|value`` and ``-c COLUMN``.

A command returns either one record (``show``: a mapping, printed as Field/Value rows) or a
list of records (``list``: printed as columns), as the ``openstack`` CLI does.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import click
import yaml

from minicloud import errors

FORMATS = ("table", "json", "yaml", "value")


def output_options(func: Callable) -> Callable:
    """Add ``-f/--format`` and ``-c/--column`` to a command."""
    func = click.option("-c", "--column", "columns", multiple=True,
                        help="Column to show (repeatable); all when omitted.")(func)
    return click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default="table",
                        show_default=True, help="Output format.")(func)


def _cell(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (dict, list)):
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return ", ".join(value)
        if isinstance(value, dict) and all(not isinstance(v, (dict, list)) for v in value.values()):
            return ", ".join(f"{k}='{v}'" for k, v in sorted(value.items()))
        return json.dumps(value)
    return str(value)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in headers]
    split_rows = []
    for row in rows:
        cells = [c.splitlines() or [""] for c in row]
        split_rows.append(cells)
        for i, lines in enumerate(cells):
            widths[i] = max(widths[i], *(len(line) for line in lines))
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(values: Sequence[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    out = [rule, line(headers), rule]
    for cells in split_rows:
        height = max(len(c) for c in cells)
        for k in range(height):
            out.append(line([c[k] if k < len(c) else "" for c in cells]))
    out.append(rule)
    return "\n".join(out)


def _select(columns: Sequence[str], wanted: Sequence[str]) -> list[str]:
    if not wanted:
        return list(columns)
    lower = {c.lower(): c for c in columns}
    chosen = []
    for name in wanted:
        if name.lower() not in lower:
            raise click.BadParameter(f"no column {name!r}; choose from: {', '.join(columns)}",
                                     param_hint="-c/--column")
        chosen.append(lower[name.lower()])
    return chosen


def emit_one(record: Mapping[str, Any], fmt: str, columns: Sequence[str] = ()) -> None:
    """Print one resource (Field/Value table, or a JSON/YAML object, or bare values)."""
    keys = _select(sorted(record), columns)
    data = {k: record[k] for k in keys}
    if fmt == "json":
        click.echo(json.dumps(data, indent=4, sort_keys=True, default=str))
    elif fmt == "yaml":
        click.echo(yaml.safe_dump(data, sort_keys=True, default_flow_style=False).rstrip())
    elif fmt == "value":
        for k in keys:
            click.echo(_cell(data[k]))
    else:
        click.echo(_table(["Field", "Value"], [[k, _cell(data[k])] for k in keys]))


def emit_list(records: Sequence[Mapping[str, Any]], headers: Sequence[str], fmt: str,
              columns: Sequence[str] = ()) -> None:
    """Print many resources; each record maps the header names to values."""
    keys = _select(headers, columns)
    if fmt == "json":
        click.echo(json.dumps([{k: r.get(k) for k in keys} for r in records], indent=4,
                              default=str))
    elif fmt == "yaml":
        click.echo(yaml.safe_dump([{k: r.get(k) for k in keys} for r in records],
                                  sort_keys=False).rstrip())
    elif fmt == "value":
        for r in records:
            click.echo(" ".join(_cell(r.get(k)) for k in keys))
    else:
        click.echo(_table(keys, [[_cell(r.get(k)) for k in keys] for r in records]))


def for_each(refs: Iterable[str], verb: str, act: Callable[[str], None]) -> None:
    """Run ``act`` on every ref (``delete``, ``stop``... of several resources): each failure
    is one line on stderr, every ref is still attempted, and any failure exits 1."""
    failed = False
    for ref in refs:
        try:
            act(ref)
        except errors.MinicloudError as exc:
            failed = True
            click.echo(f"Error: failed to {verb} {ref}: {exc.message}", err=True)
    if failed:
        sys.exit(1)
