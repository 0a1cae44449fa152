"""Fixtures of the identity tests: a bootstrapped catalog copied per test, clients per user.

The template (built once per session: Alembic and scrypt are slow) holds the bootstrap
(``admin`` with admin on ``admin`` and on the system), ``alice`` (member of ``demo``),
``bob`` (member of ``other``) and ``reader`` (reader of ``demo``), each with the password
``<name>-pw``, and the catalog registered. ``identity_env`` gives one client per user on the
Flask test client of ``minicloud.identity.api.create_app``, holding a project-scoped token.

Import in a test module with ``from tests.identity_fixtures import *  # noqa: F403``.
"""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from minicloud.config import Config
from minicloud.db import Database
from minicloud.identity.api import create_app
from minicloud.identity.catalog import register_cloud
from minicloud.identity.service import IdentityService
from minicloud.identity.tokens import TokenProvider, ensure_key
from tests.templates import Template, build_template

__all__ = ["IdentityEnv", "Client", "identity_template", "identity_env", "err", "auth_body"]



def err(resp, status: int, text: str = "") -> None:
    """The status code, and Keystone's error body carrying ``text`` in its message."""
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True))
    if resp.request.method == "HEAD":
        return
    detail = resp.json["error"]
    assert detail["code"] == status and detail["title"], detail
    assert text.lower() in detail["message"].lower(), detail["message"]


def auth_body(user: str, password: str, scope: dict | str | None = None,
              by_id: bool = False) -> dict:
    ref = {"id": user} if by_id else {"name": user, "domain": {"id": "default"}}
    body: dict = {"auth": {"identity": {"methods": ["password"],
                                        "password": {"user": {**ref, "password": password}}}}}
    if scope is not None:
        body["auth"]["scope"] = scope
    return body


@pytest.fixture(scope="session")
def identity_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return build_template(tmp_path_factory, "identity", register_cloud)


class Client:
    """The test client, authenticated as one user (``X-Auth-Token`` on every request)."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client, self.token = client, token

    def call(self, method: str, path: str, **kw: Any):
        headers = dict(kw.pop("headers", None) or {})
        headers.setdefault("X-Auth-Token", self.token)
        return self.client.open(path, method=method, headers=headers, **kw)

    def get(self, path: str, **kw: Any):
        return self.call("GET", path, **kw)

    def head(self, path: str, **kw: Any):
        return self.call("HEAD", path, **kw)

    def post(self, path: str, **kw: Any):
        return self.call("POST", path, **kw)

    def put(self, path: str, **kw: Any):
        return self.call("PUT", path, **kw)

    def patch(self, path: str, **kw: Any):
        return self.call("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any):
        return self.call("DELETE", path, **kw)

    def ok(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        """The JSON body of a call that must answer ``status``."""
        resp = self.call(method, path, **kw)
        assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True))
        return resp.json if resp.data else None


@dataclass
class IdentityEnv:
    app: Flask
    db: Database
    ident: IdentityService
    tokens: TokenProvider
    ids: dict[str, str]
    user_ids: dict[str, str]
    anonymous: FlaskClient
    admin: Client
    alice: Client
    bob: Client
    reader: Client

    def role_id(self, name: str) -> str:
        return self.ident.assignments.role_by_name(name).id

    def login(self, user: str, password: str, scope: dict | str | None = None,
              by_id: bool = False) -> tuple[str, dict]:
        resp = self.anonymous.post("/v3/auth/tokens",
                                   json=auth_body(user, password, scope, by_id))
        assert resp.status_code == 201, resp.get_data(as_text=True)
        return resp.headers["X-Subject-Token"], resp.json["token"]

    def client_for(self, token: str) -> Client:
        return Client(self.anonymous, token)


@pytest.fixture
def identity_env(identity_template: Template, tmp_path: Path) -> Iterator[IdentityEnv]:
    state = tmp_path / "state"
    shutil.copytree(identity_template.state_dir, state)
    conf = Config.load(state, environ={})
    db = Database(conf.database_url)
    app = create_app(conf, db)
    tokens = TokenProvider(db, ensure_key(state))
    users = identity_template.users
    user_ids = {name: user_id for name, (user_id, _) in users.items()}
    ids = {"admin": users["admin"][1], "demo": users["alice"][1], "other": users["bob"][1]}
    anonymous = app.test_client()
    clients = {name: Client(anonymous, tokens.issue(*users[name]).token) for name in users}
    yield IdentityEnv(app, db, IdentityService(db), tokens, ids, user_ids, anonymous,
                      **clients)
    db.dispose()
