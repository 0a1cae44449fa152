"""Volume attachments (``/servers/{id}/os-volume_attachments``): list, show, attach, change,
detach."""
from __future__ import annotations

from flask import Blueprint, Response

from compute import schema
from compute.routes import PREFIX, compute, mv, server
from compute.views import attachment_view
from minicloud.errors import BadRequest, NotFound
from minicloud.validation import to_bool
from minicloud.wsgi import auth, body_schema, json_body, json_response

bp = Blueprint("attachments", __name__, url_prefix=PREFIX)
RULE = "os_compute_api:os-volumes-attachments:%s"
PATH = "/servers/<server_id>/os-volume_attachments"


def _bdm(server_id: str, volume_id: str, rule: str) -> dict:
    inst = server(server_id, rule)
    for bdm in inst.block_devices:
        if bdm["volume_id"] == volume_id:
            return bdm
    raise NotFound(f"Volume {volume_id} is not attached to server {inst.id}.")


@bp.get(PATH)
def list_attachments(server_id: str) -> Response:
    inst = server(server_id, RULE % "index")
    return json_response({"volumeAttachments": [
        attachment_view(inst.id, b, mv()) for b in inst.block_devices]})


@bp.get(f"{PATH}/<volume_id>")
def show_attachment(server_id: str, volume_id: str) -> Response:
    bdm = _bdm(server_id, volume_id, RULE % "show")
    return json_response({"volumeAttachment": attachment_view(server_id, bdm, mv())})


@bp.post(PATH)
@body_schema(schema.ATTACH_VOLUME, max_minor=48)
@body_schema(schema.ATTACH_VOLUME_V249, min_minor=49, max_minor=78)
@body_schema(schema.ATTACH_VOLUME_V279, min_minor=79)
def attach(server_id: str) -> Response:
    inst = server(server_id, RULE % "create")
    body = json_body()["volumeAttachment"]
    bdm = compute().service.attach_volume(
        auth(), inst.id, body["volumeId"], tag=body.get("tag"),
        delete_on_termination=to_bool(body.get("delete_on_termination", False)))
    return json_response({"volumeAttachment": attachment_view(inst.id, bdm, mv(),
                                                              created=True)})


@bp.put(f"{PATH}/<volume_id>")
@body_schema(schema.UPDATE_ATTACHMENT, max_minor=84)
@body_schema(schema.UPDATE_ATTACHMENT_V285, min_minor=85)
def update_attachment(server_id: str, volume_id: str) -> Response:
    """From 2.85 ``delete_on_termination`` changes; the other fields must repeat the
    attachment's. Swapping the volume (another ``volumeId``) is not offered."""
    bdm = _bdm(server_id, volume_id, RULE % "update")
    body = json_body()["volumeAttachment"]
    if body["volumeId"] != volume_id:
        raise BadRequest("Swapping the volume of an attachment is not supported.")
    if not mv().at_least(85):
        raise BadRequest("Changing a volume attachment needs microversion 2.85.")
    current = {"serverId": server_id, "id": bdm.get("attachment_id"),
               "device": bdm.get("device"), "tag": bdm.get("tag")}
    for key, value in current.items():
        if key in body and body[key] != value:
            raise BadRequest(f"The {key} of a volume attachment cannot be changed.")
    if "delete_on_termination" in body:
        compute().service.update_attachment(auth(), server_id, volume_id,
                                            to_bool(body["delete_on_termination"]))
    return Response(status=202)


@bp.delete(f"{PATH}/<volume_id>")
def detach(server_id: str, volume_id: str) -> Response:
    server(server_id, RULE % "delete")
    compute().service.detach_volume(auth(), server_id, volume_id)
    return Response(status=202)
