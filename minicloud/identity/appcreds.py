"""Application credentials and their access rules (Keystone v3).

An application credential lets a program authenticate as its user, on one project, with a
subset of the roles the user had there when creating it, without the user's password. Its
secret is shown once (at creation) and kept as a scrypt hash. Keystone's rules kept here:

* the roles must be among the creator's token roles on the project (none named: all of
  them);
* a *restricted* credential (the default) cannot be used to create or delete application
  credentials; ``unrestricted: true`` lifts that;
* an expired or deleted credential authenticates no more, and the tokens it gave stop
  working (:func:`token_roles` is what token validation asks);
* access rules (service type, method, path) are the user's own: identical ones are shared
  between credentials, survive the credentials that used them, and cannot be deleted while
  a credential uses them (403);
* deleting the user deletes its credentials and rules (foreign keys cascade).
"""
from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from minicloud.db import Database, utcnow
from minicloud.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from minicloud.identity.auth import AuthDeps, AuthResult, register_method
from minicloud.identity.catalog import new_id
from minicloud.identity.catalog_models import (
    AccessRule,
    ApplicationCredential,
    ApplicationCredentialAccessRule,
    ApplicationCredentialRole,
)
from minicloud.identity.models import Domain, Project, Role, User
from minicloud.identity.tokens import Scope
from minicloud.identity.users import check_password, hash_password

_UNAUTHORIZED = "The request you have made requires authentication."
#: Checked when no credential matches, so that a wrong id takes as long to refuse as a
#: wrong secret (no enumeration by timing).
_DUMMY_HASH = "scrypt$" + "00" * 16 + "$" + "00" * 64


