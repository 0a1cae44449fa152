"""Representations of identity resources, as Keystone v3 shows them, and policy targets.

One function per resource, used by every route that returns it, so a resource looks the same
whether created, shown, updated or listed (Tempest compares them). Links are absolute, under
the identity endpoint's ``/v3``.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import request

from minicloud.identity.assignments import AssignmentRecord
from minicloud.identity.models import Domain, Group, Role
from minicloud.identity.resource import ProjectRecord
from minicloud.identity.tokens import AuthContext
from minicloud.identity.users import UserRecord


def base() -> str:
    """The identity API's versioned base URL, as the client reached it."""
    return request.host_url.rstrip("/") + "/v3"


def collection(key: str, items: list[dict], path: str | None = None) -> dict:
    return {key: items, "links": {"self": f"{base()}/{path or key}", "previous": None,
                                  "next": None}}


def flatten(prefix: str, value: Any) -> dict[str, Any]:
    """``{"target": {"project": {"id": 1}}}`` -> ``{"target.project.id": 1}`` (Keystone
    flattens its policy targets so that rules can name ``%(target.project.id)s``)."""
    if not isinstance(value, dict):
        return {prefix: value}
    out: dict[str, Any] = {}
    for key, item in value.items():
        out.update(flatten(f"{prefix}.{key}" if prefix else key, item))
    return out


def target(**parts: Any) -> dict[str, Any]:
    """A flattened policy target: ``target(project={...}, domain_id=...)``."""
    return flatten("target", parts)


def domain(d: Domain) -> dict:
    return {"id": d.id, "name": d.name, "description": d.description or "",
            "enabled": d.enabled, "tags": [], "options": {},
            "links": {"self": f"{base()}/domains/{d.id}"}}


def project(p: ProjectRecord) -> dict:
    body = {**p.extra, "id": p.id, "name": p.name, "domain_id": p.domain_id,
            "description": p.description, "enabled": p.enabled, "parent_id": p.parent_id,
            "is_domain": p.is_domain, "tags": list(p.tags), "options": {},
            "links": {"self": f"{base()}/projects/{p.id}"}}
    return body


def user(u: UserRecord) -> dict:
    body = {**u.extra, "id": u.id, "name": u.name, "domain_id": u.domain_id,
            "enabled": u.enabled, "password_expires_at": None, "options": {},
            "links": {"self": f"{base()}/users/{u.id}"}}
    if u.default_project_id:
        body["default_project_id"] = u.default_project_id
    return body


def group(g: Group) -> dict:
    return {"id": g.id, "name": g.name, "domain_id": g.domain_id,
            "description": g.description or "",
            "links": {"self": f"{base()}/groups/{g.id}"}}


def role(r: Role) -> dict:
    return {"id": r.id, "name": r.name, "domain_id": r.domain_id,
            "description": r.description, "options": {},
            "links": {"self": f"{base()}/roles/{r.id}"}}


def role_ref(r: Role) -> dict:
    """A role inside an inference rule."""
    return {"id": r.id, "name": r.name, "links": {"self": f"{base()}/roles/{r.id}"}}


def inference(prior: Role, implied: Role) -> dict:
    return {"role_inference": {"prior_role": role_ref(prior), "implies": role_ref(implied)},
            "links": {"self": f"{base()}/roles/{prior.id}/implies/{implied.id}"}}


def inferences_of(prior: Role, implied: Iterable[Role]) -> dict:
    return {"prior_role": role_ref(prior), "implies": [role_ref(r) for r in implied]}


_PLURAL = {"Project": "projects", "Domain": "domains", "User": "users", "Group": "groups"}


def assignment(a: AssignmentRecord, names: dict[str, dict] | None = None) -> dict:
    """One ``role_assignments`` entry; ``names`` (id -> {"name", "domain"...}) adds names
    (``include_names``)."""
    def ref(id_: str) -> dict:
        return {"id": id_, **(names or {}).get(id_, {})}

    actor = "user" if a.actor == "User" else "group"
    if a.target == "System":
        scope: dict = {"system": {"all": True}}
        where = "system"
    else:
        scope = {a.target.lower(): ref(a.target_id)}
        where = f"{_PLURAL[a.target]}/{a.target_id}"
    owner = a.via_group and ("groups", a.via_group) or (_PLURAL[a.actor], a.actor_id)
    link = f"{base()}/{where}/{owner[0]}/{owner[1]}/roles/{a.prior_role_id or a.role_id}"
    links = {"assignment": link}
    if a.via_group:
        links["membership"] = f"{base()}/groups/{a.via_group}/users/{a.actor_id}"
    if a.prior_role_id:
        links["prior_role"] = f"{base()}/roles/{a.prior_role_id}"
    body = {"role": ref(a.role_id), actor: ref(a.actor_id), "scope": scope, "links": links}
    if a.inherited:
        body["scope"]["OS-INHERIT:inherited_to"] = "projects"
    return body


def _iso(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def token(ctx: AuthContext, catalog: list[dict] | None) -> dict:
    """The body of ``POST``/``GET /v3/auth/tokens``; ``catalog`` None leaves it out
    (``nocatalog``, and unscoped tokens)."""
    body: dict = {
        "methods": list(ctx.methods), "audit_ids": list(ctx.audit_ids or (ctx.audit_id,)),
        "expires_at": _iso(ctx.expires_at), "issued_at": _iso(ctx.issued_at),
        "user": {"id": ctx.user_id, "name": ctx.user_name, "password_expires_at": None,
                 "domain": {"id": ctx.user_domain_id, "name": ctx.user_domain_name}},
    }
    if ctx.project_id:
        body["project"] = {"id": ctx.project_id, "name": ctx.project_name,
                           "domain": {"id": ctx.domain_id, "name": ctx.project_domain_name}}
        body["is_domain"] = False
    elif ctx.scope_domain_id:
        body["domain"] = {"id": ctx.scope_domain_id, "name": ctx.scope_domain_name}
    elif ctx.system:
        body["system"] = {"all": True}
    if ctx.scoped:
        body["roles"] = [{"id": i, "name": n}
                         for i, n in zip(ctx.role_ids, sorted(ctx.roles), strict=False)]
        if catalog is not None:
            body["catalog"] = catalog
    if ctx.app_cred_id:
        body["application_credential"] = {"id": ctx.app_cred_id, "restricted": True}
    return {"token": body}
