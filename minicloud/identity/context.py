"""What the identity routes share: the services of the app, and policy enforcement with
Keystone-shaped targets."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, request

from minicloud.config import Config
from minicloud.identity.assignments import AssignmentService
from minicloud.identity.auth import AuthDeps
from minicloud.identity.resource import ResourceService
from minicloud.identity.users import UserService
from minicloud.identity.views import target
from minicloud.validation import query_bool
from minicloud.wsgi import authorize


@dataclass(frozen=True)
class Identity:
    """The identity app's services, built once by ``create_app``."""

    conf: Config
    resource: ResourceService
    users: UserService
    assignments: AssignmentService
    auth: AuthDeps


def identity() -> Identity:
    return current_app.extensions["identity"]


def enforce(rule: str, extra: dict[str, Any] | None = None, **parts: Any) -> None:
    """Enforce ``identity:<rule>`` on the flattened target ``parts`` (plus ``extra`` keys
    given as they are, e.g. ``user_id`` for Keystone's ``rule:owner``)."""
    authorize(f"identity:{rule}", {**target(**parts), **(extra or {})})


def arg(name: str) -> str | None:
    """A query parameter; absent (or empty) is None."""
    return request.args.get(name) or None


def bool_arg(name: str) -> bool | None:
    """A boolean query parameter; Keystone reads any value but ``0``/``false`` as true, and
    a bare ``?enabled`` as true."""
    if name not in request.args:
        return None
    if request.args.get(name) == "":
        return True
    return query_bool(request.args, name)
