"""Keystone v3 HTTP API of what users hold: credentials (``/v3/credentials``), EC2
credentials (OS-EC2), application credentials and their access rules.

Owners manage their own; administrators (and system readers, for reads) anyone's. A
credential's blob is shown only to its owner and administrators: the list a user gets holds
only the credentials the ``identity:get_credential`` rule lets it see. Register
:data:`blueprint` on the identity app.
"""
from __future__ import annotations

from flask import Blueprint, Response, request

from minicloud.identity import catalog_schema as schema
from minicloud.identity.appcreds import ApplicationCredentials
from minicloud.identity.catalog_api import collection, credentials, linked
from minicloud.wsgi import auth, authorize, body_schema, current_service, json_body, json_response

blueprint = Blueprint("identity_credentials", __name__)


def _allowed(rule: str, target: dict) -> bool:
    return current_service().policy.check(rule, auth().credentials(), target)


def _cred_target(owner: str, path_user: str | None = None) -> dict:
    return {"target.credential.user_id": owner, "user_id": path_user or owner}


def _credential(record: dict) -> dict:
    return linked(record, f"/v3/credentials/{record['id']}")


# -- /v3/credentials ---------------------------------------------------------------------------
@blueprint.get("/v3/credentials")
def list_credentials() -> Response:
    """Every credential the caller may see (its own, or all for an administrator)."""
    authorize("identity:list_credentials", _cred_target(auth().user_id))
    records = credentials().list(request.args.get("user_id"), request.args.get("type"))
    return collection("credentials", [
        _credential(r) for r in records
        if _allowed("identity:get_credential", _cred_target(r["user_id"]))])


@blueprint.get("/v3/credentials/<credential_id>")
def show_credential(credential_id: str) -> Response:
    record = credentials().get(credential_id)
    authorize("identity:get_credential", _cred_target(record["user_id"]))
    return json_response({"credential": _credential(record)})


@blueprint.post("/v3/credentials")
@body_schema(schema.CREDENTIAL_CREATE)
def create_credential() -> Response:
    body = json_body()["credential"]
    authorize("identity:create_credential", _cred_target(body["user_id"]))
    return json_response({"credential": _credential(credentials().create(body))}, 201)


@blueprint.patch("/v3/credentials/<credential_id>")
@body_schema(schema.CREDENTIAL_UPDATE)
def update_credential(credential_id: str) -> Response:
    store = credentials()
    authorize("identity:update_credential",
              _cred_target(store.get(credential_id)["user_id"]))
    record = store.update(credential_id, json_body()["credential"])
    return json_response({"credential": _credential(record)})


@blueprint.delete("/v3/credentials/<credential_id>")
def delete_credential(credential_id: str) -> Response:
    store = credentials()
    authorize("identity:delete_credential",
              _cred_target(store.get(credential_id)["user_id"]))
    store.delete(credential_id)
    return Response(status=204)


# -- OS-EC2 ----------------------------------------------------------------------------------
def _ec2(record: dict) -> dict:
    return linked(record, f"/v3/users/{record['user_id']}/credentials/OS-EC2/"
                          f"{record['access']}")


@blueprint.get("/v3/users/<user_id>/credentials/OS-EC2")
def list_ec2_credentials(user_id: str) -> Response:
    authorize("identity:ec2_list_credentials", {"user_id": user_id})
    return collection("credentials", [_ec2(r) for r in credentials().list_ec2(user_id)])


@blueprint.post("/v3/users/<user_id>/credentials/OS-EC2")
@body_schema(schema.EC2_CREATE)
def create_ec2_credential(user_id: str) -> Response:
    authorize("identity:ec2_create_credential", {"user_id": user_id})
    body = json_body()
    record = credentials().create_ec2(user_id, body.get("tenant_id") or body["project_id"])
    return json_response({"credential": _ec2(record)}, 201)


