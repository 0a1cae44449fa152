"""Barbican v1 HTTP API, secrets only: routes (parse, validate, call the service, serialize).

``GET /`` (300) and ``GET /v1`` (200) are the public version documents; every other route
needs a token and enforces its Barbican rule (``keymanager.policies``). Secret refs are full
URLs under this service's catalog endpoint. Errors have Barbican's flat shape,
``{"code", "title", "description"}`` (python-barbicanclient shows ``title: description``).

``GET /v1/secrets/{id}`` answers the metadata to ``Accept: application/json`` (or none, or
``*/*``) and the payload to any other ``Accept``, as Barbican; ``/payload`` always the payload.
"""
from __future__ import annotations

from flask import Flask, Response, request

from keymanager import policies, views
from keymanager.schema import SECRET_CREATE
from keymanager.sealing import Sealer, ensure_key
from keymanager.service import TEXT, NotAcceptable, SecretService
from minicloud.config import Config
from minicloud.db import Database
from minicloud.errors import RequestTooLarge
from minicloud.services import by_name
from minicloud.wsgi import auth, body_schema, json_body, json_response, public
from minicloud.wsgi import create_app as base_app

DEFAULT_LIMIT, MAX_LIMIT = 10, 100
_JSON_ACCEPTS = ("", "*/*", "application/json")


def _int_arg(name: str, default: int) -> int:
    """Barbican's paging: a missing, malformed or negative value is the default."""
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else default


def _wants_json() -> bool:
    accept = request.headers.get("Accept", "").split(",", 1)[0].split(";", 1)[0].strip()
    return accept.lower() in _JSON_ACCEPTS


def _payload_response(payload: bytes, content_type: str) -> Response:
    """The payload; an ``Accept`` naming another type is 406, as Barbican (binary payloads
    are also served as ``application/octet-stream``)."""
    accept = request.headers.get("Accept", "").split(",", 1)[0].split(";", 1)[0]
    accept = accept.strip().lower()
    binary_alias = accept == "application/octet-stream" and content_type != TEXT
    if accept not in (*_JSON_ACCEPTS, content_type) and not binary_alias:
        raise NotAcceptable(f"Wrong payload content-type: the secret's is {content_type}.")
    mimetype = "text/plain; charset=utf-8" if content_type == TEXT else content_type
    return Response(payload, 200, content_type=mimetype)


def create_app(conf: Config, db: Database | None = None) -> Flask:
    """The key manager's WSGI app (the sealing key is created on first start)."""
    app = base_app("key_manager", conf, db, policies.RULES, error_style="barbican")
    core = app.extensions["minicloud"]
    secrets = SecretService(core.db, core.policy, Sealer(ensure_key(conf.state_dir)))
    app.extensions["keymanager"] = secrets
    base = by_name("key_manager").base_url(conf)

    @app.get("/")
    @public
    def versions() -> Response:
        return json_response(views.versions_json(base), 300)

    @app.get("/v1")
    @app.get("/v1/")
    @public
    def version() -> Response:
        return json_response({"version": views.version_json(base)})

    @app.post("/v1/secrets")
    @app.post("/v1/secrets/")
    @body_schema(SECRET_CREATE)
    def create_secret() -> Response:
        record = secrets.create(auth(), json_body(dict))
        ref = views.secret_ref(base, record.id)
        return json_response({"secret_ref": ref}, 201, {"Location": ref})

    @app.get("/v1/secrets")
    @app.get("/v1/secrets/")
    def list_secrets() -> Response:
        offset = _int_arg("offset", 0)
        limit = min(_int_arg("limit", DEFAULT_LIMIT), MAX_LIMIT)
        records, total = secrets.list(auth(), offset, limit, request.args.get("name"))
        body: dict = {"secrets": [views.secret_json(r, base) for r in records],
                      "total": total}
        href = f"{base}/v1/secrets?limit={limit}&offset="
        if offset + limit < total:
            body["next"] = f"{href}{offset + limit}"
        if offset > 0:
            body["previous"] = f"{href}{max(offset - limit, 0)}"
        return json_response(body)

    @app.get("/v1/secrets/<secret_id>")
    def show_secret(secret_id: str) -> Response:
        if _wants_json():
            return json_response(views.secret_json(secrets.get(auth(), secret_id), base))
        return _payload_response(*secrets.payload(auth(), secret_id))

    @app.get("/v1/secrets/<secret_id>/payload")
    @app.get("/v1/secrets/<secret_id>/payload/")
    def secret_payload(secret_id: str) -> Response:
        return _payload_response(*secrets.payload(auth(), secret_id))

    @app.put("/v1/secrets/<secret_id>")
    def put_secret(secret_id: str) -> Response:
        # The body is the payload itself, typed by Content-Type (not JSON).
        limit = core.conf.DEFAULT.max_request_body_size
        data = request.stream.read(limit + 1)
        if len(data) > limit:
            raise RequestTooLarge("Could not add secret data as it was too large")
        secrets.put_payload(auth(), secret_id, data, request.headers.get("Content-Type"),
                            request.headers.get("Content-Encoding"))
        return Response(status=204)

    @app.delete("/v1/secrets/<secret_id>")
    def delete_secret(secret_id: str) -> Response:
        secrets.delete(auth(), secret_id)
        return Response(status=204)

    return app
