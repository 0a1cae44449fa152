"""Fernet tokens: AES + HMAC over a small JSON payload, validated by every service locally.

The key lives in the state directory (``keys/fernet.key``, mode 0600). A token names its user,
project, expiry and audit id; roles are looked up at validation, so a role removed or a
user/project disabled takes effect at once (as in Keystone). A revoked token's audit id is
kept in ``revoked_tokens`` until the token would have expired; validation refuses it.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import delete, select

from minicloud.db import Database
from minicloud.errors import Unauthorized
from minicloud.identity.models import Domain, Project, RevokedToken, Role, RoleAssignment, User

KEY_FILE = Path("keys") / "fernet.key"


@dataclass(frozen=True)
class AuthContext:
    """Who is calling: the result of validating a token."""

    user_id: str
    user_name: str
    project_id: str
    project_name: str
    domain_id: str
    roles: tuple[str, ...]
    expires_at: dt.datetime
    issued_at: dt.datetime
    audit_id: str
    token: str = field(repr=False, default="")

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def credentials(self) -> dict:
        """The mapping policy rules check against (``role:``, ``project_id:`` ...)."""
        return {"user_id": self.user_id, "project_id": self.project_id,
                "project_domain_id": self.domain_id, "roles": list(self.roles),
                "is_admin": self.is_admin}


#: Keystone's default role implications (``keystone-manage bootstrap``): a token lists the
#: roles its user holds plus every role they imply, so ``role:reader`` rules admit members.
IMPLIED_ROLES = {"admin": ("member",), "member": ("reader",)}


def expand_implied(roles: list[str] | tuple[str, ...]) -> list[str]:
    """``roles`` plus every role they imply, transitively."""
    out, todo = set(roles), list(roles)
    while todo:
        for implied in IMPLIED_ROLES.get(todo.pop(), ()):
            if implied not in out:
                out.add(implied)
                todo.append(implied)
    return sorted(out)


def ensure_key(state_dir: Path) -> bytes:
    path = state_dir / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(Fernet.generate_key())
    return path.read_bytes().strip()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)


class TokenProvider:
    """Issues and validates tokens against the catalog."""

    def __init__(self, db: Database, key: bytes, lifetime: int = 3600) -> None:
        self.db, self.fernet, self.lifetime = db, Fernet(key), lifetime

    def issue(self, user_id: str, project_id: str,
              expires: dt.datetime | None = None) -> AuthContext:
        """A new token; ``expires`` (a rescoped token keeps its parent's) or the lifetime."""
        issued = _now()
        expires = expires or issued + dt.timedelta(seconds=self.lifetime)
        audit = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        payload = {"u": user_id, "p": project_id, "e": expires.isoformat(),
                   "i": issued.isoformat(), "a": audit}
        token = self.fernet.encrypt(json.dumps(payload, separators=(",", ":")).encode()).decode()
        return self.validate(token)

    def validate(self, token: str) -> AuthContext:
        """Return the context of a valid token, else raise :class:`Unauthorized`."""
        try:
            payload = json.loads(self.fernet.decrypt(token.encode()))
            expires = dt.datetime.fromisoformat(payload["e"])
            issued = dt.datetime.fromisoformat(payload["i"])
        except (InvalidToken, ValueError, KeyError, TypeError):
            raise Unauthorized("The request you have made requires authentication.") from None
        if expires <= _now():
            raise Unauthorized("The token has expired.")
        with self.db.session() as session:
            if session.get(RevokedToken, payload.get("a")) is not None:
                raise Unauthorized("The token has been revoked.")
            row = session.execute(
                select(User, Project)
                .join(Project, Project.id == payload["p"])
                .join(Domain, Domain.id == Project.domain_id)
                .where(User.id == payload["u"], User.enabled, Project.enabled, Domain.enabled)
            ).first()
            if row is None:
                raise Unauthorized("The token's user or project no longer exists or is disabled.")
            user, project = row
            roles = session.scalars(
                select(Role.name).join(RoleAssignment, RoleAssignment.role_id == Role.id)
                .where(RoleAssignment.user_id == user.id,
                       RoleAssignment.project_id == project.id)).all()
        if not roles:
            raise Unauthorized("The user has no role on the project.")
        roles = expand_implied(roles)
        return AuthContext(user_id=user.id, user_name=user.name, project_id=project.id,
                           project_name=project.name, domain_id=project.domain_id,
                           roles=tuple(sorted(roles)), expires_at=expires, issued_at=issued,
                           audit_id=payload["a"], token=token)


    def revoke(self, ctx: AuthContext) -> None:
        """Revoke a (valid) token; forget revocations of tokens that have expired since."""
        with self.db.session() as session:
            session.execute(delete(RevokedToken).where(RevokedToken.expires_at <= _now()))
            if session.get(RevokedToken, ctx.audit_id) is None:
                session.add(RevokedToken(audit_id=ctx.audit_id, expires_at=ctx.expires_at))


class ServiceTokens:
    """Tokens for the service user, minted locally and renewed before they expire."""

    def __init__(self, provider: TokenProvider, user_id: str, project_id: str) -> None:
        self.provider, self.user_id, self.project_id = provider, user_id, project_id
        self._ctx: AuthContext | None = None

    def token(self) -> str:
        margin = dt.timedelta(seconds=min(300, self.provider.lifetime // 2))
        if self._ctx is None or self._ctx.expires_at - margin <= _now():
            self._ctx = self.provider.issue(self.user_id, self.project_id)
        return self._ctx.token
