"""Identity bootstrap and the small administration surface the rest of minicloud uses
(the runner, the agents, the tests): names or ids in, records out.

The full Keystone logic lives in :mod:`~minicloud.identity.resource` (domains, projects),
:mod:`~minicloud.identity.users` (users, groups) and :mod:`~minicloud.identity.assignments`
(roles, grants); this module composes them.
"""
from __future__ import annotations

import secrets

from sqlalchemy import select

from minicloud.db import Database
from minicloud.errors import NotFound
from minicloud.identity import assignments
from minicloud.identity.assignments import AssignmentService
from minicloud.identity.models import Domain, Project, Role
from minicloud.identity.resource import (
    DEFAULT_DOMAIN_ID,
    DEFAULT_DOMAIN_NAME,
    ProjectQuery,
    ProjectRecord,
    ResourceService,
)
from minicloud.identity.users import UserRecord, UserService, check_password, hash_password

DEFAULT_DOMAIN = (DEFAULT_DOMAIN_ID, DEFAULT_DOMAIN_NAME)
#: The roles ``keystone-manage bootstrap`` makes (2024.1+; Tempest's test classes ask for
#: ``manager`` and ``service`` by name).
ROLES = ("admin", "manager", "member", "reader", "service")
#: The identity services use to call each other (as Nova's service user calls Glance).
#: Its password is random and never stored: services mint its tokens with the Fernet key.
SERVICE_USER, SERVICE_PROJECT = "minicloud-service", "service"

__all__ = ["IdentityService", "hash_password", "check_password", "DEFAULT_DOMAIN", "ROLES",
           "SERVICE_USER", "SERVICE_PROJECT"]


class IdentityService:
    """Bootstrap, and projects, users and role grants by name or id (default domain)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.resource = ResourceService(db)
        self.users = UserService(db)
        self.assignments = AssignmentService(db)

    # -- bootstrap -----------------------------------------------------------------------
    def bootstrap(self, admin_user: str, admin_project: str, password: str) -> bool:
        """What ``keystone-manage bootstrap`` makes, idempotently: the ``Default`` domain,
        roles admin, manager, member, reader and service (admin implies manager implies member
        implies reader), the service
        user and project, the admin project and user with ``admin`` on it and on the system.

        Returns True when the admin user was created (so its password is new).
        """
        with self.db.session() as s:
            if s.get(Domain, DEFAULT_DOMAIN_ID) is None:
                s.add(Domain(id=DEFAULT_DOMAIN_ID, name=DEFAULT_DOMAIN_NAME, enabled=True,
                             description="The default domain"))
            assignments.ensure_default_roles(s, ROLES)
        self.ensure_project(SERVICE_PROJECT, "Service accounts")
        if self._find_user(SERVICE_USER) is None:
            self.create_user(SERVICE_USER, secrets.token_urlsafe(32), SERVICE_PROJECT, "admin")
        project = self.ensure_project(admin_project, "Bootstrap admin project")
        created = self._find_user(admin_user) is None
        if created:
            self.create_user(admin_user, password, project.name, "admin")
        admin = self.get_user(admin_user)
        with self.db.session() as s:
            role = s.scalar(select(Role).where(Role.name == "admin"))
            assignments.ensure_grant(s, "User", admin.id, "Project", project.id, role.id)
            assignments.ensure_grant(s, "User", admin.id, "System", assignments.SYSTEM,
                                     role.id)
        return created

    def service_identity(self) -> tuple[str, str]:
        """``(user_id, project_id)`` of the service user, for minting service tokens."""
        return self.get_user(SERVICE_USER).id, self.get_project(SERVICE_PROJECT).id

    def ensure_project(self, name: str, description: str = "") -> ProjectRecord:
        """The project ``name`` of the default domain, created if missing."""
        found = self._find_project(name)
        return found or self.resource.create_project(name, DEFAULT_DOMAIN_ID,
                                                     description=description)

    # -- by name or id -------------------------------------------------------------------
    def _find_project(self, name_or_id: str) -> ProjectRecord | None:
        with self.db.session() as s:
            project = s.get(Project, name_or_id) or s.scalar(select(Project).where(
                Project.name == name_or_id, Project.domain_id == DEFAULT_DOMAIN_ID))
            project_id = project.id if project is not None else None
        return self.resource.get_project(project_id) if project_id else None

    def _find_user(self, name_or_id: str) -> UserRecord | None:
        try:
            return self.users.get_user(name_or_id)
        except NotFound:
            pass
        try:
            return self.users.find_user(name_or_id, DEFAULT_DOMAIN_ID)
        except NotFound:
            return None

    def get_project(self, name_or_id: str) -> ProjectRecord:
        project = self._find_project(name_or_id)
        if project is None:
            raise NotFound(f"Could not find project: {name_or_id}.")
        return project

    def list_projects(self) -> list[ProjectRecord]:
        return self.resource.list_projects(ProjectQuery())

    def create_project(self, name: str, description: str = "") -> ProjectRecord:
        """A project of the default domain (409 when the name is taken)."""
        return self.resource.create_project(name, DEFAULT_DOMAIN_ID, description=description)

    def get_user(self, name_or_id: str) -> UserRecord:
        user = self._find_user(name_or_id)
        if user is None:
            raise NotFound(f"Could not find user: {name_or_id}.")
        return user

    def list_users(self) -> list[UserRecord]:
        return self.users.list_users()

    def create_user(self, name: str, password: str, project: str | None = None,
                    role: str | None = None) -> UserRecord:
        """A user of the default domain, with ``project`` (name or id) as its default
        project and, with ``role``, that role on it."""
        proj = self.get_project(project) if project else None
        user = self.users.create_user(name, password, DEFAULT_DOMAIN_ID,
                                      default_project_id=proj.id if proj else None)
        if proj and role:
            self.assign_role(user.id, proj.id, role)
        return user

    def list_roles(self) -> list[Role]:
        return self.assignments.list_roles()

    def assign_role(self, user: str, project: str, role: str) -> None:
        """Grant ``role`` (name or id) to ``user`` on ``project`` (names or ids)."""
        user_id = self.get_user(user).id
        project_id = self.get_project(project).id
        try:
            role_id = self.assignments.get_role(role).id
        except NotFound:
            role_id = self.assignments.role_by_name(role).id
        self.assignments.grant("User", user_id, "Project", project_id, role_id)
