"""The lifecycle actions of ``POST /servers/{id}/action`` (dispatched from
:mod:`compute.routes.actions`): lock/unlock, pause/unpause, suspend/resume, rebuild,
createBackup, restore and forceDelete, each with Nova's policy rule and response."""
from __future__ import annotations

import binascii
import ipaddress
from collections.abc import Callable

from flask import Response

from compute.lifecycle import Lifecycle, RebuildRequest
from compute.models import Instance
from compute.routes import caller_target, compute, mv, server_target, viewer
from compute.views import server_rebuilt
from minicloud.errors import BadRequest
from minicloud.wsgi import auth, authorize, json_response

LOCK = "os_compute_api:os-lock-server:%s"
#: Each action's policy rule (Nova's names).
RULES = {"lock": LOCK % "lock", "unlock": LOCK % "unlock",
         "pause": "os_compute_api:os-pause-server:pause",
         "unpause": "os_compute_api:os-pause-server:unpause",
         "suspend": "os_compute_api:os-suspend-server:suspend",
         "resume": "os_compute_api:os-suspend-server:resume",
         "restore": "os_compute_api:os-deferred-delete:restore",
         "forceDelete": "os_compute_api:os-deferred-delete:force",
         "rebuild": "os_compute_api:servers:rebuild",
         "rescue": "os_compute_api:os-rescue", "unrescue": "os_compute_api:os-unrescue",
         "createBackup": "os_compute_api:os-create-backup"}


def _lifecycle() -> Lifecycle:
    return Lifecycle(compute().service)


def _queued(name: str) -> Callable[[Instance, dict], Response]:
    def start(inst: Instance, _params: dict) -> Response:
        compute().service.start_action(auth(), inst.id, name)
        return Response(status=202)
    return start


def _lock(inst: Instance, params: dict) -> Response:
    # before 2.73 Nova reads no body: a reason sent then is ignored
    reason = params.get("locked_reason") if mv().at_least(73) else None
    _lifecycle().lock(auth(), inst.id, reason)
    return Response(status=202)


def _unlock(inst: Instance, _params: dict) -> Response:
    """The owner unlocks its own lock, an admin an admin's; the other side needs
    ``unlock:unlock_override`` (admins by default), as Nova."""
    lifecycle = _lifecycle()
    if lifecycle.needs_override(auth(), inst):
        authorize(LOCK % "unlock:unlock_override", server_target(inst))
    lifecycle.unlock(auth(), inst.id)
    return Response(status=202)


def _restore(inst: Instance, _params: dict) -> Response:
    _lifecycle().restore(auth(), inst.id)
    return Response(status=202)


def _force_delete(inst: Instance, _params: dict) -> Response:
    _lifecycle().force_delete(auth(), inst.id)
    return Response(status=202)


def _rescue(inst: Instance, params: dict) -> Response:
    """200 with ``adminPass`` (the one given, or empty: nothing in the guest sets it)."""
    _lifecycle().rescue(auth(), inst.id, params.get("rescue_image_ref"))
    return json_response({"adminPass": params.get("adminPass", "")})


def _backup(inst: Instance, params: dict) -> Response:
    """202; from 2.45 the body ``{"image_id"}``, before it a Location header (only when
    ``rotation`` > 0: with 0 the backup does not stay)."""
    rotation = int(params["rotation"])
    image_id = _lifecycle().backup(auth(), inst.id, params["name"], params["backup_type"],
                                   rotation, params.get("metadata") or {})
    if mv().at_least(45):
        return json_response({"image_id": image_id}, 202)
    headers = {"Location": f"{compute().image_url}/v2/images/{image_id}"} if rotation else {}
    return Response(status=202, headers=headers)


def _address(value: str | None) -> str | None:
    return ipaddress.ip_address(value).compressed if value else None


def rebuild_request(body: dict) -> RebuildRequest:
    """A rebuild body that passed the schema, checked against what this cloud offers.

    ``adminPass`` is accepted and ignored: no agent in the guest could set it.
    ``preserve_ephemeral`` is accepted: the ephemeral disk is always kept.
    """
    if body.get("user_data") is not None:
        try:
            binascii.a2b_base64(body["user_data"].encode())
        except binascii.Error:
            raise BadRequest("Invalid input for field/attribute user_data. Value: "
                             "(omitted). It is not valid base64.") from None
    return RebuildRequest(
        image_ref=body["imageRef"], name=body.get("name"), metadata=body.get("metadata"),
        description=body.get("description"), set_description="description" in body,
        access_ip_v4=_address(body.get("accessIPv4")),
        access_ip_v6=_address(body.get("accessIPv6")),
        key_name=body.get("key_name"), set_key_name="key_name" in body,
        user_data=body.get("user_data"), set_user_data="user_data" in body,
        hostname=body.get("hostname"))


def _rebuild(inst: Instance, params: dict) -> Response:
    inst = _lifecycle().rebuild(auth(), inst.id, rebuild_request(params))
    inst = compute().service.get_server(auth(), inst.id)
    body = server_rebuilt(inst, viewer(caller_target()), params.get("adminPass", ""))
    return json_response({"server": body}, 202)


HANDLERS: dict[str, Callable[[Instance, dict], Response]] = {
    "lock": _lock, "unlock": _unlock, "pause": _queued("pause"),
    "unpause": _queued("unpause"), "suspend": _queued("suspend"),
    "resume": _queued("resume"), "restore": _restore, "forceDelete": _force_delete,
    "rebuild": _rebuild, "createBackup": _backup, "rescue": _rescue,
    "unrescue": _queued("unrescue")}
