"""WSGI plumbing shared by every API service: the app factory, authentication, errors, JSON.

Each service builds its Flask app with :func:`create_app` and registers its routes. Every route
requires a valid ``X-Auth-Token`` unless it is marked :func:`public` (version discovery and the
health check). Every error leaves through one handler in OpenStack's JSON error shape.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from minicloud import errors
from minicloud.config import Config
from minicloud.db import Database
from minicloud.identity.tokens import AuthContext, TokenProvider, ensure_key
from minicloud.policy import Enforcer

LOG = logging.getLogger(__name__)

_BY_STATUS = {cls.status: cls for cls in (
    errors.BadRequest, errors.Unauthorized, errors.Forbidden, errors.NotFound,
    errors.MethodNotAllowed, errors.Conflict, errors.RequestTooLarge,
    errors.UnsupportedMediaType, errors.RangeNotSatisfiable, errors.ServiceUnavailable)}


@dataclass
class Service:
    """What a service's views need, handed in once (fakes are easy to hand in instead)."""

    name: str
    conf: Config
    db: Database
    tokens: TokenProvider
    policy: Enforcer


def public(view: Callable) -> Callable:
    """Mark a view as reachable without a token."""
    view.minicloud_public = True  # type: ignore[attr-defined]
    return view


def current_service() -> Service:
    from flask import current_app

    return current_app.extensions["minicloud"]


def auth() -> AuthContext:
    """The validated caller of the current request."""
    return g.auth


def error_body(exc: errors.MinicloudError, style: str) -> dict:
    if style == "keystone":
        return {"error": {"code": exc.status, "title": exc.title, "message": exc.message}}
    return exc.to_dict()


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {},
                    mimetype="application/json")


def json_body(kind: type = dict) -> Any:
    """The request's JSON body, which must be of type ``kind``; else 400."""
    data = request.get_data(cache=True)
    try:
        body = json.loads(data) if data else None
    except (ValueError, UnicodeDecodeError):
        raise errors.BadRequest("Malformed request body: not valid JSON.") from None
    if not isinstance(body, kind):
        raise errors.BadRequest(
            f"Malformed request body: expected a JSON {'object' if kind is dict else 'array'}.")
    return body


def create_app(name: str, conf: Config, db: Database | None = None,
               policy_defaults: dict[str, str] | None = None,
               error_style: str = "openstack") -> Flask:
    """A Flask app with authentication, the error handler and ``/healthcheck``."""
    app = Flask(name)
    app.config["MAX_CONTENT_LENGTH"] = None
    db = db or Database(conf.database_url, conf.database.busy_timeout)
    tokens = TokenProvider(db, ensure_key(conf.state_dir), conf.identity.token_expiration)
    enforcer = Enforcer(policy_defaults or {}, conf.path(conf.policy.file))
    app.extensions["minicloud"] = Service(name, conf, db, tokens, enforcer)

    @app.before_request
    def _authenticate() -> None:
        view = app.view_functions.get(request.endpoint or "")
        if view is None or getattr(view, "minicloud_public", False):
            return
        token = request.headers.get("X-Auth-Token")
        if not token:
            raise errors.Unauthorized("The request you have made requires authentication.")
        g.auth = tokens.validate(token)

    @app.errorhandler(errors.MinicloudError)
    def _minicloud_error(exc: errors.MinicloudError) -> Response:
        if exc.status >= 500:
            LOG.error("%s: %s", type(exc).__name__, exc.message)
            if isinstance(exc, (errors.CommandFailed, errors.ConfigError)):
                exc = errors.MinicloudError("An internal error occurred; see the service log.")
        return json_response(error_body(exc, error_style), exc.status)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        cls = _BY_STATUS.get(exc.code or 500, errors.MinicloudError)
        message = exc.description or ""
        if exc.code == 404:
            message = "The resource could not be found."
        return _minicloud_error(cls(message))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        LOG.exception("unexpected error")
        return json_response(
            error_body(errors.MinicloudError("An unexpected error occurred."), error_style), 500)

    @app.get("/healthcheck")
    @public
    def _healthcheck() -> Response:
        return Response("OK", mimetype="text/plain")

    return app
