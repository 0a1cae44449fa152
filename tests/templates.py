"""The state directory the in-process API tests start from, built once per session.

Alembic and scrypt are slow, so each fixture module builds its template once (a migrated
catalog, the bootstrap admin in project ``admin``, ``alice`` member and ``reader`` reader of
``demo``, ``bob`` member of ``other``, each with the password ``<name>-pw``, and the token
key) and every test copies it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from minicloud.config import Config
from minicloud.db import Database
from minicloud.identity.service import IdentityService
from minicloud.identity.tokens import ensure_key

#: name -> (project, role) of the users beside the admin
USERS = {"alice": ("demo", "member"), "reader": ("demo", "reader"), "bob": ("other", "member")}


@dataclass
class Template:
    state_dir: Path
    users: dict[str, tuple[str, str]]   # name -> (user_id, project_id)


def build_template(tmp_path_factory: pytest.TempPathFactory, name: str,
                   prepare: Callable[[Database, Config], None] | None = None) -> Template:
    """A fresh template state directory; ``prepare`` adds what one family of tests needs
    (a registered catalog...)."""
    state = tmp_path_factory.mktemp(f"{name}-template")
    conf = Config.load(state, environ={})
    db = Database(conf.database_url)
    db.upgrade()
    ident = IdentityService(db)
    ident.bootstrap("admin", "admin", "admin-pw")
    for project in ("demo", "other"):
        ident.create_project(project)
    for user, (project, role) in USERS.items():
        ident.create_user(user, f"{user}-pw", project, role)
    if prepare is not None:
        prepare(db, conf)
    projects = {"admin": "admin", **{user: project for user, (project, _) in USERS.items()}}
    users = {user: (ident.get_user(user).id, ident.get_project(project).id)
             for user, project in projects.items()}
    ensure_key(state)
    db.dispose()  # the last connection to close checkpoints the WAL: the copy is consistent
    return Template(state, users)
