"""Fixtures of the catalog and credential tests (identity): a real catalog per test.

The state directory (migrated SQLite catalog, Fernet key, the cloud's own services and
endpoints registered as ``minicloud up`` does) is built once per session with identity
bootstrapped: ``admin`` (admin project), ``alice`` (member of ``demo``), ``reader`` (reader
on ``demo``), ``bob`` (member of ``other``); each test gets a copy and the identity app on
Flask's test client, with one authenticated client per user.

Import in a test module with ``from tests.identity_catalog_fixtures import *  # noqa: F403``.
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
from minicloud.identity.tokens import TokenProvider, ensure_key
from tests.templates import Template, build_template

__all__ = ["CatalogEnv", "Caller", "catalog_template", "catalog_env", "err", "make_resources"]

def err(resp, status: int, text: str = "") -> None:
    """The status code and Keystone's error body (``{"error": {code, title, message}}``)
    whose message holds ``text``."""
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True))
    if resp.request.method == "HEAD":
        return
    detail = resp.json["error"]
    assert detail["code"] == status and detail["title"]
    assert text.lower() in detail["message"].lower(), detail["message"]


@pytest.fixture(scope="session")
def catalog_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return build_template(tmp_path_factory, "catalog", register_cloud)


class Caller:
    """The test client as one user (``X-Auth-Token`` on every request)."""

    def __init__(self, client: FlaskClient, token: str, user_id: str, project_id: str
                 ) -> None:
        self.client, self.token = client, token
        self.user_id, self.project_id = user_id, project_id

    def call(self, method: str, path: str, **kw: Any):
        headers = {"X-Auth-Token": self.token, **kw.pop("headers", {})}
        return self.client.open(path, method=method, headers=headers, **kw)

    def get(self, path: str, **kw: Any):
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any):
        return self.call("POST", path, json=body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any):
        return self.call("PATCH", path, json=body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any):
        return self.call("PUT", path, json=body, **kw)

    def delete(self, path: str, **kw: Any):
        return self.call("DELETE", path, **kw)

    def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        """The JSON body of a request that must answer ``status``."""
        resp = self.call(method, path, **({"json": body} if body is not None else {}))
        assert resp.status_code == status, (method, path, resp.status_code,
                                            resp.get_data(as_text=True))
        return resp.json if resp.data else None


@dataclass
class CatalogEnv:
    app: Flask
    conf: Config
    db: Database
    state_dir: Path
    client: FlaskClient
    tokens: TokenProvider
    users: dict[str, tuple[str, str]]
    admin: Caller
    alice: Caller
    reader: Caller
    bob: Caller

    def caller(self, token: str, user_id: str, project_id: str) -> Caller:
        return Caller(self.client, token, user_id, project_id)


@pytest.fixture
def catalog_env(catalog_template: Template, tmp_path: Path) -> Iterator[CatalogEnv]:
    state = tmp_path / "state"
    shutil.copytree(catalog_template.state_dir, state)
    conf = Config.load(state, environ={})
    db = Database(conf.database_url)
    app = create_app(conf, db)
    client = app.test_client()
    tokens = TokenProvider(db, ensure_key(state))
    callers = {name: Caller(client, tokens.issue(user_id, project_id).token, user_id,
                            project_id)
               for name, (user_id, project_id) in catalog_template.users.items()}
    yield CatalogEnv(app, conf, db, state, client, tokens, catalog_template.users, **callers)
    db.dispose()


def make_resources(env: CatalogEnv) -> dict[str, str]:
    """One of each resource: the catalog's made by the admin, the owned ones by alice."""
    admin, alice = env.admin, env.alice
    service = admin.ok("POST", "/v3/services", {"service": {"type": "t"}}, 201)["service"]["id"]
    names = {
        "alice": alice.user_id, "demo": alice.project_id, "service": service,
        "region": admin.ok("POST", "/v3/regions", {"region": {}}, 201)["region"]["id"],
        "endpoint": admin.ok("POST", "/v3/endpoints", {"endpoint": {
            "service_id": service, "interface": "public", "url": "http://t"}},
            201)["endpoint"]["id"],
        "group": admin.ok("POST", "/v3/OS-EP-FILTER/endpoint_groups", {"endpoint_group": {
            "name": "g", "filters": {"service_id": service}}}, 201)["endpoint_group"]["id"],
        "policy": admin.ok("POST", "/v3/policies", {"policy": {"blob": "b", "type": "t"}},
                           201)["policy"]["id"],
        "consumer": admin.ok("POST", "/v3/OS-OAUTH1/consumers", {"consumer": {}},
                             201)["consumer"]["id"],
        "credential": alice.ok("POST", "/v3/credentials", {"credential": {
            "user_id": alice.user_id, "type": "cert", "blob": "mine"}},
            201)["credential"]["id"],
        "access": alice.ok("POST", f"/v3/users/{alice.user_id}/credentials/OS-EC2",
                           {"tenant_id": alice.project_id}, 201)["credential"]["access"],
    }
    app_cred = alice.ok("POST", f"/v3/users/{alice.user_id}/application_credentials", {
        "application_credential": {"name": "mine", "access_rules": [
            {"service": "image", "method": "GET", "path": "/v2/images"}]}},
        201)["application_credential"]
    names.update(app_cred=app_cred["id"], access_rule=app_cred["access_rules"][0]["id"])
    return names
