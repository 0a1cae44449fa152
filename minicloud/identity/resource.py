"""Domains and projects (Keystone's "resource" backend): hierarchy, tags, cascading deletes.

A domain is also visible as a project acting as a domain (``is_domain``), as Keystone shows
it: creating a project with ``is_domain`` creates a domain, and ``/v3/projects/{id}`` reaches a
domain by its id. Deleting a domain (which must be disabled first) deletes everything it owns:
projects, users, groups, domain-specific roles and every grant on or to them.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from minicloud.db import Database
from minicloud.errors import BadRequest, Conflict, Forbidden, NotFound
from minicloud.identity import assignments
from minicloud.identity.models import Domain, Group, Project, ProjectTag, Role, User

DEFAULT_DOMAIN_ID, DEFAULT_DOMAIN_NAME = "default", "Default"
MAX_TAGS = 80


@dataclass(frozen=True)
class ProjectRecord:
    """A project as the API shows it (``parent_id`` is the domain for a top-level project;
    a domain seen as a project has ``is_domain`` and no ``domain_id``)."""

    id: str
    name: str
    domain_id: str | None
    description: str
    enabled: bool
    parent_id: str | None
    is_domain: bool = False
    tags: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ProjectQuery:
    """The filters of ``GET /v3/projects`` (tag filters are lists of tags)."""

    name: str | None = None
    domain_id: str | None = None
    enabled: bool | None = None
    parent_id: str | None = None
    is_domain: bool = False
    tags: tuple[str, ...] = ()
    tags_any: tuple[str, ...] = ()
    not_tags: tuple[str, ...] = ()
    not_tags_any: tuple[str, ...] = ()

    def matches(self, p: ProjectRecord) -> bool:
        tags = set(p.tags)
        return ((self.name is None or p.name == self.name)
                and (self.domain_id is None or p.domain_id == self.domain_id)
                and (self.enabled is None or p.enabled == self.enabled)
                and (self.parent_id is None or p.parent_id == self.parent_id)
                and (not self.tags or tags.issuperset(self.tags))
                and (not self.tags_any or bool(tags.intersection(self.tags_any)))
                and (not self.not_tags or not tags.issuperset(self.not_tags))
                and (not self.not_tags_any or not tags.intersection(self.not_tags_any)))


def new_id() -> str:
    return uuid.uuid4().hex


def _tags(s: Session, project_id: str) -> tuple[str, ...]:
    return tuple(s.scalars(select(ProjectTag.name).where(ProjectTag.project_id == project_id)
                           .order_by(ProjectTag.name)))


def project_record(s: Session, p: Project) -> ProjectRecord:
    return ProjectRecord(p.id, p.name, p.domain_id, p.description or "", p.enabled,
                         p.parent_id or p.domain_id, False, _tags(s, p.id),
                         json.loads(p.extra or "{}"))


def domain_as_project(d: Domain) -> ProjectRecord:
    return ProjectRecord(d.id, d.name, None, d.description or "", d.enabled, None, True)


def check_tags(tags: Iterable[str]) -> list[str]:
    tags = list(dict.fromkeys(tags))
    if len(tags) > MAX_TAGS:
        raise BadRequest(f"A project has at most {MAX_TAGS} tags.")
    return tags


class ResourceService:
    """Domains, projects and project tags; each call one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- domains -------------------------------------------------------------------------
    @staticmethod
    def _domain(s: Session, domain_id: str) -> Domain:
        domain = s.get(Domain, domain_id)
        if domain is None:
            raise NotFound(f"Could not find domain: {domain_id}.")
        return domain

    def create_domain(self, name: str, description: str = "", enabled: bool = True,
                      domain_id: str | None = None) -> Domain:
        with self.db.session() as s:
            if s.scalar(select(Domain).where(Domain.name == name)) is not None:
                raise Conflict(f"Conflict occurred attempting to store domain - Duplicate "
                               f"entry found with name {name}.")
            if domain_id is not None and s.get(Domain, domain_id) is not None:
                raise Conflict(f"Conflict occurred attempting to store domain - Duplicate "
                               f"entry found with id {domain_id}.")
            domain = Domain(id=domain_id or new_id(), name=name, description=description or "",
                            enabled=enabled)
            s.add(domain)
            return domain

    def get_domain(self, domain_id: str) -> Domain:
        with self.db.session() as s:
            return self._domain(s, domain_id)

    def domain_by_name(self, name: str) -> Domain:
        with self.db.session() as s:
            domain = s.scalar(select(Domain).where(Domain.name == name))
            if domain is None:
                raise NotFound(f"Could not find domain: {name}.")
            return domain

    def list_domains(self, name: str | None = None, enabled: bool | None = None,
                     ids: Iterable[str] | None = None) -> list[Domain]:
        with self.db.session() as s:
            query = select(Domain).order_by(Domain.name)
            if name is not None:
                query = query.where(Domain.name == name)
            if enabled is not None:
                query = query.where(Domain.enabled.is_(enabled))
            if ids is not None:
                query = query.where(Domain.id.in_(list(ids)))
            return list(s.scalars(query))

    def update_domain(self, domain_id: str, changes: dict) -> Domain:
        with self.db.session() as s:
            domain = self._domain(s, domain_id)
            name = changes.get("name", domain.name)
            if name != domain.name and s.scalar(select(Domain).where(Domain.name == name)):
                raise Conflict(f"Conflict occurred attempting to store domain - Duplicate "
                               f"entry found with name {name}.")
            if domain.id == DEFAULT_DOMAIN_ID and changes.get("enabled") is False:
                raise Forbidden("The default domain cannot be disabled.")
            domain.name = name
            if "description" in changes:
                domain.description = changes["description"] or ""
            if "enabled" in changes:
                domain.enabled = changes["enabled"]
            return domain

    def delete_domain(self, domain_id: str) -> None:
        """Delete a disabled domain and everything it owns (403 while it is enabled)."""
        with self.db.session() as s:
            domain = self._domain(s, domain_id)
            if domain.enabled:
                raise Forbidden("Cannot delete a domain that is enabled, please disable it "
                                "first.")
            for project_id in s.scalars(select(Project.id).where(Project.domain_id == domain.id)):
                assignments.forget(s, target_id=project_id, target="Project")
            for user_id in s.scalars(select(User.id).where(User.domain_id == domain.id)):
                assignments.forget(s, actor_id=user_id, actor="User")
            for group_id in s.scalars(select(Group.id).where(Group.domain_id == domain.id)):
                assignments.forget(s, actor_id=group_id, actor="Group")
            assignments.forget(s, target_id=domain.id, target="Domain")
            # Children before parents: a project's parent must exist while it does.
            s.execute(Project.__table__.update().where(Project.domain_id == domain.id)
                      .values(parent_id=None))
            for model in (Project, User, Group, Role):
                s.execute(delete(model).where(model.domain_id == domain.id))
            s.delete(domain)

    # -- projects ------------------------------------------------------------------------
    @staticmethod
    def _project(s: Session, project_id: str) -> Project:
        project = s.get(Project, project_id)
        if project is None:
            raise NotFound(f"Could not find project: {project_id}.")
        return project

    def create_project(self, name: str, domain_id: str | None = None,
                       parent_id: str | None = None, description: str = "",
                       enabled: bool = True, tags: Iterable[str] = (),
                       extra: dict | None = None) -> ProjectRecord:
        """A project in ``domain_id`` (default: the parent's domain, else ``default``),
        under ``parent_id`` (a project of the same domain, or the domain itself)."""
        with self.db.session() as s:
            parent = None
            if parent_id is not None and s.get(Domain, parent_id) is not None:
                if domain_id not in (None, parent_id):
                    raise BadRequest("The parent domain is not the project's domain.")
                domain_id = parent_id
            elif parent_id is not None:
                parent = s.get(Project, parent_id)
                if parent is None:
                    raise NotFound(f"Could not find project: {parent_id}.")
                if domain_id not in (None, parent.domain_id):
                    raise BadRequest("A project must be in the same domain as its parent.")
                domain_id = parent.domain_id
            domain = self._domain(s, domain_id or DEFAULT_DOMAIN_ID)
            if s.scalar(select(Project).where(Project.domain_id == domain.id,
                                              Project.name == name)) is not None:
                raise Conflict(f"Conflict occurred attempting to store project - it is not "
                               f"permitted to have two projects with the same name in the "
                               f"same domain : {name}.")
            project = Project(id=new_id(), name=name, domain_id=domain.id,
                              parent_id=parent.id if parent else None,
                              description=description or "", enabled=enabled,
                              extra=json.dumps(extra or {}))
            s.add(project)
            s.flush()
            s.add_all(ProjectTag(project_id=project.id, name=t) for t in check_tags(tags))
            s.flush()
            return project_record(s, project)

    def get_project(self, project_id: str) -> ProjectRecord:
        """A project, or a domain seen as a project."""
        with self.db.session() as s:
            domain = s.get(Domain, project_id)
            if domain is not None:
                return domain_as_project(domain)
            return project_record(s, self._project(s, project_id))

    def list_projects(self, q: ProjectQuery, ids: Iterable[str] | None = None
                      ) -> list[ProjectRecord]:
        with self.db.session() as s:
            if q.is_domain:
                records = [domain_as_project(d) for d in s.scalars(select(Domain))]
            else:
                query = select(Project)
                if ids is not None:
                    query = query.where(Project.id.in_(list(ids)))
                records = [project_record(s, p) for p in s.scalars(query)]
        return sorted((r for r in records if q.matches(r)), key=lambda r: (r.name, r.id))

    def update_project(self, project_id: str, changes: dict) -> ProjectRecord:
        for key in ("domain_id", "parent_id", "is_domain"):
            changes.pop(key, None)  # immutable (the update schema refuses other values)
        with self.db.session() as s:
            if s.get(Domain, project_id) is None:
                return self._update_project(s, self._project(s, project_id), changes)
        return domain_as_project(self.update_domain(project_id, changes))

    @staticmethod
    def _update_project(s: Session, project: Project, changes: dict) -> ProjectRecord:
        name = changes.pop("name", project.name)
        if name != project.name and s.scalar(select(Project).where(
                Project.domain_id == project.domain_id, Project.name == name)) is not None:
            raise Conflict(f"Conflict occurred attempting to store project - it is not "
                           f"permitted to have two projects with the same name in the same "
                           f"domain : {name}.")
        project.name = name
        if "description" in changes:
            project.description = changes.pop("description") or ""
        if "enabled" in changes:
            project.enabled = changes.pop("enabled")
        if "tags" in changes:
            _replace_tags(s, project.id, changes.pop("tags"))
        changes.pop("options", None)
        if changes:
            project.extra = json.dumps({**json.loads(project.extra or "{}"), **changes})
        s.flush()
        return project_record(s, project)

    def delete_project(self, project_id: str) -> None:
        """Delete a project with no children (403 otherwise), or a disabled domain."""
        with self.db.session() as s:
            if s.get(Domain, project_id) is None:
                project = self._project(s, project_id)
                if s.scalar(select(Project.id).where(Project.parent_id == project.id)):
                    raise Forbidden(f"Cannot delete the project {project_id} since it is not "
                                    f"a leaf in the hierarchy.")
                assignments.forget(s, target_id=project.id, target="Project")
                s.delete(project)
                return
        self.delete_domain(project_id)

    # -- tags ----------------------------------------------------------------------------
    def list_tags(self, project_id: str) -> list[str]:
        with self.db.session() as s:
            return list(_tags(s, self._project(s, project_id).id))

    def replace_tags(self, project_id: str, tags: Iterable[str]) -> list[str]:
        with self.db.session() as s:
            _replace_tags(s, self._project(s, project_id).id, tags)
            return list(_tags(s, project_id))

    def add_tag(self, project_id: str, tag: str) -> None:
        with self.db.session() as s:
            current = _tags(s, self._project(s, project_id).id)
            if tag not in current:
                check_tags([*current, tag])
                s.add(ProjectTag(project_id=project_id, name=tag))

    def has_tag(self, project_id: str, tag: str) -> bool:
        with self.db.session() as s:
            return tag in _tags(s, self._project(s, project_id).id)

    def delete_tag(self, project_id: str, tag: str) -> None:
        with self.db.session() as s:
            row = s.get(ProjectTag, (self._project(s, project_id).id, tag))
            if row is None:
                raise NotFound(f"Tag {tag} not found on project {project_id}.")
            s.delete(row)


def _replace_tags(s: Session, project_id: str, tags: Iterable[str]) -> None:
    tags = check_tags(tags)
    s.execute(delete(ProjectTag).where(ProjectTag.project_id == project_id))
    s.add_all(ProjectTag(project_id=project_id, name=t) for t in tags)
    s.flush()
