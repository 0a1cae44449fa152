"""Server actions (``POST /servers/{id}/action``): start, stop, reboot, createImage and the
console output, each behind its own policy on the server's project."""
from __future__ import annotations

from flask import Blueprint, Response

from compute import console, schema
from compute.models import Instance
from compute.routes import PREFIX, compute, mv, server
from minicloud.errors import BadRequest
from minicloud.wsgi import auth, body_schema, json_body, json_response

bp = Blueprint("actions", __name__, url_prefix=PREFIX)
#: The action names minicloud offers and their policy rules (Nova's).
RULES = {"os-start": "os_compute_api:servers:start",
         "os-stop": "os_compute_api:servers:stop",
         "reboot": "os_compute_api:servers:reboot",
         "createImage": "os_compute_api:servers:create_image",
         "os-getConsoleOutput": "os_compute_api:os-console-output"}


@bp.post("/servers/<server_id>/action")
@body_schema(schema.SERVER_ACTION)
def server_action(server_id: str) -> Response:
    (name, params), = json_body().items()
    inst = server(server_id, RULES[name])
    svc = compute().service
    if name == "os-start":
        svc.start_action(auth(), inst.id, "start")
    elif name == "os-stop":
        svc.start_action(auth(), inst.id, "stop")
    elif name == "reboot":
        hard = params["type"].upper() == "HARD"
        svc.start_action(auth(), inst.id, "reboot_hard" if hard else "reboot_soft")
    elif name == "createImage":
        return _create_image(inst, params)
    else:
        return json_response({"output": console_output(inst, params.get("length"))})
    return Response(status=202)


def _create_image(inst: Instance, params: dict) -> Response:
    image_id = compute().service.snapshot(auth(), inst.id, params["name"],
                                          params.get("metadata") or {})
    location = {"Location": f"{compute().image_url}/v2/images/{image_id}"}
    if mv().at_least(45):
        return json_response({"image_id": image_id}, 202, location)
    return Response(status=202, headers=location)


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
