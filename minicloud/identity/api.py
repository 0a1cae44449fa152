"""Keystone v3 HTTP API: discovery, tokens, and the admin calls the CLI needs."""
from __future__ import annotations

from flask import Flask, Response, request

from minicloud import services
from minicloud.config import Config
from minicloud.db import Database
from minicloud.errors import BadRequest, Forbidden, NotFound, Unauthorized
from minicloud.identity.service import IdentityService
from minicloud.identity.tokens import AuthContext
from minicloud.wsgi import auth, current_service, json_body, json_response, public
from minicloud.wsgi import create_app as base_app

POLICY = {
    "admin_required": "role:admin",
    "identity:admin": "rule:admin_required",
}


def _version(base: str) -> dict:
    return {"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": f"{base}/v3/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.identity-v3+json"}]}


def _iso(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def token_body(ctx: AuthContext, conf: Config, methods: list[str] | None = None) -> dict:
    domain = {"id": ctx.domain_id, "name": "Default"}
    return {"token": {
        "methods": methods or ["password"], "audit_ids": [ctx.audit_id],
        "expires_at": _iso(ctx.expires_at), "issued_at": _iso(ctx.issued_at),
        "user": {"id": ctx.user_id, "name": ctx.user_name, "domain": domain},
        "project": {"id": ctx.project_id, "name": ctx.project_name, "domain": domain},
        "roles": [{"id": name, "name": name} for name in ctx.roles],
        "catalog": services.catalog(conf, ctx.project_id),
    }}


def _project(p) -> dict:
    return {"id": p.id, "name": p.name, "domain_id": p.domain_id, "enabled": p.enabled,
            "description": p.description, "is_domain": False, "parent_id": p.domain_id,
            "links": {"self": f"/v3/projects/{p.id}"}}


def _user(u) -> dict:
    return {"id": u.id, "name": u.name, "domain_id": u.domain_id, "enabled": u.enabled,
            "default_project_id": u.default_project_id, "links": {"self": f"/v3/users/{u.id}"}}


def _admin() -> None:
    svc = current_service()
    svc.policy.enforce("identity:admin", auth().credentials(), {})


def create_app(conf: Config, db: Database | None = None) -> Flask:
    app = base_app("identity", conf, db, POLICY, error_style="keystone")
    identity = IdentityService(app.extensions["minicloud"].db)
    tokens = app.extensions["minicloud"].tokens

    def base() -> str:
        return request.host_url.rstrip("/")

    @app.get("/")
    @public
    def versions() -> Response:
        return json_response({"versions": {"values": [_version(base())]}}, 300)

    @app.get("/v3")
    @app.get("/v3/")
    @public
    def version() -> Response:
        return json_response({"version": _version(base())})

    @app.post("/v3/auth/tokens")
    @public
    def issue_token() -> Response:
        method, ref, scope = identity.auth_request(json_body())
        if method == "password":
            user_ref = ref.get("user")
            if not isinstance(user_ref, dict):
                raise BadRequest("Expecting auth.identity.password.user with a password.")
            ctx = tokens.issue(*identity.authenticate(user_ref, scope))
        else:  # rescoping a token: same user, same expiry (as Keystone)
            try:
                parent = tokens.validate(str(ref.get("id") or ""))
            except Unauthorized as exc:
                raise Unauthorized(f"The token to rescope is not valid: {exc.message}") \
                    from None
            project_id = identity.rescope(parent.user_id, scope, parent.project_id)
            ctx = tokens.issue(parent.user_id, project_id, expires=parent.expires_at)
        return json_response(token_body(ctx, conf, [method]), 201,
                             {"X-Subject-Token": ctx.token})

    def subject_token() -> AuthContext:
        """The ``X-Subject-Token``: the caller's own token, or any token for an admin; an
        invalid one is "not found", as in Keystone."""
        subject = request.headers.get("X-Subject-Token", "")
        if not subject:
            raise NotFound("X-Subject-Token header is required.")
        if subject != auth().token and not auth().is_admin:
            raise Forbidden("Only admins validate or revoke other users' tokens.")
        try:
            return tokens.validate(subject)
        except Unauthorized as exc:
            raise NotFound(f"The token is not valid: {exc.message}") from exc

    @app.route("/v3/auth/tokens", methods=["GET", "HEAD"])
    def validate_token() -> Response:
        ctx = subject_token()
        return json_response(token_body(ctx, conf), 200, {"X-Subject-Token": ctx.token})

    @app.delete("/v3/auth/tokens")
    def revoke_token() -> Response:
        """Revoke a token (``openstack token revoke``): one's own, or any as an admin."""
        tokens.revoke(subject_token())
        return Response(status=204)

    @app.get("/v3/auth/catalog")
    def get_catalog() -> Response:
        return json_response({"catalog": services.catalog(conf, auth().project_id),
                              "links": {"self": f"{base()}/v3/auth/catalog"}})

    @app.get("/v3/projects")
    def list_projects() -> Response:
        _admin()
        rows = identity.list_projects()
        name = request.args.get("name")
        return json_response({"projects": [_project(p) for p in rows
                                           if name is None or p.name == name],
                              "links": {"self": f"{base()}/v3/projects", "next": None}})

    @app.get("/v3/projects/<project_id>")
    def show_project(project_id: str) -> Response:
        _admin()
        return json_response({"project": _project(identity.get_project(project_id))})

    @app.post("/v3/projects")
    def create_project() -> Response:
        _admin()
        body = json_body().get("project")
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            raise BadRequest("Expecting a project object with a name.")
        p = identity.create_project(body["name"], str(body.get("description") or ""))
        return json_response({"project": _project(p)}, 201)

    @app.get("/v3/users")
    def list_users() -> Response:
        _admin()
        name = request.args.get("name")
        return json_response({"users": [_user(u) for u in identity.list_users()
                                        if name is None or u.name == name],
                              "links": {"self": f"{base()}/v3/users", "next": None}})

    @app.get("/v3/users/<user_id>")
    def show_user(user_id: str) -> Response:
        _admin()
        return json_response({"user": _user(identity.get_user(user_id))})

    @app.post("/v3/users")
    def create_user() -> Response:
        _admin()
        body = json_body().get("user")
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            raise BadRequest("Expecting a user object with a name and a password.")
        u = identity.create_user(body["name"], body.get("password"),
                                 body.get("default_project_id"))
        return json_response({"user": _user(u)}, 201)

    @app.get("/v3/roles")
    def list_roles() -> Response:
        _admin()
        return json_response({"roles": [{"id": r.id, "name": r.name}
                                        for r in identity.list_roles()],
                              "links": {"self": f"{base()}/v3/roles", "next": None}})

    @app.put("/v3/projects/<project_id>/users/<user_id>/roles/<role_id>")
    def assign_role(project_id: str, user_id: str, role_id: str) -> Response:
        _admin()
        identity.assign_role(user_id, project_id, role_id)
        return Response(status=204)

    return app