@blueprint.get("/v3/users/<user_id>/credentials/OS-EC2/<access>")
def show_ec2_credential(user_id: str, access: str) -> Response:
    authorize("identity:ec2_get_credential", _cred_target(user_id))
    store = credentials()
    return json_response({"credential": _ec2(store.ec2_view(store.get_ec2(user_id, access)))})


@blueprint.delete("/v3/users/<user_id>/credentials/OS-EC2/<access>")
def delete_ec2_credential(user_id: str, access: str) -> Response:
    authorize("identity:ec2_delete_credential", _cred_target(user_id))
    store = credentials()
    store.delete(store.get_ec2(user_id, access)["id"])
    return Response(status=204)


# -- application credentials -----------------------------------------------------------------
def _appcreds() -> ApplicationCredentials:
    return ApplicationCredentials(current_service().db)


def _app_cred(record: dict) -> dict:
    return linked(record, f"/v3/users/{record['user_id']}/application_credentials/"
                          f"{record['id']}")


def _via_app_cred() -> str | None:
    """The application credential the caller's token came from, if any."""
    return getattr(auth(), "app_cred_id", None)


@blueprint.get("/v3/users/<user_id>/application_credentials")
def list_application_credentials(user_id: str) -> Response:
    authorize("identity:list_application_credentials", {"user_id": user_id})
    records = _appcreds().list(user_id, request.args.get("name"))
    return collection("application_credentials", [_app_cred(r) for r in records])


@blueprint.get("/v3/users/<user_id>/application_credentials/<app_cred_id>")
def show_application_credential(user_id: str, app_cred_id: str) -> Response:
    authorize("identity:get_application_credential", {"user_id": user_id})
    return json_response({"application_credential":
                          _app_cred(_appcreds().get(user_id, app_cred_id))})


@blueprint.post("/v3/users/<user_id>/application_credentials")
@body_schema(schema.APPLICATION_CREDENTIAL_CREATE)
def create_application_credential(user_id: str) -> Response:
    """A credential on the caller's project with (a subset of) the caller's roles; the
    response alone shows its secret."""
    authorize("identity:create_application_credential", {"user_id": user_id})
    store = _appcreds()
    store.check_may_manage(_via_app_cred())
    ctx = auth()
    record = store.create(user_id, ctx.project_id, ctx.role_ids,
                          json_body()["application_credential"])
    return json_response({"application_credential": _app_cred(record)}, 201)


@blueprint.delete("/v3/users/<user_id>/application_credentials/<app_cred_id>")
def delete_application_credential(user_id: str, app_cred_id: str) -> Response:
    authorize("identity:delete_application_credential", {"user_id": user_id})
    store = _appcreds()
    store.check_may_manage(_via_app_cred())
    store.delete(user_id, app_cred_id)
    return Response(status=204)


# -- access rules ----------------------------------------------------------------------------
def _access_rule(user_id: str, record: dict) -> dict:
    return linked(record, f"/v3/users/{user_id}/access_rules/{record['id']}")


@blueprint.get("/v3/users/<user_id>/access_rules")
def list_access_rules(user_id: str) -> Response:
    authorize("identity:list_access_rules", {"target.user.id": user_id})
    return collection("access_rules", [_access_rule(user_id, r)
                                       for r in _appcreds().list_access_rules(user_id)])


@blueprint.get("/v3/users/<user_id>/access_rules/<rule_id>")
def show_access_rule(user_id: str, rule_id: str) -> Response:
    authorize("identity:get_access_rule", {"target.user.id": user_id})
    return json_response({"access_rule": _access_rule(
        user_id, _appcreds().get_access_rule(user_id, rule_id))})


@blueprint.delete("/v3/users/<user_id>/access_rules/<rule_id>")
def delete_access_rule(user_id: str, rule_id: str) -> Response:
    authorize("identity:delete_access_rule", {"target.user.id": user_id})
    _appcreds().delete_access_rule(user_id, rule_id)
    return Response(status=204)
