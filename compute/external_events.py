"""``os-server-external-events``: what other services tell compute about its servers.

Neutron sends ``network-*`` events, Cinder ``volume-extended`` and ``volume-reimaged``,
Ironic ``power-update``, Cyborg ``accelerator-request-bound``. Each event names a server;
the answer per event is Nova's: 404 when the server does not exist, 422 when it is not on a
host yet, else 200 and ``completed`` (or the status the sender gave). The whole answer is
200 when every event was accepted, 207 when some were, 404 when none was.

What an accepted event changes here: nothing on the guest. There is no networking service
to send ``network-*`` events, minicloud's volume service does not extend or reimage volumes
that are attached, and no server is bare metal. They are accepted and logged so the
services that speak this API (and Tempest) find it as Nova has it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select

from compute import states
from compute.models import Instance
from minicloud.db import Database

LOG = logging.getLogger(__name__)

#: Event names by the microversion that introduced them (Nova's).
EVENTS_SINCE = {"network-changed": 1, "network-vif-plugged": 1, "network-vif-unplugged": 1,
                "network-vif-deleted": 1, "volume-extended": 51, "power-update": 76,
                "accelerator-request-bound": 82, "volume-reimaged": 93}


def names(minor: int) -> list[str]:
    """The event names a request at 2.``minor`` may send."""
    return [name for name, since in EVENTS_SINCE.items() if minor >= since]


@dataclass
class Outcome:
    events: list[dict]  # each with its code and status
    code: int           # 200, 207 or 404


def accept(db: Database, events: list[dict]) -> Outcome:
    """Answer every event (see the module's rules)."""
    with db.session() as s:
        ids = {e["server_uuid"] for e in events}
        found = {i.id: i for i in s.scalars(select(Instance).where(Instance.id.in_(ids)))
                 if i.vm_state != states.DELETED}
    answered, accepted = [], 0
    for event in events:
        inst = found.get(event["server_uuid"])
        reply = {"server_uuid": event["server_uuid"], "name": event["name"]}
        if "tag" in event:
            reply["tag"] = event["tag"]
        if inst is None:
            reply.update(code=404, status="failed")
        elif inst.host is None:
            reply.update(code=422, status="failed")
        else:
            reply.update(code=200, status=event.get("status", "completed"))
            accepted += 1
            LOG.info("external event %s (%s) for server %s on %s", event["name"],
                     event.get("tag", ""), inst.id, inst.host)
        answered.append(reply)
    code = 200 if accepted == len(events) else 207 if accepted else 404
    return Outcome(answered, code)
