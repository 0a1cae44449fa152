"""The server actions that a cloud without networking or cold migration answers as Nova
would: ``addSecurityGroup``/``removeSecurityGroup`` (:mod:`compute.security_groups`) and
``migrate``, which minicloud refuses with a reason (no cold migration)."""
from __future__ import annotations

from collections.abc import Callable

from flask import Response

from compute.models import Instance
from compute.routes import compute, mv
from compute.security_groups import SecurityGroups
from minicloud.errors import BadRequest
from minicloud.wsgi import authorize

RULES = {"addSecurityGroup": "os_compute_api:os-security-groups:add",
         "removeSecurityGroup": "os_compute_api:os-security-groups:remove",
         "migrate": "os_compute_api:os-migrate-server:migrate"}


def _groups() -> SecurityGroups:
    return SecurityGroups(compute().service.db)


def _add_group(inst: Instance, params: dict) -> Response:
    _groups().add(inst.id, params["name"])
    return Response(status=202)


def _remove_group(inst: Instance, params: dict) -> Response:
    _groups().remove(inst.id, params["name"])
    return Response(status=202)


def _migrate(inst: Instance, params: dict) -> Response:
    """Cold migration is not offered: the answer says why, as Nova's scheduler would when
    no other host can take the server."""
    host = params.get("host") if mv().at_least(56) else None
    if host is not None:
        authorize("os_compute_api:os-migrate-server:migrate:host")
    others = [h.name for h in compute().hosts.list() if h.enabled and h.name != inst.host]
    if host is not None and host not in others:
        raise BadRequest(f"Compute host {host[:255]} could not be found or is the "
                         "server's own host.")
    if not others:
        raise BadRequest("No valid host was found. No valid host found for cold migrate")
    raise BadRequest("Cold migration is not offered by this cloud: the server stays on "
                     "its host (its disks live in the host's instance directory).")


#: Actions the action schema accepts only to answer Nova's refusal: the feature is absent
#: (``/extensions`` does not list it).
REFUSED = frozenset({"migrate"})

HANDLERS: dict[str, Callable[[Instance, dict], Response]] = {
    "addSecurityGroup": _add_group, "removeSecurityGroup": _remove_group,
    "migrate": _migrate}
