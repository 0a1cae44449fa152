"""Roles, implied roles and role assignments (grants), and the roles a user holds.

A grant gives a role to a user or a group on a project, a domain or the system. What a user
*holds* on a target (its effective roles, what a token carries) is: the roles granted to it
and to its groups there, plus every role they imply (transitively), minus the domain-specific
roles (those only ever matter through what they imply), as Keystone computes them.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from minicloud.db import Database
from minicloud.errors import BadRequest, Conflict, Forbidden, NotFound
from minicloud.identity.models import (
    Assignment,
    Domain,
    Group,
    ImpliedRole,
    Project,
    Role,
    User,
    UserGroupMembership,
)
from minicloud.identity.tokens import expand_implied

ACTORS = ("User", "Group")
TARGETS = ("Project", "Domain", "System")
SYSTEM = "system"  # the target id of a system grant
#: Roles no other role may imply (Keystone's ``[assignment] prohibited_implied_role``).
PROHIBITED_IMPLIED = ("admin",)
#: Keystone's bootstrap implications (2024.1+): admin > manager > member > reader.
DEFAULT_IMPLIED = (("admin", "manager"), ("manager", "member"), ("member", "reader"))


def implications(s: Session) -> dict[str, list[str]]:
    """Role id -> the ids of the roles it directly implies."""
    out: dict[str, list[str]] = {}
    for prior, implied in s.execute(select(ImpliedRole.prior_role_id,
                                           ImpliedRole.implied_role_id)):
        out.setdefault(prior, []).append(implied)
    return out


def group_ids(s: Session, user_id: str) -> list[str]:
    return list(s.scalars(select(UserGroupMembership.group_id)
                          .where(UserGroupMembership.user_id == user_id)))


def granted_role_ids(s: Session, user_id: str, kind: str, target_id: str) -> set[str]:
    """Roles granted on the target to the user directly or through its groups."""
    actors = or_(
        (Assignment.type == f"User{kind}") & (Assignment.actor_id == user_id),
        (Assignment.type == f"Group{kind}") & Assignment.actor_id.in_(group_ids(s, user_id)))
    return set(s.scalars(select(Assignment.role_id).where(
        actors, Assignment.target_id == target_id, Assignment.inherited.is_(False))))


def effective_roles(s: Session, user_id: str, kind: str, target_id: str) -> list[Role]:
    """The global roles the user holds on the target (``kind``: Project, Domain, System)."""
    ids = expand_implied(granted_role_ids(s, user_id, kind, target_id), implications(s))
    if not ids:
        return []
    return list(s.scalars(select(Role).where(Role.id.in_(ids), Role.domain_id.is_(None))
                          .order_by(Role.name)))


def forget(s: Session, actor_id: str | None = None, target_id: str | None = None,
           actor: str | None = None, target: str | None = None) -> None:
    """Delete the grants of a deleted actor (``actor``: User or Group) or on a deleted
    target (``target``: Project or Domain)."""
    if actor_id is not None:
        s.execute(delete(Assignment).where(Assignment.actor_id == actor_id,
                                           Assignment.type.in_([actor + t for t in TARGETS])))
    if target_id is not None:
        s.execute(delete(Assignment).where(Assignment.target_id == target_id,
                                           Assignment.type.in_([a + target for a in ACTORS])))


@dataclass(frozen=True)
class AssignmentRecord:
    """One (possibly effective) role assignment, as ``GET /v3/role_assignments`` lists it."""

    actor: str          # User or Group
    actor_id: str
    target: str         # Project, Domain or System
    target_id: str
    role_id: str
    inherited: bool = False
    via_group: str | None = None   # effective: the group the user has it through
    prior_role_id: str | None = None  # effective: the granted role that implies this one


@dataclass(frozen=True)
class AssignmentQuery:
    """The filters of ``GET /v3/role_assignments``."""

    user_id: str | None = None
    group_id: str | None = None
    role_id: str | None = None
    project_id: str | None = None
    domain_id: str | None = None
    system: bool = False
    effective: bool = False
    include_subtree: bool = False


def split_type(kind: str) -> tuple[str, str]:
    """``("User", "Project")`` for ``"UserProject"``."""
    actor = next(a for a in ACTORS if kind.startswith(a))
    return actor, kind[len(actor):]


def _new_id() -> str:
    return uuid.uuid4().hex


class AssignmentService:
    """Roles, implied roles and grants, each call one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- roles ---------------------------------------------------------------------------
    def create_role(self, name: str, domain_id: str | None = None,
                    description: str | None = None) -> Role:
        with self.db.session() as s:
            if domain_id is not None and s.get(Domain, domain_id) is None:
                raise NotFound(f"Could not find domain: {domain_id}.")
            if s.scalar(select(Role).where(Role.name == name)) is not None:
                raise Conflict(f"Conflict occurred attempting to store role - Duplicate "
                               f"entry found with name {name}.")
            role = Role(id=_new_id(), name=name, domain_id=domain_id, description=description)
            s.add(role)
            return role

    @staticmethod
    def _role(s: Session, role_id: str) -> Role:
        role = s.get(Role, role_id)
        if role is None:
            raise NotFound(f"Could not find role: {role_id}.")
        return role

    def get_role(self, role_id: str) -> Role:
        with self.db.session() as s:
            return self._role(s, role_id)

    def role_by_name(self, name: str) -> Role:
        with self.db.session() as s:
            role = s.scalar(select(Role).where(Role.name == name))
            if role is None:
                raise NotFound(f"Could not find role: {name}.")
            return role

    def list_roles(self, name: str | None = None, domain_id: str | None = None) -> list[Role]:
        """Global roles, or the roles of ``domain_id``; optionally only the one named."""
        with self.db.session() as s:
            query = select(Role).where(Role.domain_id.is_(None) if domain_id is None
                                       else Role.domain_id == domain_id)
            if name is not None:
                query = query.where(Role.name == name)
            return list(s.scalars(query.order_by(Role.name)))

    def update_role(self, role_id: str, changes: dict) -> Role:
        with self.db.session() as s:
            role = self._role(s, role_id)
            if "domain_id" in changes and changes["domain_id"] != role.domain_id:
                raise BadRequest("The domain_id of a role cannot be changed.")
            name = changes.get("name", role.name)
            if name != role.name and s.scalar(select(Role).where(Role.name == name)):
                raise Conflict(f"Conflict occurred attempting to store role - Duplicate "
                               f"entry found with name {name}.")
            role.name = name
            if "description" in changes:
                role.description = changes["description"]
            return role

    def delete_role(self, role_id: str) -> None:
        with self.db.session() as s:
            s.delete(self._role(s, role_id))  # grants and implications cascade

    # -- implied roles -------------------------------------------------------------------
    def create_implied(self, prior_id: str, implied_id: str) -> tuple[Role, Role]:
        with self.db.session() as s:
            prior, implied = self._role(s, prior_id), self._role(s, implied_id)
            if implied.name in PROHIBITED_IMPLIED:
                raise Forbidden(f"{implied.name} is not a valid implied role.")
            if prior.domain_id is None and implied.domain_id is not None:
                raise Forbidden("Global role cannot imply a domain-specific role.")
            if s.get(ImpliedRole, (prior.id, implied.id)) is None:
                s.add(ImpliedRole(prior_role_id=prior.id, implied_role_id=implied.id))
            return prior, implied

    def get_implied(self, prior_id: str, implied_id: str) -> tuple[Role, Role]:
        with self.db.session() as s:
            prior, implied = self._role(s, prior_id), self._role(s, implied_id)
            if s.get(ImpliedRole, (prior.id, implied.id)) is None:
                raise NotFound(f"{prior_id} does not imply {implied_id}.")
            return prior, implied

    def delete_implied(self, prior_id: str, implied_id: str) -> None:
        with self.db.session() as s:
            prior, implied = self._role(s, prior_id), self._role(s, implied_id)
            rule = s.get(ImpliedRole, (prior.id, implied.id))
            if rule is None:
                raise NotFound(f"{prior_id} does not imply {implied_id}.")
            s.delete(rule)

    def implied_by(self, prior_id: str) -> tuple[Role, list[Role]]:
        """A role and the roles it directly implies."""
        with self.db.session() as s:
            prior = self._role(s, prior_id)
            return prior, list(s.scalars(
                select(Role).join(ImpliedRole, ImpliedRole.implied_role_id == Role.id)
                .where(ImpliedRole.prior_role_id == prior.id).order_by(Role.name)))

    def inferences(self) -> list[tuple[Role, list[Role]]]:
        """Every role that implies others, with the roles it implies."""
        with self.db.session() as s:
            roles = {r.id: r for r in s.scalars(select(Role))}
            rules = implications(s)
            return [(roles[prior], sorted((roles[i] for i in implied), key=lambda r: r.name))
                    for prior, implied in sorted(rules.items())]

    # -- grants --------------------------------------------------------------------------
    def _check_parts(self, s: Session, actor: str, actor_id: str, target: str,
                     target_id: str, role_id: str) -> Role:
        """404 for a missing actor, target or role; 403 when a domain-specific role is used
        outside its domain."""
        model = User if actor == "User" else Group
        if s.get(model, actor_id) is None:
            raise NotFound(f"Could not find {actor.lower()}: {actor_id}.")
        target_domain = None
        if target == "Project":
            project = s.get(Project, target_id)
            if project is None:
                raise NotFound(f"Could not find project: {target_id}.")
            target_domain = project.domain_id
        elif target == "Domain":
            if s.get(Domain, target_id) is None:
                raise NotFound(f"Could not find domain: {target_id}.")
            target_domain = target_id
        role = self._role(s, role_id)
        if role.domain_id is not None and role.domain_id != target_domain:
            raise Forbidden(f"Domain-specific role {role_id} cannot be assigned outside "
                            f"its domain {role.domain_id}.")
        return role

    def grant(self, actor: str, actor_id: str, target: str, target_id: str,
              role_id: str) -> None:
        with self.db.session() as s:
            self._check_parts(s, actor, actor_id, target, target_id, role_id)
            key = (actor + target, actor_id, target_id, role_id, False)
            if s.get(Assignment, key) is None:
                s.add(Assignment(type=key[0], actor_id=actor_id, target_id=target_id,
                                 role_id=role_id, inherited=False))

    def has_grant(self, actor: str, actor_id: str, target: str, target_id: str,
                  role_id: str) -> bool:
        with self.db.session() as s:
            self._check_parts(s, actor, actor_id, target, target_id, role_id)
            return s.get(Assignment, (actor + target, actor_id, target_id, role_id,
                                      False)) is not None

    def revoke(self, actor: str, actor_id: str, target: str, target_id: str,
               role_id: str) -> None:
        with self.db.session() as s:
            self._check_parts(s, actor, actor_id, target, target_id, role_id)
            row = s.get(Assignment, (actor + target, actor_id, target_id, role_id, False))
            if row is None:
                raise NotFound(f"Could not find role assignment with role: {role_id}, "
                               f"{actor.lower()}: {actor_id}, on: {target_id}.")
            s.delete(row)

    def granted_roles(self, actor: str, actor_id: str, target: str,
                      target_id: str) -> list[Role]:
        """The roles granted directly to the actor on the target (404 if either is gone)."""
        with self.db.session() as s:
            model = User if actor == "User" else Group
            if s.get(model, actor_id) is None:
                raise NotFound(f"Could not find {actor.lower()}: {actor_id}.")
            holder = {"Project": Project, "Domain": Domain}.get(target)
            if holder is not None and s.get(holder, target_id) is None:
                raise NotFound(f"Could not find {target.lower()}: {target_id}.")
            return list(s.scalars(
                select(Role).join(Assignment, Assignment.role_id == Role.id)
                .where(Assignment.type == actor + target, Assignment.actor_id == actor_id,
                       Assignment.target_id == target_id, Assignment.inherited.is_(False))
                .order_by(Role.name)))

    def scope_targets(self, user_id: str, kind: str) -> list[str]:
        """The ids of the targets of ``kind`` (Project, Domain, System) on which the user
        holds a role (directly or through a group)."""
        with self.db.session() as s:
            actors = or_(
                (Assignment.type == f"User{kind}") & (Assignment.actor_id == user_id),
                (Assignment.type == f"Group{kind}")
                & Assignment.actor_id.in_(group_ids(s, user_id)))
            targets = set(s.scalars(select(Assignment.target_id).where(actors)))
            return sorted(t for t in targets if effective_roles(s, user_id, kind, t))

    def names(self, roles: Iterable[str], users: Iterable[str], groups: Iterable[str],
              projects: Iterable[str], domains: Iterable[str]) -> dict[str, dict]:
        """id -> ``{"name", "domain": {"id", "name"}}`` (``include_names``)."""
        with self.db.session() as s:
            domain_names = dict(s.execute(select(Domain.id, Domain.name)).all())

            def with_domain(name: str, domain_id: str | None) -> dict:
                out: dict = {"name": name}
                if domain_id is not None:
                    out["domain"] = {"id": domain_id, "name": domain_names.get(domain_id)}
                return out

            out: dict[str, dict] = {}
            for model, ids in ((Role, roles), (User, users), (Group, groups),
                               (Project, projects)):
                for row in s.scalars(select(model).where(model.id.in_(list(ids)))):
                    out[row.id] = with_domain(row.name, row.domain_id)
            for domain_id in domains:
                out[domain_id] = {"name": domain_names.get(domain_id)}
            return out

    # -- listing -------------------------------------------------------------------------
    def list_assignments(self, q: AssignmentQuery) -> list[AssignmentRecord]:
        """``GET /v3/role_assignments``: direct grants, or with ``effective`` what users
        hold (groups expanded into their members, implied roles added, domain-specific
        roles left out)."""
        if q.effective and q.group_id:
            raise BadRequest("Combining effective and group filter will always result in "
                             "an empty list.")
        with self.db.session() as s:
            records = []
            for row in s.scalars(select(Assignment)):
                actor, target = split_type(row.type)
                records.append(AssignmentRecord(actor, row.actor_id, target, row.target_id,
                                                row.role_id, row.inherited))
            records = [r for r in records if self._in_scope(s, q, r)]
            if q.effective:
                records = self._effective(s, records)
            records = [r for r in records if self._matches(q, r)]
        return sorted(set(records), key=lambda r: (r.target, r.target_id, r.actor,
                                                   r.actor_id, r.role_id))

    @staticmethod
    def _in_scope(s: Session, q: AssignmentQuery, r: AssignmentRecord) -> bool:
        if q.project_id is not None:
            wanted = {q.project_id}
            if q.include_subtree:
                wanted |= set(subtree_ids(s, q.project_id))
            return r.target == "Project" and r.target_id in wanted
        if q.domain_id is not None:
            return r.target == "Domain" and r.target_id == q.domain_id
        if q.system:
            return r.target == "System"
        return True

    @staticmethod
    def _matches(q: AssignmentQuery, r: AssignmentRecord) -> bool:
        if q.user_id is not None and (r.actor != "User" or r.actor_id != q.user_id):
            return False
        if q.group_id is not None and (r.actor != "Group" or r.actor_id != q.group_id):
            return False
        return q.role_id is None or r.role_id == q.role_id

    @staticmethod
    def _effective(s: Session, records: Iterable[AssignmentRecord]) -> list[AssignmentRecord]:
        members: dict[str, list[str]] = {}
        for user_id, group_id in s.execute(select(UserGroupMembership.user_id,
                                                  UserGroupMembership.group_id)):
            members.setdefault(group_id, []).append(user_id)
        users: list[AssignmentRecord] = []
        for r in records:
            if r.actor == "Group":
                users += [replace(r, actor="User", actor_id=u, via_group=r.actor_id)
                          for u in members.get(r.actor_id, ())]
            else:
                users.append(r)
        rules = implications(s)
        global_ids = set(s.scalars(select(Role.id).where(Role.domain_id.is_(None))))
        out = []
        for r in users:
            for role_id in expand_implied([r.role_id], rules):
                prior = None if role_id == r.role_id else r.role_id
                out.append(replace(r, role_id=role_id, prior_role_id=prior))
        return [r for r in out if r.role_id in global_ids]


