"""Fixtures of the image service tests (tests/conftest.py belongs to the whole suite).

A real state directory per test: the catalog (SQLite, migrated) and the Fernet key are built
once per session with identity bootstrapped (admin in ``admin``, ``alice`` member of
``demo``, ``bob`` member of ``other``, ``reader`` with only the reader role on ``demo``),
then copied for each test, so tests are isolated and fast (no scrypt or Alembic run per
test). ``images_env`` gives HTTP clients per user on the Flask test client of
``images.api.create_app``.

Import in a test module with ``from tests.images_fixtures import *  # noqa: F403``.
"""
from __future__ import annotations

import functools
import http.server
import itertools
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from images.api import create_app
from images.store import Store
from minicloud.config import Config
from minicloud.db import Database
from minicloud.identity.tokens import TokenProvider, ensure_key
from tests.templates import Template, build_template

__all__ = ["Env", "UserClient", "images_template", "images_env", "make_images_env",
           "http_files", "qemu_img", "err", "PATCH_TYPE"]

PATCH_TYPE = "application/openstack-images-v2.1-json-patch"


def err(resp, status: int, text: str) -> None:
    """The status code, and ``text`` in the message of the one-key JSON error body."""
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True))
    body = resp.json
    assert isinstance(body, dict) and len(body) == 1, body
    detail = next(iter(body.values()))
    assert detail["code"] == status
    assert text.lower() in detail["message"].lower(), detail["message"]


@pytest.fixture(scope="session")
def images_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return build_template(tmp_path_factory, "images")


class UserClient:
    """The test client, authenticated as one user (``X-Auth-Token`` on every request)."""

    def __init__(self, client: FlaskClient, token: str, project_id: str) -> None:
        self.client, self.token, self.project_id = client, token, project_id

    def _call(self, method: str, path: str, **kw: Any):
        headers = dict(kw.pop("headers", None) or {})
        headers.setdefault("X-Auth-Token", self.token)
        return self.client.open(path, method=method, headers=headers, **kw)

    def get(self, path: str, **kw: Any):
        return self._call("GET", path, **kw)

    def post(self, path: str, **kw: Any):
        return self._call("POST", path, **kw)

    def put(self, path: str, **kw: Any):
        return self._call("PUT", path, **kw)

    def delete(self, path: str, **kw: Any):
        return self._call("DELETE", path, **kw)

    def patch(self, path: str, ops: list | Any, content_type: str = PATCH_TYPE, **kw: Any):
        headers = {"Content-Type": content_type, **kw.pop("headers", {})}
        return self._call("PATCH", path, json=ops, headers=headers, **kw)

    # conveniences used everywhere
    def create(self, expect: int = 201, **body: Any) -> dict:
        resp = self.post("/v2/images", json=body)
        assert resp.status_code == expect, resp.json
        return resp.json

    def upload(self, image_id: str, data: bytes, **kw: Any):
        headers = {"Content-Type": "application/octet-stream", **kw.pop("headers", {})}
        return self.put(f"/v2/images/{image_id}/file", data=data, headers=headers, **kw)

    def show(self, image_id: str) -> dict:
        resp = self.get(f"/v2/images/{image_id}")
        assert resp.status_code == 200, resp.json
        return resp.json


@dataclass
class Env:
    app: Flask
    conf: Config
    db: Database
    state_dir: Path
    admin: UserClient
    alice: UserClient
    bob: UserClient
    anonymous: FlaskClient
    reader: UserClient | None = None  # only the reader role on alice's project (demo)

    @property
    def store_dir(self) -> Path:
        return self.state_dir / "images"

    def stored_files(self) -> list[str]:
        """Every file the stores hold (data, staging, temp files)."""
        return sorted(str(p.relative_to(self.store_dir)) for p in self.store_dir.rglob("*")
                      if p.is_file())

    def wait_imports(self, timeout: float = 30) -> None:
        assert self.app.extensions["images"].imports.wait(timeout), "imports still running"


def _build_env(template: Template, dest: Path, overrides: dict[str, Any],
               stores: dict[str, Store]) -> Env:
    state = dest / "state"
    shutil.copytree(template.state_dir, state)
    conf = Config.load(state, overrides=overrides, environ={})
    db = Database(conf.database_url)
    try:
        app = create_app(conf, db, **stores)
    except BaseException:
        db.dispose()
        raise
    tokens = TokenProvider(db, ensure_key(state))
    client = app.test_client()
    users = {name: UserClient(client, tokens.issue(*template.users[name]).token,
                              template.users[name][1]) for name in template.users}
    return Env(app, conf, db, state, users["admin"], users["alice"], users["bob"], client,
               users["reader"])


@pytest.fixture
def make_images_env(images_template: Template, tmp_path: Path
                    ) -> Iterator[Callable[..., Env]]:
    """``make_images_env(**{"image.max_image_size": 1024})``: an Env with config overrides;
    ``store=`` / ``staging=`` hand in other stores (fakes)."""
    envs: list[Env] = []
    counter = itertools.count()

    def make(store: Store | None = None, staging: Store | None = None,
             **overrides: Any) -> Env:
        stores = {k: v for k, v in (("store", store), ("staging", staging)) if v is not None}
        # The local HTTP server of `http_files` listens on a free port: allow any port
        # (tests of the import filter set their own).
        overrides = {"image.web_download_allowed_ports": "", **overrides}
        env = _build_env(images_template, tmp_path / f"env{next(counter)}", overrides, stores)
        envs.append(env)
        return env

    yield make
    for env in envs:
        env.app.extensions["images"].imports.wait(30)
        env.db.dispose()


@pytest.fixture
def images_env(make_images_env: Callable[..., Env]) -> Env:
    return make_images_env()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_files(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local HTTP server (127.0.0.1, free port) serving a directory: (base URL, dir)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="session")
def qemu_img() -> Callable[..., None]:
    """Run ``qemu-img ARGS`` (test corpus generation), failing the test on error."""
    binary = shutil.which("qemu-img")
    if binary is None:
        pytest.fail("qemu-img is missing: run `make setup` (qemu-utils)")

    def run(*args: str) -> None:
        proc = subprocess.run([binary, *args], capture_output=True, timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr.decode()

    return run
