"""Fernet tokens: AES + HMAC over a small JSON payload, validated by every service locally.

The key lives in the state directory (``keys/fernet.key``, mode 0600). A token names its user,
its scope (a project, a domain, the system, or none: unscoped), the authentication methods
used, its expiry and audit ids (its own, and its parent's when it was rescoped). Roles are
computed at validation from the assignments (the user's and its groups'), expanded through the
implied roles and stripped of domain-specific roles, so a role removed or a user, project or
domain disabled takes effect at once, as in Keystone. A token may carry a restriction (an
application credential's id and the role ids it is limited to). A revoked token's audit id is
kept in ``revoked_tokens`` until the token would have expired; validation refuses it, and a
user's tokens issued before its password last changed are refused too.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import delete
from sqlalchemy.orm import Session

from minicloud.db import Database
from minicloud.errors import Unauthorized
from minicloud.identity.models import Domain, Project, RevokedToken, User

KEY_FILE = Path("keys") / "fernet.key"
SYSTEM_SCOPE = "all"


@dataclass(frozen=True)
class AuthContext:
    """Who is calling: the result of validating a token.

    ``project_id``/``project_name``/``domain_id`` (the project's domain) are set for a
    project-scoped token; ``scope_domain_id`` for a domain-scoped one; ``system`` for a
    system-scoped one; none of them for an unscoped token (which carries no roles).
    """

    user_id: str
    user_name: str
    project_id: str | None
    project_name: str | None
    domain_id: str | None
    roles: tuple[str, ...]
    expires_at: dt.datetime
    issued_at: dt.datetime
    audit_id: str
    token: str = field(repr=False, default="")
    user_domain_id: str = "default"
    user_domain_name: str = "Default"
    project_domain_name: str | None = None
    scope_domain_id: str | None = None
    scope_domain_name: str | None = None
    system: bool = False
    role_ids: tuple[str, ...] = ()
    methods: tuple[str, ...] = ("password",)
    audit_ids: tuple[str, ...] = ()
    app_cred_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def scoped(self) -> bool:
        return bool(self.project_id or self.scope_domain_id or self.system)

    def credentials(self) -> dict:
        """The mapping policy rules check against (``role:``, ``project_id:`` ...).

        oslo.policy infers the token's scope from it: ``system_scope`` for a system token,
        ``domain_id`` for a domain-scoped one (a project token never carries ``domain_id``).
        ``token`` holds the scope as Keystone's rules read it (``token.domain.id``,
        ``token.project.domain.id``).
        """
        token: dict = {"user": {"id": self.user_id, "domain": {"id": self.user_domain_id}}}
        creds = {"user_id": self.user_id, "user_domain_id": self.user_domain_id,
                 "project_id": self.project_id, "project_domain_id": self.domain_id,
                 "roles": list(self.roles), "is_admin": self.is_admin, "token": token}
        if self.project_id:
            token["project"] = {"id": self.project_id, "domain": {"id": self.domain_id}}
        if self.scope_domain_id:
            creds["domain_id"] = self.scope_domain_id
            token["domain"] = {"id": self.scope_domain_id}
        if self.system:
            creds["system_scope"] = SYSTEM_SCOPE
            token["system"] = {"all": True}
        return creds


def expand_implied(roles: Iterable[str], implied: Mapping[str, Iterable[str]]) -> list[str]:
    """``roles`` plus every role they imply through ``implied`` (role -> the roles it
    implies), transitively; sorted. Works on names or ids alike; cycles are harmless."""
    out, todo = set(roles), list(roles)
    while todo:
        for more in implied.get(todo.pop(), ()):
            if more not in out:
                out.add(more)
                todo.append(more)
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


@dataclass(frozen=True)
class Scope:
    """What a token is scoped to: one project, one domain, the system, or nothing."""

    project_id: str | None = None
    domain_id: str | None = None
    system: bool = False

    def payload(self) -> dict:
        if self.project_id:
            return {"p": self.project_id}
        if self.domain_id:
            return {"d": self.domain_id}
        return {"s": SYSTEM_SCOPE} if self.system else {}


UNSCOPED = Scope()


class TokenProvider:
    """Issues and validates tokens against the catalog."""

    def __init__(self, db: Database, key: bytes, lifetime: int = 3600) -> None:
        self.db, self.fernet, self.lifetime = db, Fernet(key), lifetime

    def issue(self, user_id: str, project_id: str | None = None,
              expires: dt.datetime | None = None, *, scope: Scope | None = None,
              methods: Iterable[str] = ("password",), parent_audit_id: str | None = None,
              app_cred_id: str | None = None,
              role_ids: Iterable[str] | None = None) -> AuthContext:
        """A new token for ``user_id`` scoped to ``scope`` (or the project ``project_id``);
        ``expires`` (a rescoped token keeps its parent's) or the lifetime. ``app_cred_id``
        and ``role_ids`` restrict it to an application credential's roles."""
        scope = scope or Scope(project_id=project_id)
        # Microseconds kept: a password change refuses the tokens issued before it, not the
        # one issued right after it in the same second.
        issued = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        expires = expires or _now() + dt.timedelta(seconds=self.lifetime)
        audit = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        payload = {"u": user_id, "e": expires.isoformat(), "i": issued.isoformat(),
                   "a": audit, "m": list(dict.fromkeys(methods)), **scope.payload()}
        if parent_audit_id:
            payload["pa"] = parent_audit_id
        if app_cred_id:
            payload["ac"] = app_cred_id
            payload["r"] = sorted(role_ids or ())
        token = self.fernet.encrypt(json.dumps(payload, separators=(",", ":")).encode()).decode()
        return self.validate(token)

    def _payload(self, token: str) -> dict:
        try:
            payload = json.loads(self.fernet.decrypt(token.encode()))
            payload["e"] = dt.datetime.fromisoformat(payload["e"])
            payload["i"] = dt.datetime.fromisoformat(payload["i"])
            if not isinstance(payload["u"], str) or not isinstance(payload["a"], str):
                raise TypeError
        except (InvalidToken, ValueError, KeyError, TypeError):
            raise Unauthorized("The request you have made requires authentication.") from None
        if payload["e"] <= _now():
            raise Unauthorized("The token has expired.")
        return payload

    def validate(self, token: str) -> AuthContext:
        """Return the context of a valid token, else raise :class:`Unauthorized`."""
        # Imported here: assignments imports expand_implied from this module.
        from minicloud.identity.assignments import effective_roles

        payload = self._payload(token)
        with self.db.session() as s:
            if s.get(RevokedToken, payload["a"]) is not None:
                raise Unauthorized("The token has been revoked.")
            user, user_domain = _active_user(s, payload["u"], payload["i"])
            values = _scope_values(s, payload)
            kind, target = _target(payload)
            roles = effective_roles(s, user.id, kind, target) if kind else []
            if payload.get("ac"):
                allowed = _restricted_roles(s, payload["ac"], payload.get("r") or ())
                roles = [r for r in roles if r.id in allowed]
        if kind and not roles:
            raise Unauthorized("The user has no role on the token's scope.")
        audit_ids = (payload["a"], payload["pa"]) if payload.get("pa") else (payload["a"],)
        return AuthContext(
            user_id=user.id, user_name=user.name, user_domain_id=user_domain.id,
            user_domain_name=user_domain.name, roles=tuple(sorted(r.name for r in roles)),
            role_ids=tuple(r.id for r in sorted(roles, key=lambda r: r.name)),
            expires_at=payload["e"], issued_at=payload["i"], audit_id=payload["a"],
            audit_ids=audit_ids, methods=tuple(payload.get("m") or ("password",)),
            app_cred_id=payload.get("ac"), token=token, **values)

    def revoke(self, ctx: AuthContext) -> None:
        """Revoke a (valid) token; forget revocations of tokens that have expired since."""
        with self.db.session() as session:
            session.execute(delete(RevokedToken).where(RevokedToken.expires_at <= _now()))
            if session.get(RevokedToken, ctx.audit_id) is None:
                session.add(RevokedToken(audit_id=ctx.audit_id, expires_at=ctx.expires_at))


def _restricted_roles(s: Session, app_cred_id: str, role_ids: Iterable[str]) -> set[str]:
    """The role ids a token restricted to an application credential may carry: those it
    names, as long as the credential still allows them. The credential's owner module
    answers: ``minicloud.identity.appcreds.token_roles(session, app_cred_id, role_ids)``
    returns the role ids still allowed, or raises :class:`Unauthorized` when the credential
    is gone or expired (imported here, lazily, so that every service checks it)."""
    allowed = set(role_ids)
    try:
        from minicloud.identity.appcreds import token_roles
    except ImportError:  # a build without application credentials
        return allowed
    return allowed & set(token_roles(s, app_cred_id, tuple(sorted(allowed))))


def _target(payload: dict) -> tuple[str | None, str | None]:
    if payload.get("p"):
        return "Project", payload["p"]
    if payload.get("d"):
        return "Domain", payload["d"]
    if payload.get("s"):
        return "System", "system"
    return None, None


def _active_user(s: Session, user_id: str, issued: dt.datetime) -> tuple[User, Domain]:
    user = s.get(User, user_id)
    domain = s.get(Domain, user.domain_id) if user is not None else None
    if user is None or domain is None or not user.enabled or not domain.enabled:
        raise Unauthorized("The token's user no longer exists or is disabled.")
    if user.tokens_valid_after is not None and issued <= user.tokens_valid_after:
        raise Unauthorized("The token has been revoked (the user's password changed).")
    return user, domain


def _scope_values(s: Session, payload: dict) -> dict:
    """The AuthContext fields of the token's scope; 401 when it is gone or disabled."""
    gone = Unauthorized("The token's project or domain no longer exists or is disabled.")
    if payload.get("p"):
        project = s.get(Project, payload["p"])
        domain = s.get(Domain, project.domain_id) if project is not None else None
        if project is None or domain is None or not project.enabled or not domain.enabled:
            raise gone
        return {"project_id": project.id, "project_name": project.name,
                "domain_id": domain.id, "project_domain_name": domain.name}
    values: dict = {"project_id": None, "project_name": None, "domain_id": None}
    if payload.get("d"):
        domain = s.get(Domain, payload["d"])
        if domain is None or not domain.enabled:
            raise gone
        values.update(scope_domain_id=domain.id, scope_domain_name=domain.name)
    elif payload.get("s"):
        values["system"] = True
    return values


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