def parse_expiry(value: str | None) -> dt.datetime | None:
    """An ISO 8601 expiry as naive UTC; 400 when unreadable or already past."""
    if value is None:
        return None
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if when.tzinfo is not None:
            when = when.astimezone(dt.UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise BadRequest(f"Invalid expires_at {value[:64]!r}: expected an ISO 8601 "
                         "date and time.") from None
    if when <= utcnow():
        raise BadRequest("The 'expires_at' must not be before now.")
    return when


def _rule(r: AccessRule) -> dict:
    return {"id": r.id, "service": r.service, "path": r.path, "method": r.method}


class ApplicationCredentials:
    """Application credentials and access rules; records are plain dicts."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _record(self, s: Session, row: ApplicationCredential) -> dict:
        roles = s.execute(select(Role.id, Role.name, Role.domain_id)
                          .join(ApplicationCredentialRole,
                                ApplicationCredentialRole.role_id == Role.id)
                          .where(ApplicationCredentialRole.application_credential_id == row.id)
                          .order_by(Role.name)).all()
        rules = s.scalars(select(AccessRule).join(
            ApplicationCredentialAccessRule,
            ApplicationCredentialAccessRule.access_rule_id == AccessRule.id)
            .where(ApplicationCredentialAccessRule.application_credential_id == row.id)
            .order_by(AccessRule.id)).all()
        return {"id": row.id, "name": row.name, "description": row.description,
                "user_id": row.user_id, "project_id": row.project_id,
                "roles": [{"id": i, "name": n, "domain_id": d} for i, n, d in roles],
                "expires_at": row.expires_at.isoformat() if row.expires_at else None,
                "unrestricted": row.unrestricted,
                "access_rules": [_rule(r) for r in rules]}

    @staticmethod
    def _get(s: Session, user_id: str, app_cred_id: str) -> ApplicationCredential:
        row = s.get(ApplicationCredential, app_cred_id)
        if row is None or row.user_id != user_id:
            raise NotFound(f"Could not find application credential: {app_cred_id}.")
        return row

    def check_may_manage(self, via_app_cred: str | None) -> None:
        """403 when the caller's token came from a restricted application credential."""
        if via_app_cred is None:
            return
        with self.db.session() as s:
            row = s.get(ApplicationCredential, via_app_cred)
            if row is None or not row.unrestricted:
                raise Forbidden("Using method 'application_credential' is not allowed for "
                                "managing additional application credentials.")

    # -- create --------------------------------------------------------------------------
    @staticmethod
    def _roles(s: Session, wanted: list[dict] | None, held: Iterable[str]) -> list[Role]:
        """The role rows of ``wanted`` (by id or name), each among ``held`` (the role ids
        of the creator's token); all of ``held`` when ``wanted`` is absent or empty (the
        openstack CLI sends ``[]`` when no role is named)."""
        held = set(held)
        if not wanted:
            return list(s.scalars(select(Role).where(Role.id.in_(held)).order_by(Role.name)))
        rows = []
        for ref in wanted:
            role = (s.get(Role, ref["id"]) if "id" in ref
                    else s.scalar(select(Role).where(Role.name == ref["name"])))
            if role is None:
                raise NotFound(f"Could not find role: {ref.get('id') or ref.get('name')}.")
            if role.id not in held:
                raise NotFound(f"Could not find role assignment with role: {role.id}: the "
                               "user does not hold it on the project.")
            if role not in rows:
                rows.append(role)
        return rows

    @staticmethod
    def _access_rules(s: Session, user_id: str, wanted: list[dict]) -> list[AccessRule]:
        rows = []
        for ref in wanted:
            if "id" in ref and not {"service", "path", "method"} & set(ref):
                row = s.get(AccessRule, ref["id"])
                if row is None or row.user_id != user_id:
                    raise NotFound(f"Could not find access rule: {ref['id']}.")
            else:
                fields = {k: ref.get(k) for k in ("service", "path", "method")}
                if None in fields.values():
                    raise BadRequest("An access rule needs a service, a method and a path.")
                row = s.scalar(select(AccessRule).filter_by(user_id=user_id, **fields))
                if row is None:
                    row = AccessRule(id=ref.get("id") or new_id(), user_id=user_id, **fields)
                    s.add(row)
                    s.flush()
            if row not in rows:
                rows.append(row)
        return rows

    def create(self, user_id: str, project_id: str, token_role_ids: Iterable[str],
               body: dict) -> dict:
        """A new credential of ``user_id`` on ``project_id`` from a validated body; the
        record carries the ``secret`` (given or generated), which is never shown again."""
        secret = body.get("secret") or secrets.token_urlsafe(64)
        expires = parse_expiry(body.get("expires_at"))
        with self.db.session() as s:
            if s.scalar(select(ApplicationCredential.id).where(
                    ApplicationCredential.user_id == user_id,
                    ApplicationCredential.name == body["name"])) is not None:
                raise Conflict(f"Duplicate entry: an application credential named "
                               f"{body['name']} exists.")
            roles = self._roles(s, body.get("roles"), token_role_ids)
            if not roles:
                raise BadRequest("An application credential needs at least one role.")
            row = ApplicationCredential(
                id=new_id(), name=body["name"], description=body.get("description"),
                secret_hash=hash_password(secret), user_id=user_id, project_id=project_id,
                expires_at=expires, unrestricted=bool(body.get("unrestricted", False)))
            s.add(row)
            s.flush()
            for role in roles:
                s.add(ApplicationCredentialRole(application_credential_id=row.id,
                                                role_id=role.id))
            for rule in self._access_rules(s, user_id, body.get("access_rules") or []):
                s.add(ApplicationCredentialAccessRule(application_credential_id=row.id,
                                                      access_rule_id=rule.id))
            s.flush()
            return {**self._record(s, row), "secret": secret}

    # -- read, delete --------------------------------------------------------------------
    def list(self, user_id: str, name: str | None = None) -> list[dict]:
        with self.db.session() as s:
            query = select(ApplicationCredential).where(
                ApplicationCredential.user_id == user_id).order_by(
                ApplicationCredential.created_at, ApplicationCredential.id)
            if name is not None:
                query = query.where(ApplicationCredential.name == name)
            return [self._record(s, r) for r in s.scalars(query)]

    def get(self, user_id: str, app_cred_id: str) -> dict:
        with self.db.session() as s:
            return self._record(s, self._get(s, user_id, app_cred_id))

    def delete(self, user_id: str, app_cred_id: str) -> None:
        with self.db.session() as s:
            s.delete(self._get(s, user_id, app_cred_id))

    # -- access rules --------------------------------------------------------------------
    def list_access_rules(self, user_id: str) -> list[dict]:
        with self.db.session() as s:
            return [_rule(r) for r in s.scalars(select(AccessRule).where(
                AccessRule.user_id == user_id).order_by(AccessRule.id))]

    def get_access_rule(self, user_id: str, rule_id: str) -> dict:
        with self.db.session() as s:
            row = s.get(AccessRule, rule_id)
            if row is None or row.user_id != user_id:
                raise NotFound(f"Could not find access rule: {rule_id}.")
            return _rule(row)

    def delete_access_rule(self, user_id: str, rule_id: str) -> None:
        with self.db.session() as s:
            row = s.get(AccessRule, rule_id)
            if row is None or row.user_id != user_id:
                raise NotFound(f"Could not find access rule: {rule_id}.")
            if s.scalar(select(ApplicationCredentialAccessRule.application_credential_id)
                        .where(ApplicationCredentialAccessRule.access_rule_id == rule_id)):
                raise Forbidden(f"Cannot delete access rule {rule_id}: an application "
                                "credential uses it.")
            s.execute(delete(AccessRule).where(AccessRule.id == rule_id))


# -- authentication ----------------------------------------------------------------------------
def _find(s: Session, ref: dict) -> ApplicationCredential | None:
    if "id" in ref:
        return s.get(ApplicationCredential, str(ref["id"]))
    user_ref = ref.get("user")
    if "name" not in ref or not isinstance(user_ref, dict):
        raise BadRequest("An application credential is given by id, or by name with its "
                         "user.")
    if "id" in user_ref:
        user = s.get(User, str(user_ref["id"]))
    else:
        domain_ref = user_ref.get("domain") if isinstance(user_ref.get("domain"), dict) else {}
        domain = (s.get(Domain, str(domain_ref["id"])) if "id" in domain_ref else
                  s.scalar(select(Domain).where(Domain.name == str(domain_ref.get("name")))))
        user = domain and s.scalar(select(User).where(User.name == str(user_ref.get("name")),
                                                      User.domain_id == domain.id))
    if not user:
        return None
    return s.scalar(select(ApplicationCredential).where(
        ApplicationCredential.user_id == user.id, ApplicationCredential.name == str(ref["name"])))


def live_role_ids(s: Session, app_cred_id: str | None) -> list[str] | None:
    """The role ids of an unexpired application credential whose user and project are
    enabled, or None (it authenticates no more; the tokens it gave are invalid)."""
    row = s.get(ApplicationCredential, app_cred_id) if app_cred_id else None
    if row is None or (row.expires_at is not None and row.expires_at <= utcnow()):
        return None
    user, project = s.get(User, row.user_id), s.get(Project, row.project_id)
    if user is None or not user.enabled or project is None or not project.enabled:
        return None
    return sorted(s.scalars(select(ApplicationCredentialRole.role_id).where(
        ApplicationCredentialRole.application_credential_id == row.id)))


def authenticate_application_credential(db: Database, ref: dict
                                        ) -> tuple[str, str, list[str], str]:
    """Check the ``application_credential`` auth method's object (``{"id", "secret"}`` or
    ``{"name", "user": {...}, "secret"}``): ``(user_id, project_id, role ids, id)`` of a
    valid credential, else 401 (400 when the object is malformed). Issue the token with
    ``app_cred_id`` and those ``role_ids``: it carries no other role, and validation keeps
    them within what the user still holds (and refuses it once :func:`live_role_ids` is
    None)."""
    if not isinstance(ref, dict) or not isinstance(ref.get("secret"), str):
        raise BadRequest("Expecting auth.identity.application_credential with a secret.")
    with db.session() as s:
        row = _find(s, ref)
        role_ids = live_role_ids(s, row.id if row is not None else None)
        matches = check_password(ref["secret"], row.secret_hash if row else _DUMMY_HASH)
        if row is None or role_ids is None or not matches:
            raise Unauthorized(_UNAUTHORIZED)
        return row.user_id, row.project_id, role_ids, row.id


def token_roles(s: Session, app_cred_id: str, role_ids: Iterable[str]) -> list[str]:
    """For token validation (:mod:`minicloud.identity.tokens`): the ids among ``role_ids``
    (those a token restricted to application credential ``app_cred_id`` names) that the
    credential still allows; 401 when it is deleted or expired, or its user or project is
    disabled (the tokens it gave are then invalid)."""
    allowed = live_role_ids(s, app_cred_id)
    if allowed is None:
        raise Unauthorized("The application credential of the token no longer exists or "
                           "has expired.")
    keep = set(allowed)
    return [role_id for role_id in role_ids if role_id in keep]


def application_credential_method(deps: AuthDeps, ref: object) -> AuthResult:
    """The ``application_credential`` method of ``POST /v3/auth/tokens``: a token of the
    credential's user, on its project only, with its roles only, expiring no later than it."""
    user_id, project_id, role_ids, app_cred_id = authenticate_application_credential(
        deps.db, ref)  # type: ignore[arg-type]
    with deps.db.session() as s:
        expires = s.get(ApplicationCredential, app_cred_id).expires_at
    return AuthResult(user_id, ("application_credential",), expires_at=expires,
                      forced_scope=Scope(project_id=project_id), app_cred_id=app_cred_id,
                      role_ids=tuple(role_ids))


register_method("application_credential", application_credential_method)
