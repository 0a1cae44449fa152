"""Keypairs (``os-keypairs``): create or import, list, show, delete; per user.

Every route acts for the caller, or (2.10+) for the ``user_id`` given in the query or the
create body; the policy target is that user, so only an admin acts for someone else. From
2.35 the list pages with ``limit``/``marker`` (a keypair's name) and ``keypairs_links``.
"""
from __future__ import annotations

from flask import Blueprint, Response, request

from compute import schema
from compute.keypairs import SSH, Keypairs
from compute.routes import PREFIX, compute, mv, paged
from compute.views import keypair_view
from minicloud.wsgi import auth, authorize, body_schema, json_body, json_response

bp = Blueprint("keypairs", __name__, url_prefix=PREFIX)
RULE = "os_compute_api:os-keypairs:%s"
#: ``user_id`` (acting for another user) is understood from this microversion.
USER_ID_SINCE = 10
#: ``limit`` and ``marker`` page the list from this microversion.
PAGING_SINCE = 35


def _keypairs() -> Keypairs:
    return compute().service.keypairs


def _owner(rule: str, requested: str | None) -> str:
    """The user the request acts for (``requested`` counts at 2.10+), after enforcing
    ``rule`` with that user as the target."""
    user_id = auth().user_id
    if requested and mv().at_least(USER_ID_SINCE):
        user_id = requested
    authorize(RULE % rule, {"user_id": user_id})
    return user_id


@bp.get("/os-keypairs")
def list_keypairs() -> Response:
    user_id = _owner("index", request.args.get("user_id"))
    keys = _keypairs().list(user_id)
    links: dict = {}
    if mv().at_least(PAGING_SINCE):
        keys, links = paged(keys, lambda k: k.name, "keypairs", "/os-keypairs")
    return json_response({"keypairs": [{"keypair": keypair_view(k, mv(), "list")}
                                       for k in keys], **links})


@bp.get("/os-keypairs/<keypair_name>")
def show_keypair(keypair_name: str) -> Response:
    user_id = _owner("show", request.args.get("user_id"))
    return json_response({"keypair": keypair_view(_keypairs().get(user_id, keypair_name),
                                                   mv())})


@bp.post("/os-keypairs")
@body_schema(schema.CREATE_KEYPAIR, max_minor=1)
@body_schema(schema.CREATE_KEYPAIR_V22, min_minor=2, max_minor=9)
@body_schema(schema.CREATE_KEYPAIR_V210, min_minor=10, max_minor=91)
@body_schema(schema.CREATE_KEYPAIR_V292, min_minor=92)
def create_keypair() -> Response:
    """Import ``public_key``, or generate the pair and return the private key this once
    (before 2.92). 200 at 2.1, 201 from 2.2."""
    body = json_body()["keypair"]
    user_id = _owner("create", body.get("user_id"))
    key, private_key = _keypairs().create(user_id, auth().project_id, body["name"],
                                          body.get("type", SSH), body.get("public_key"))
    return json_response({"keypair": keypair_view(key, mv(), "create", private_key)},
                         201 if mv().at_least(2) else 200)


@bp.delete("/os-keypairs/<keypair_name>")
def delete_keypair(keypair_name: str) -> Response:
    """202 at 2.1, 204 from 2.2 (as Nova)."""
    user_id = _owner("delete", request.args.get("user_id"))
    _keypairs().delete(user_id, keypair_name)
    return Response(status=204 if mv().at_least(2) else 202)
