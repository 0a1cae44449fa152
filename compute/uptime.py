"""A host's uptime as Nova's libvirt driver reports it: the output line of ``uptime``.

The compute agent of each host records it with its heartbeat (``compute_hosts.uptime``), so
the API on the controller can answer ``GET /os-hypervisors/{id}/uptime`` (and the 2.88+
``uptime`` field) for any host without reaching into it.
"""
from __future__ import annotations

from minicloud import process
from minicloud.errors import CommandFailed


def host_uptime() -> str | None:
    """This host's ``uptime`` line (e.g. `` 10:01:02 up 3 days,  2:01,  1 user,  load
    average: 0.00, 0.01, 0.05``); None when the command is missing or fails."""
    try:
        line = process.run(["uptime"], timeout=10).stdout.decode(errors="replace").strip()
    except CommandFailed:
        return None
    return line[:255] or None