def subtree_ids(s: Session, project_id: str) -> list[str]:
    """The ids of every project below ``project_id`` (not itself)."""
    out, todo = [], [project_id]
    while todo:
        children = list(s.scalars(select(Project.id).where(Project.parent_id == todo.pop())))
        out += children
        todo += children
    return out


def ensure_default_roles(s: Session, names: Iterable[str]) -> dict[str, Role]:
    """The bootstrap roles by name, created if missing; a role created here gets Keystone's
    default implications (admin implies manager implies member implies reader)."""
    roles, created = {}, set()
    for name in names:
        role = s.scalar(select(Role).where(Role.name == name))
        if role is None:
            role = Role(id=_new_id(), name=name)
            s.add(role)
            created.add(name)
        roles[name] = role
    s.flush()
    for prior, implied in DEFAULT_IMPLIED:
        if (prior in created or implied in created) and prior in roles and implied in roles \
                and s.get(ImpliedRole, (roles[prior].id, roles[implied].id)) is None:
            s.add(ImpliedRole(prior_role_id=roles[prior].id, implied_role_id=roles[implied].id))
    return roles


def ensure_grant(s: Session, actor: str, actor_id: str, target: str, target_id: str,
                 role_id: str) -> None:
    """Grant (idempotent, no checks: for the bootstrap)."""
    key = (actor + target, actor_id, target_id, role_id, False)
    if s.get(Assignment, key) is None:
        s.add(Assignment(type=key[0], actor_id=actor_id, target_id=target_id,
                         role_id=role_id, inherited=False))
