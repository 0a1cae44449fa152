"""``POST /v3/auth/tokens``: the authentication methods and the scope of the new token.

Each method named in ``auth.identity.methods`` is a function in :data:`METHODS` taking the
request's :class:`AuthDeps` and the method's own object (``auth.identity.<method>``) and
returning an :class:`AuthResult` (who authenticated, and what that implies for the token), or
raising :class:`~minicloud.errors.Unauthorized`. ``password`` and ``token`` (rescoping) live
here; another module adds one with :func:`register_method` (the application credential method
does: it returns a result with ``forced_scope``, ``app_cred_id`` and ``role_ids``). Every
method named must succeed and name the same user.

Then the scope: the one the request asks (a project, a domain, the system), else the method's
(``forced_scope``, or a rescoped token's own), else the user's default project when it is
enabled and the user holds a role there, else none (an unscoped token). The user must hold a
role on the scope (401 otherwise, as for a missing or disabled project or domain).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from minicloud.db import Database
from minicloud.errors import BadRequest, Unauthorized
from minicloud.identity.assignments import effective_roles
from minicloud.identity.models import Domain, Project, User
from minicloud.identity.tokens import UNSCOPED, AuthContext, Scope, TokenProvider
from minicloud.identity.users import UserService


@dataclass(frozen=True)
class AuthDeps:
    """What an authentication method may use."""

    db: Database
    tokens: TokenProvider
    users: UserService


@dataclass(frozen=True)
class AuthResult:
    """The outcome of one authentication method.

    ``methods``: the methods the token lists for it (a rescoped token adds its parent's);
    ``expires_at``: an expiry the token may not outlive; ``forced_scope``: the only scope the
    token may have (an application credential's project); ``default_scope``: the scope when
    the request names none (a rescoped token keeps its parent's); ``app_cred_id`` and
    ``role_ids``: the restriction the token carries.
    """

    user_id: str
    methods: tuple[str, ...]
    expires_at: dt.datetime | None = None
    parent_audit_id: str | None = None
    forced_scope: Scope | None = None
    default_scope: Scope | None = None
    app_cred_id: str | None = None
    role_ids: tuple[str, ...] | None = None


AuthMethod = Callable[[AuthDeps, object], AuthResult]
METHODS: dict[str, AuthMethod] = {}


def register_method(name: str, method: AuthMethod) -> None:
    """Make ``name`` usable in ``auth.identity.methods``."""
    METHODS[name] = method


def _unauthorized() -> Unauthorized:
    return Unauthorized("The request you have made requires authentication.")


def _domain_id(s: Session, ref: object, what: str) -> str | None:
    """The id of the domain ``ref`` names (``{"id"}`` or ``{"name"}``); None if unknown."""
    if not isinstance(ref, dict) or not ({"id", "name"} & ref.keys()):
        raise BadRequest(f"Expecting to find domain in {what}: an id or a name.")
    if "id" in ref:
        return str(ref["id"])
    return s.scalar(select(Domain.id).where(Domain.name == str(ref["name"])))


def password_method(deps: AuthDeps, ref: object) -> AuthResult:
    """``{"user": {"id" | "name" + "domain", "password"}}``."""
    user_ref = ref.get("user") if isinstance(ref, dict) else None
    if not isinstance(user_ref, dict) or not ({"id", "name"} & user_ref.keys()):
        raise BadRequest("Expecting auth.identity.password.user with an id or a name.")
    domain_id = None
    if "id" not in user_ref:
        with deps.db.session() as s:
            domain_id = _domain_id(s, user_ref.get("domain"), "user")
    user = deps.users.authenticate(user_ref, domain_id)
    return AuthResult(user.id, ("password",))


def token_method(deps: AuthDeps, ref: object) -> AuthResult:
    """``{"id": <token>}``: a new token for the same user, expiring with its parent."""
    token = ref.get("id") if isinstance(ref, dict) else None
    if not isinstance(token, str):
        raise BadRequest("Expecting auth.identity.token with an id.")
    try:
        parent = deps.tokens.validate(token)
    except Unauthorized as exc:
        raise Unauthorized(f"The token to rescope is not valid: {exc.message}") from None
    scope = Scope(parent.project_id, parent.scope_domain_id, parent.system)
    restricted = parent.app_cred_id is not None
    return AuthResult(parent.user_id, (*parent.methods, "token"), parent.expires_at,
                      parent.audit_id, forced_scope=scope if restricted else None,
                      default_scope=scope, app_cred_id=parent.app_cred_id,
                      role_ids=parent.role_ids if restricted else None)


register_method("password", password_method)
register_method("token", token_method)


def _combine(results: list[AuthResult]) -> AuthResult:
    if len({r.user_id for r in results}) != 1:
        raise Unauthorized("The authentication methods name different users.")
    first = results[0]
    methods = tuple(dict.fromkeys(m for r in results for m in r.methods))
    expiries = [r.expires_at for r in results if r.expires_at is not None]
    return AuthResult(first.user_id, methods, min(expiries) if expiries else None,
                      next((r.parent_audit_id for r in results if r.parent_audit_id), None),
                      next((r.forced_scope for r in results if r.forced_scope), None),
                      next((r.default_scope for r in results if r.default_scope), None),
                      next((r.app_cred_id for r in results if r.app_cred_id), None),
                      next((r.role_ids for r in results if r.role_ids is not None), None))


def requested_scope(s: Session, scope: object) -> Scope | None:
    """The scope ``auth.scope`` names (None when absent); 401 when its project or domain
    does not exist."""
    if scope is None:
        return None
    if scope == "unscoped":
        return UNSCOPED
    if not isinstance(scope, dict) or len(scope) != 1:
        raise BadRequest("auth.scope names exactly one of project, domain, system.")
    kind, ref = next(iter(scope.items()))
    if kind == "system":
        if ref != {"all": True}:
            raise BadRequest('The system scope is {"all": true}.')
        return Scope(system=True)
    if kind not in ("project", "domain") or not isinstance(ref, dict):
        raise BadRequest(f"Unsupported scope {kind!r}: project, domain or system.")
    if kind == "domain":
        domain_id = _domain_id(s, ref, "scope")
        if domain_id is None or s.get(Domain, domain_id) is None:
            raise _unauthorized()
        return Scope(domain_id=domain_id)
    if "id" in ref:
        project_id = str(ref["id"])
    elif "name" in ref:
        domain_id = _domain_id(s, ref.get("domain"), "project")
        project_id = s.scalar(select(Project.id).where(Project.name == str(ref["name"]),
                                                      Project.domain_id == domain_id))
    else:
        raise BadRequest("The project must be given by id or by name and domain.")
    if project_id is None or s.get(Project, project_id) is None:
        raise _unauthorized()
    return Scope(project_id=project_id)


def _holds_roles(s: Session, user_id: str, scope: Scope) -> bool:
    if scope.project_id:
        return bool(effective_roles(s, user_id, "Project", scope.project_id))
    if scope.domain_id:
        return bool(effective_roles(s, user_id, "Domain", scope.domain_id))
    return bool(effective_roles(s, user_id, "System", "system"))


def choose_scope(s: Session, result: AuthResult, body_scope: object) -> Scope:
    """The new token's scope (see the module's docstring)."""
    scope = requested_scope(s, body_scope)
    if result.forced_scope is not None and scope not in (None, result.forced_scope):
        raise Unauthorized("This credential cannot be used for another scope.")
    scope = scope or result.forced_scope or result.default_scope
    if scope is None:
        user = s.get(User, result.user_id)
        project = s.get(Project, user.default_project_id or "") if user else None
        if project is None or not project.enabled:
            return UNSCOPED
        default = Scope(project_id=project.id)
        return default if _holds_roles(s, result.user_id, default) else UNSCOPED
    if scope != UNSCOPED and not _holds_roles(s, result.user_id, scope):
        raise Unauthorized(f"User {result.user_id} has no role on the requested scope.")
    return scope


def issue_token(deps: AuthDeps, body: dict) -> AuthContext:
    """Authenticate ``body`` (a validated ``{"auth": ...}``) and issue its token."""
    identity = body["auth"]["identity"]
    methods = list(dict.fromkeys(identity["methods"]))
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise Unauthorized(f"Attempted to authenticate with an unsupported method: "
                           f"{', '.join(unknown) or 'none'}.")
    result = _combine([METHODS[m](deps, identity.get(m)) for m in methods])
    with deps.db.session() as s:
        scope = choose_scope(s, result, body["auth"].get("scope"))
    return deps.tokens.issue(result.user_id, scope=scope, expires=result.expires_at,
                             methods=result.methods, parent_audit_id=result.parent_audit_id,
                             app_cred_id=result.app_cred_id, role_ids=result.role_ids)
