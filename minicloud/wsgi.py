"""WSGI plumbing shared by every API service: the app factory, authentication, errors, JSON.

Each service builds its Flask app with :func:`create_app` and registers its routes. Every route
requires a valid ``X-Auth-Token`` unless it is marked :func:`public` (version discovery and the
health check). Every error leaves through one handler in OpenStack's JSON error shape.

Every response carries ``x-openstack-request-id`` (``req-<uuid>``, new for each request; Nova
adds ``x-compute-request-id``), and every log line of the request names it. A caller may send
its own id as ``X-OpenStack-Request-ID`` (services do when they call each other): it is kept as
the request's *global* id and logged next to the local one, so one user action can be followed
through every service's log. JSON bodies are read only up to ``[DEFAULT]
max_request_body_size`` (413 beyond), parsed safely and checked against the route's JSON
schema before the handler runs (:mod:`minicloud.validation`).
"""
from __future__ import annotations

import functools
import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from werkzeug.exceptions import HTTPException

from minicloud import errors
from minicloud.client import GLOBAL_REQUEST_ID
from minicloud.config import Config
from minicloud.db import Database
from minicloud.identity.tokens import AuthContext, TokenProvider, ensure_key
from minicloud.policy import Enforcer, RuleDefault
from minicloud.validation import parse_json, validate

LOG = logging.getLogger(__name__)
REQUEST_ID_HEADER = "x-openstack-request-id"
_REQUEST_ID = re.compile(r"req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")

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
    if style == "barbican":  # Barbican's flat shape (python-barbicanclient reads it)
        return {"code": exc.status, "title": exc.title, "description": exc.message}
    return exc.to_dict()


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {},
                    mimetype="application/json")


def request_id() -> str | None:
    """The current request's own id (``req-<uuid>``), or None outside a request."""
    return g.get("request_id") if has_request_context() else None


def global_request_id() -> str | None:
    """The id to pass on to other services: the caller's global id, else this request's."""
    if not has_request_context():
        return None
    return g.get("global_request_id") or g.get("request_id")


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (``-`` outside a request) to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        rid, gid = request_id(), global_request_id()
        record.request_id = (rid if gid in (None, rid) else f"{rid} {gid}") or "-"
        return True


LOG_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s [%(request_id)s] %(message)s"


def _read_body() -> bytes:
    limit = current_service().conf.DEFAULT.max_request_body_size
    if request.content_length is not None and request.content_length > limit:
        raise errors.RequestTooLarge(f"Request body is larger than {limit} bytes.")
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        raise errors.RequestTooLarge(f"Request body is larger than {limit} bytes.")
    return data


def json_body(kind: type = dict, schema: dict | None = None) -> Any:
    """The request's JSON body, which must be of type ``kind`` and, when given, conform to
    ``schema``; else 400 (413 when larger than ``[DEFAULT] max_request_body_size``)."""
    if "json_body" not in g:
        data = _read_body()
        g.json_body = parse_json(data) if data else None
    body = g.json_body
    if not isinstance(body, kind):
        raise errors.BadRequest(
            f"Malformed request body: expected a JSON {'object' if kind is dict else 'array'}.")
    if schema is not None:
        validate(body, schema)
    return body


def body_schema(schema: dict, kind: type = dict, min_minor: int = 0,
                max_minor: int | None = None, fallback: bool = True) -> Callable:
    """Validate the view's JSON body against ``schema`` before the view runs (the view then
    reads it with :func:`json_body`). Stack several for schemas that change with the
    microversion: each applies when the negotiated minor version (``g.mv``) is within
    ``[min_minor, max_minor]``; outside all of them the body must still be JSON of
    ``kind``, unless ``fallback`` is off (a route that does not exist there: its view
    answers that first, e.g. Nova's proxies' 404 from 2.36). The schemas stay on the view
    as ``minicloud_schemas`` (tests generate bodies from them)."""
    def decorate(view: Callable) -> Callable:
        inner = getattr(view, "__wrapped__", view)
        schemas = getattr(view, "minicloud_schemas", [])
        entry = (schema, kind, min_minor, max_minor)

        @functools.wraps(inner)
        def checked(*args: Any, **kwargs: Any) -> Any:
            mv = g.get("mv")
            minor = mv.minor if mv is not None else 0
            for body_schema_, body_kind, low, high in checked.minicloud_schemas:
                if low <= minor and (high is None or minor <= high):
                    json_body(body_kind, body_schema_)
                    break
            else:
                if fallback:
                    json_body(kind)
            return inner(*args, **kwargs)

        checked.minicloud_schemas = [entry, *schemas]  # type: ignore[attr-defined]
        for attr in ("minicloud_public",):
            if hasattr(view, attr):
                setattr(checked, attr, getattr(view, attr))
        return checked
    return decorate


def authorize(rule: str, target: dict | None = None) -> None:
    """Enforce policy ``rule`` for the caller; the target defaults to the caller's project."""
    ctx = auth()
    current_service().policy.enforce(rule, ctx.credentials(),
                                      target if target is not None
                                      else {"project_id": ctx.project_id,
                                            "user_id": ctx.user_id})


def create_app(name: str, conf: Config, db: Database | None = None,
               policy_defaults: Sequence[RuleDefault] | Mapping[str, str] | None = None,
               error_style: str = "openstack",
               request_id_headers: tuple[str, ...] = (REQUEST_ID_HEADER,)) -> Flask:
    """A Flask app with request ids, authentication, the error handler and
    ``/healthcheck``; ``request_id_headers`` name the response headers carrying the id."""
    app = Flask(name)
    app.config["MAX_CONTENT_LENGTH"] = None
    db = db or Database(conf.database_url, conf.database.busy_timeout)
    tokens = TokenProvider(db, ensure_key(conf.state_dir), conf.identity.token_expiration)
    enforcer = Enforcer(policy_defaults or {}, conf.path(conf.policy.file))
    app.extensions["minicloud"] = Service(name, conf, db, tokens, enforcer)

    @app.before_request
    def _request_id() -> None:
        g.request_id = f"req-{uuid.uuid4()}"
        inbound = request.headers.get("X-OpenStack-Request-ID", "")
        if _REQUEST_ID.match(inbound):
            g.global_request_id = inbound
        GLOBAL_REQUEST_ID.set(g.get("global_request_id") or g.request_id)

    @app.after_request
    def _add_request_id(response: Response) -> Response:
        for header in request_id_headers:
            response.headers[header] = g.get("request_id") or f"req-{uuid.uuid4()}"
        return response

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
