"""Keystone v3 HTTP API: version discovery, and one blueprint per resource family.

* :mod:`~minicloud.identity.auth_api`: ``/v3/auth/tokens``, ``/v3/auth/catalog``,
  ``/v3/auth/projects``, ``/v3/auth/domains``, ``/v3/auth/system``;
* :mod:`~minicloud.identity.resource_api`: ``/v3/domains``, ``/v3/projects`` and their tags;
* :mod:`~minicloud.identity.domain_config`: ``/v3/domains/{id}/config`` (stored, not applied);
* :mod:`~minicloud.identity.users_api`: ``/v3/users``, ``/v3/groups``, group membership;
* :mod:`~minicloud.identity.roles_api`: ``/v3/roles``, implied roles, grants on projects,
  domains and the system, ``/v3/role_assignments``;
* :mod:`~minicloud.identity.catalog_api`: regions, services, endpoints, policies, OAuth
  consumers, credentials, application credentials (the catalog engineer's).

Policy defaults: :data:`minicloud.identity.policies.RULES`.
"""
from __future__ import annotations

from flask import Flask, Response, request

from minicloud.config import Config
from minicloud.db import Database
from minicloud.identity import (
    auth_api,
    catalog_api,
    credentials_api,
    domain_config,
    resource_api,
    roles_api,
    users_api,
)
from minicloud.identity.assignments import AssignmentService
from minicloud.identity.auth import AuthDeps
from minicloud.identity.context import Identity
from minicloud.identity.policies import RULES
from minicloud.identity.resource import ResourceService
from minicloud.identity.users import UserService
from minicloud.wsgi import create_app as base_app
from minicloud.wsgi import json_response, public


def _version(base: str) -> dict:
    return {"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": f"{base}/v3/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.identity-v3+json"}]}


def create_app(conf: Config, db: Database | None = None) -> Flask:
    app = base_app("identity", conf, db, RULES, error_style="keystone")
    svc = app.extensions["minicloud"]
    users = UserService(svc.db)
    app.extensions["identity"] = Identity(
        conf, ResourceService(svc.db), users, AssignmentService(svc.db),
        AuthDeps(svc.db, svc.tokens, users))

    @app.get("/")
    @public
    def versions() -> Response:
        base = request.host_url.rstrip("/")
        return json_response({"versions": {"values": [_version(base)]}}, 300)

    @app.get("/v3")
    @app.get("/v3/")
    @public
    def version() -> Response:
        return json_response({"version": _version(request.host_url.rstrip("/"))})

    app.register_blueprint(auth_api.blueprint)
    app.register_blueprint(resource_api.blueprint)
    app.register_blueprint(domain_config.blueprint)
    app.register_blueprint(users_api.blueprint)
    app.register_blueprint(roles_api.blueprint)
    app.register_blueprint(catalog_api.blueprint)
    app.register_blueprint(credentials_api.blueprint)
    return app
