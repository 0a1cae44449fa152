"""``/v3/auth/*``: tokens (issue, validate, check, revoke), the caller's catalog, and the
projects, domains and system the caller may scope to."""
from __future__ import annotations

from flask import Blueprint, Response, request

from minicloud.errors import NotFound, Unauthorized
from minicloud.identity import views
from minicloud.identity.auth import issue_token
from minicloud.identity.catalog import build_catalog
from minicloud.identity.context import enforce, identity
from minicloud.identity.resource import ProjectQuery
from minicloud.identity.schema import AUTH
from minicloud.identity.tokens import AuthContext
from minicloud.wsgi import auth, body_schema, current_service, json_body, json_response, public

blueprint = Blueprint("identity_auth", __name__)


def catalog_for(ctx: AuthContext) -> list[dict] | None:
    """The catalog a token shows (None for an unscoped token or with ``?nocatalog``)."""
    if not ctx.scoped or "nocatalog" in request.args:
        return None
    return build_catalog(current_service().db, ctx.project_id, ctx.user_id)


@blueprint.post("/v3/auth/tokens")
@public
@body_schema(AUTH)
def issue() -> Response:
    ctx = issue_token(identity().auth, json_body())
    return json_response(views.token(ctx, catalog_for(ctx)), 201,
                         {"X-Subject-Token": ctx.token})


def subject_token(rule: str) -> AuthContext:
    """The ``X-Subject-Token``, once ``identity:<rule>`` allows the caller on it (its own
    tokens, compared by user, or any for an admin); an invalid one is "not found" to
    everyone, as in Keystone."""
    subject = request.headers.get("X-Subject-Token", "")
    if not subject:
        raise NotFound("X-Subject-Token header is required.")
    try:
        ctx = current_service().tokens.validate(subject)
    except Unauthorized as exc:
        raise NotFound(f"The token is not valid: {exc.message}") from exc
    enforce(rule, token={"user_id": ctx.user_id})
    return ctx


@blueprint.get("/v3/auth/tokens")
def validate() -> Response:
    ctx = subject_token("check_token" if request.method == "HEAD" else "validate_token")
    return json_response(views.token(ctx, catalog_for(ctx)), 200,
                         {"X-Subject-Token": ctx.token})


@blueprint.delete("/v3/auth/tokens")
def revoke() -> Response:
    """Revoke a token (``openstack token revoke``): one's own, or any as an admin."""
    current_service().tokens.revoke(subject_token("revoke_token"))
    return Response(status=204)


@blueprint.get("/v3/auth/catalog")
def get_catalog() -> Response:
    enforce("get_auth_catalog")
    ctx = auth()
    if not ctx.scoped:
        raise Unauthorized("A scoped token is required to get a catalog.")
    return json_response({"catalog": catalog_for(ctx) or [],
                          "links": {"self": f"{views.base()}/auth/catalog"}})


@blueprint.get("/v3/auth/projects")
def auth_projects() -> Response:
    """The enabled projects the caller holds a role on."""
    enforce("get_auth_projects")
    ids = identity().assignments.scope_targets(auth().user_id, "Project")
    rows = identity().resource.list_projects(ProjectQuery(enabled=True), ids=ids)
    return json_response(views.collection("projects", [views.project(p) for p in rows],
                                          "auth/projects"))


@blueprint.get("/v3/auth/domains")
def auth_domains() -> Response:
    """The enabled domains the caller holds a role on."""
    enforce("get_auth_domains")
    ids = identity().assignments.scope_targets(auth().user_id, "Domain")
    rows = identity().resource.list_domains(enabled=True, ids=ids)
    return json_response(views.collection("domains", [views.domain(d) for d in rows],
                                          "auth/domains"))


@blueprint.get("/v3/auth/system")
def auth_system() -> Response:
    """``[{"all": true}]`` when the caller holds a role on the system."""
    enforce("get_auth_system")
    held = identity().assignments.scope_targets(auth().user_id, "System")
    return json_response({"system": [{"all": True}] if held else [],
                          "links": {"self": f"{views.base()}/auth/system"}})
