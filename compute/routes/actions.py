"""Server actions (``POST /servers/{id}/action``): each behind its own Nova policy on the
server's project. Start, stop, reboot, createImage and the console output are here; the
lifecycle actions (lock, pause, suspend, rebuild, createBackup, restore, forceDelete) in
:mod:`compute.routes.lifecycle`."""
from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response

from compute import console, schema
from compute.models import Instance
from compute.routes import (
    PREFIX,
    compute,
    lifecycle,
    mv,
    server,
    server_ops,
    server_target,
)
from compute.service import root_bdm
from minicloud.errors import BadRequest
from minicloud.wsgi import auth, authorize, body_schema, json_body, json_response

bp = Blueprint("actions", __name__, url_prefix=PREFIX)
#: The action names minicloud offers and their policy rules (Nova's).
RULES = {"os-start": "os_compute_api:servers:start",
         "os-stop": "os_compute_api:servers:stop",
         "reboot": "os_compute_api:servers:reboot",
         "createImage": "os_compute_api:servers:create_image",
         "os-getConsoleOutput": "os_compute_api:os-console-output",
         "os-resetState": "os_compute_api:os-admin-actions:reset_state",
         **lifecycle.RULES, **server_ops.RULES}


def _queued(name: str) -> Callable[[Instance, dict], Response]:
    def start(inst: Instance, _params: dict) -> Response:
        compute().service.start_action(auth(), inst.id, name)
        return Response(status=202)
    return start


def _reboot(inst: Instance, params: dict) -> Response:
    hard = params["type"].upper() == "HARD"
    compute().service.start_action(auth(), inst.id, "reboot_hard" if hard else "reboot_soft")
    return Response(status=202)


def _reset_state(inst: Instance, params: dict) -> Response:
    """An admin's way out of a stuck state: ``active`` or ``error``, no task (Nova's)."""
    compute().service.reset_state(auth(), inst.id, params["state"])
    return Response(status=202)


def _console(inst: Instance, params: dict) -> Response:
    return json_response({"output": console_output(inst, params.get("length"))})


@bp.post("/servers/<server_id>/action")
@body_schema(schema.SERVER_ACTION, max_minor=18)
@body_schema(schema.SERVER_ACTION_V219, min_minor=19, max_minor=53)
@body_schema(schema.SERVER_ACTION_V254, min_minor=54, max_minor=56)
@body_schema(schema.SERVER_ACTION_V257, min_minor=57, max_minor=72)
@body_schema(schema.SERVER_ACTION_V273, min_minor=73, max_minor=89)
@body_schema(schema.SERVER_ACTION_V290, min_minor=90, max_minor=93)
@body_schema(schema.SERVER_ACTION_V294, min_minor=94)
def server_action(server_id: str) -> Response:
    (name, params), = json_body().items()
    inst = server(server_id, RULES[name])
    return HANDLERS[name](inst, params if isinstance(params, dict) else {})


def _create_image(inst: Instance, params: dict) -> Response:
    if root_bdm(inst) is not None:   # Nova's second rule for a volume-backed server
        authorize("os_compute_api:servers:create_image:allow_volume_backed",
                  server_target(inst))
    image_id = compute().service.snapshot(auth(), inst.id, params["name"],
                                          params.get("metadata") or {})
    location = {"Location": f"{compute().image_url}/v2/images/{image_id}"}
    if mv().at_least(45):
        return json_response({"image_id": image_id}, 202, location)
    return Response(status=202, headers=location)


HANDLERS: dict[str, Callable[[Instance, dict], Response]] = {
    "os-start": _queued("start"), "os-stop": _queued("stop"), "reboot": _reboot,
    "createImage": _create_image, "os-resetState": _reset_state,
    "os-getConsoleOutput": _console, **lifecycle.HANDLERS, **server_ops.HANDLERS}


def console_output(inst: Instance, length: int | str | None) -> str:
    """The last ``length`` lines of the serial console log (all of its last MiB for
    None or -1), as the server's host reads it (:mod:`compute.console`)."""
    lines_wanted = None
    if length is not None:
        lines_wanted = int(length)
        if lines_wanted < -1:
            raise BadRequest("Invalid input for field/attribute length. Value: "
                             f"{lines_wanted}. {lines_wanted} is less than the minimum of -1")
    return console.last_lines(compute().console.output(inst), lines_wanted)
