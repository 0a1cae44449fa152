"""What the role tests of every service share: the write routes of an app, and the check that a
service's table of write requests covers every one of them (a new route without a row fails).

Each ``tests/test_roles_<service>.py`` builds its app in-process with fakes, creates resources
as a project member, then sends every write route as a ``reader`` of the same project (403
each time) and every admin-only route as a ``member`` (403 each time).
"""
from __future__ import annotations

from collections.abc import Iterable

from flask import Flask

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def write_routes(app: Flask) -> set[tuple[str, str]]:
    """``(METHOD, rule)`` of every route that may change something and needs a token."""
    out: set[tuple[str, str]] = set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        if view is None or getattr(view, "minicloud_public", False):
            continue
        for method in rule.methods or ():
            if method not in READ_METHODS:
                out.add((method, rule.rule))
    return out


def assert_covers(app: Flask, covered: Iterable[tuple[str, str]]) -> None:
    """Every write route of ``app`` is in ``covered`` (and ``covered`` names no stale route)."""
    routes, table = write_routes(app), set(covered)
    missing, stale = sorted(routes - table), sorted(table - routes)
    assert not missing, f"write routes with no role test: {missing}"
    assert not stale, f"role test rows for routes that do not exist: {stale}"
