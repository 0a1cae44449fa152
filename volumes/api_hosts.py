"""Cinder's ``os-hosts`` (admins): the hosts that run the block-storage services, and what
one ``cinder-volume`` host holds.

The list has a row per service of each volume agent's host (``cinder-volume`` as
``host@backend``, ``cinder-backup`` as ``host``; the agent runs both), with Cinder's keys.
A host's show answers the volume and snapshot totals on it, first for all projects
(``(total)``), then per project; counts and sizes are strings, as Cinder's. A host that runs
no ``cinder-volume`` (or is not known) is 404.
"""
from __future__ import annotations

from collections import defaultdict

from flask import Blueprint, Response
from sqlalchemy import select

from minicloud.errors import NotFound
from minicloud.wsgi import json_response
from volumes import context
from volumes.models import Volume, VolumeSnapshot
from volumes.states import DELETED, S_DELETED
from volumes.views import ts

bp = Blueprint("volume_hosts", __name__)
RULE = "volume_extension:hosts"


@bp.get("/os-hosts", endpoint="list_hosts")
def list_hosts(project_id: str | None) -> Response:
    context.authorize_project(RULE)
    zone = context.volumes().settings.zone
    rows = []
    for row, up in context.volumes().hosts():
        for service, name in (("cinder-volume", f"{row.name}@{row.backend}"),
                              ("cinder-backup", row.name)):
            rows.append({"host_name": name, "service": service, "zone": zone,
                         "service-status": "available" if up else "unavailable",
                         "service-state": "enabled" if row.reason(service) is None
                         else "disabled", "last-update": ts(row.heartbeat_at)})
    return json_response({"hosts": rows})


@bp.get("/os-hosts/<host_name>", endpoint="show_host")
def show_host(project_id: str | None, host_name: str) -> Response:
    context.authorize_project(RULE)
    name, _, backend = host_name.partition("@")
    known = {row.name: row for row, _ in context.volumes().hosts()}
    if name not in known or (backend and backend != known[name].backend):
        raise NotFound(f"Host {host_name[:255]} could not be found.")
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    with context.volumes().db.session() as s:
        vols = {v.id: v for v in s.scalars(select(Volume).where(
            Volume.host == name, Volume.status != DELETED))}
        for vol in vols.values():
            for key in ("(total)", vol.project_id):
                totals[key][0] += 1
                totals[key][1] += vol.size
        for snap in s.scalars(select(VolumeSnapshot).where(
                VolumeSnapshot.volume_id.in_(list(vols)), VolumeSnapshot.status != S_DELETED)):
            for key in ("(total)", snap.project_id):
                totals[key][2] += 1
                totals[key][3] += snap.size
    totals.setdefault("(total)", [0, 0, 0, 0])
    order = ["(total)", *sorted(k for k in totals if k != "(total)")]
    return json_response({"host": [
        {"resource": {"host": name, "project": key, "volume_count": str(totals[key][0]),
                      "total_volume_gb": str(totals[key][1]),
                      "snapshot_count": str(totals[key][2]),
                      "total_snapshot_gb": str(totals[key][3])}} for key in order]})
