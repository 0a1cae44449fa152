"""Cinder's ``os-services`` writes (admins): ``PUT /os-services/enable``, ``disable``,
``disable-log-reason``, ``freeze`` and ``thaw``; what each changes is in
:mod:`volumes.host_status`."""
from __future__ import annotations

from collections.abc import Callable

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


# action: (body schema, disabled after it, the ``disabled_reason`` answered: Cinder answers
# null on enable, the given reason on disable-log-reason and no key on a plain disable)
_SWITCHES: dict[str, tuple[dict, bool, Callable[[dict], object]]] = {
    "enable": (SERVICE, False, lambda body: None),
    "disable": (SERVICE, True, lambda body: ...),
    "disable-log-reason": (WITH_REASON, True, lambda body: body["disabled_reason"]),
}


def _switch(action: str) -> Callable[[str | None], Response]:
    schema, disabled, reason_of = _SWITCHES[action]

    @body_schema(schema)
    def view(project_id: str | None) -> Response:
        context.authorize_project(UPDATE)
        body = json_body()
        _status().set_disabled(body["host"], body["binary"], disabled,
                               body.get("disabled_reason"))
        return _answer(body, disabled, reason_of(body))

    return view


for _action in _SWITCHES:
    bp.add_url_rule(f"/os-services/{_action}", methods=["PUT"],
                    endpoint=f"{_action.replace('-', '_')}_service", view_func=_switch(_action))


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
