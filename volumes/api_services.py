"""Cinder's ``os-services`` writes (admins): ``PUT /os-services/enable``, ``disable``,
``disable-log-reason``, ``freeze`` and ``thaw``; what each changes is in
:mod:`volumes.host_status`."""
from __future__ import annotations

from flask import Blueprint, Response

from minicloud.validation import NAME
from minicloud.wsgi import body_schema, json_body, json_response
from volumes import context
from volumes.host_status import HostStatus

bp = Blueprint("volume_services", __name__)
UPDATE, FREEZE, THAW = ("volume_extension:services:update", "volume:freeze_host",
                        "volume:thaw_host")
_HOST = {"type": "string", "minLength": 1, "maxLength": 255}
SERVICE = {"type": "object", "properties": {"host": _HOST, "binary": _HOST},
           "required": ["host", "binary"], "additionalProperties": False}
WITH_REASON = {"type": "object",
               "properties": {"host": _HOST, "binary": _HOST, "disabled_reason": NAME},
               "required": ["host", "binary", "disabled_reason"],
               "additionalProperties": False}
HOST_ONLY = {"type": "object", "properties": {"host": _HOST}, "required": ["host"],
             "additionalProperties": False}


def _status() -> HostStatus:
    return HostStatus(context.volumes().db)


def _answer(body: dict, disabled: bool, reason: object = ...) -> Response:
    view = {"host": body["host"], "binary": body["binary"], "service": body["binary"],
            "disabled": disabled, "status": "disabled" if disabled else "enabled"}
    if reason is not ...:
        view["disabled_reason"] = reason
    return json_response(view)


@bp.put("/os-services/enable", endpoint="enable_service")
@body_schema(SERVICE)
def enable(project_id: str | None) -> Response:
    context.authorize_project(UPDATE)
    body = json_body()
    _status().set_disabled(body["host"], body["binary"], False)
    return _answer(body, False, None)


@bp.put("/os-services/disable", endpoint="disable_service")
@body_schema(SERVICE)
def disable(project_id: str | None) -> Response:
    context.authorize_project(UPDATE)
    body = json_body()
    _status().set_disabled(body["host"], body["binary"], True)
    return _answer(body, True)


@bp.put("/os-services/disable-log-reason", endpoint="disable_log_reason")
@body_schema(WITH_REASON)
def disable_log_reason(project_id: str | None) -> Response:
    context.authorize_project(UPDATE)
    body = json_body()
    _status().set_disabled(body["host"], body["binary"], True, body["disabled_reason"])
    return _answer(body, True, body["disabled_reason"])


@bp.put("/os-services/freeze", endpoint="freeze_host")
@body_schema(HOST_ONLY)
def freeze(project_id: str | None) -> Response:
    context.authorize_project(FREEZE)
    _status().set_frozen(json_body()["host"], True)
    return Response(status=200)


@bp.put("/os-services/thaw", endpoint="thaw_host")
@body_schema(HOST_ONLY)
def thaw(project_id: str | None) -> Response:
    context.authorize_project(THAW)
    _status().set_frozen(json_body()["host"], False)
    return Response(status=200)
