"""Identity domain logic: bootstrap, password authentication, projects, users and roles."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from minicloud.db import Database
from minicloud.errors import BadRequest, Conflict, NotFound, Unauthorized
from minicloud.identity.models import Domain, Project, Role, RoleAssignment, User

DEFAULT_DOMAIN = ("default", "Default")
ROLES = ("admin", "member", "reader")
#: The identity services use to call each other (as Nova's service user calls Glance).
#: Its password is random and never stored: services mint its tokens with the Fernet key.
SERVICE_USER, SERVICE_PROJECT = "minicloud-service", "service"
_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        _, salt, digest = stored.split("$")
        candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), **_SCRYPT)
    except ValueError:
        return False
    return hmac.compare_digest(candidate.hex(), digest)


def _hex_id() -> str:
    return uuid.uuid4().hex


class IdentityService:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- bootstrap -----------------------------------------------------------------------
    def bootstrap(self, admin_user: str, admin_project: str, password: str) -> bool:
        """Create the default domain, roles, admin project and user if missing.

        Returns True when the admin user was created (so its password is new).
        """
        with self.db.session() as s:
            if s.get(Domain, DEFAULT_DOMAIN[0]) is None:
                s.add(Domain(id=DEFAULT_DOMAIN[0], name=DEFAULT_DOMAIN[1], enabled=True))
            for name in ROLES:
                if s.scalar(select(Role).where(Role.name == name)) is None:
                    s.add(Role(id=_hex_id(), name=name))
        self.ensure_project(SERVICE_PROJECT, "Service accounts")
        with self.db.session() as s:
            missing_service = self._user_by_name(s, SERVICE_USER) is None
        if missing_service:
            self.create_user(SERVICE_USER, secrets.token_urlsafe(32), SERVICE_PROJECT, "admin")
        project = self.ensure_project(admin_project, "Bootstrap admin project")
        with self.db.session() as s:
            if self._user_by_name(s, admin_user) is not None:
                return False
        self.create_user(admin_user, password, project.name, "admin")
        return True

    def service_identity(self) -> tuple[str, str]:
        """``(user_id, project_id)`` of the service user, for minting service tokens."""
        return self.get_user(SERVICE_USER).id, self.get_project(SERVICE_PROJECT).id

    def ensure_project(self, name: str, description: str = "") -> Project:
        with self.db.session() as s:
            project = s.scalar(select(Project).where(Project.name == name,
                                                     Project.domain_id == DEFAULT_DOMAIN[0]))
            if project is None:
                project = Project(id=_hex_id(), name=name, domain_id=DEFAULT_DOMAIN[0],
                                  description=description, enabled=True)
                s.add(project)
            return project

    # -- authentication ------------------------------------------------------------------
    @staticmethod
    def auth_request(body: dict) -> tuple[str, dict, dict | None]:
        """``(method, its identity object, project scope or None)`` of a v3 auth request:
        method ``password`` (``{"user": {..., "password"}}``) or ``token`` (``{"id"}``)."""
        try:
            identity = body["auth"]["identity"]
            methods = identity.get("methods", [])
            method = next(m for m in ("password", "token") if m in methods)
            ref = identity[method]
            if not isinstance(ref, dict):
                raise TypeError
        except StopIteration:
            raise BadRequest("Only the password and token authentication methods are "
                             "supported.") from None
        except (KeyError, TypeError, AttributeError):
            raise BadRequest("Expecting auth.identity with methods and a password or token "
                             "object.") from None
        scope = body["auth"].get("scope")
        return method, ref, scope.get("project") if isinstance(scope, dict) else None

    def authenticate(self, user_ref: dict, scope: dict | None) -> tuple[str, str]:
        """Check a password (``user_ref``: name or id, domain, password); return
        ``(user_id, project_id)`` for the scope (default: the user's default project)."""
        password = user_ref.get("password")
        with self.db.session() as s:
            user = self._find_user(s, user_ref)
            if user is None or not user.enabled or not isinstance(password, str) or \
                    not check_password(password, user.password_hash):
                raise Unauthorized("The request you have made requires authentication.")
            return user.id, self._scope(s, user, scope)

    def rescope(self, user_id: str, scope: dict | None, current_project: str) -> str:
        """The project a token of ``user_id`` may be rescoped to (default: its own)."""
        with self.db.session() as s:
            user = s.get(User, user_id)
            return self._scope(s, user, scope or {"id": current_project})

    def _scope(self, s: Session, user: User, scope: dict | None) -> str:
        if scope is None:
            if not user.default_project_id:
                raise BadRequest("A project scope is required.")
            project = s.get(Project, user.default_project_id)
        else:
            project = self._find_project(s, scope)
        if project is None or not project.enabled:
            raise Unauthorized("The project to scope to does not exist or is disabled.")
        has_role = s.scalar(select(RoleAssignment).where(
            RoleAssignment.user_id == user.id, RoleAssignment.project_id == project.id))
        if has_role is None:
            raise Unauthorized(f"User {user.id} has no access to project {project.id}.")
        return project.id

    @staticmethod
    def _domain_id(ref: object) -> str:
        if not isinstance(ref, dict):
            return DEFAULT_DOMAIN[0]
        if "id" in ref:
            return str(ref["id"])
        if "name" in ref:
            return DEFAULT_DOMAIN[0] if ref["name"] == DEFAULT_DOMAIN[1] else f"?{ref['name']}"
        return DEFAULT_DOMAIN[0]

    def _find_user(self, s: Session, ref: dict) -> User | None:
        if "id" in ref:
            return s.get(User, str(ref["id"]))
        if "name" not in ref:
            raise BadRequest("The user must be given by id or by name.")
        return s.scalar(select(User).where(User.name == str(ref["name"]),
                                           User.domain_id == self._domain_id(ref.get("domain"))))

    def _find_project(self, s: Session, ref: dict) -> Project | None:
        if not isinstance(ref, dict):
            raise BadRequest("scope.project must be an object.")
        if "id" in ref:
            return s.get(Project, str(ref["id"]))
        if "name" not in ref:
            raise BadRequest("The project must be given by id or by name.")
        return s.scalar(select(Project).where(
            Project.name == str(ref["name"]),
            Project.domain_id == self._domain_id(ref.get("domain"))))

    @staticmethod
    def _user_by_name(s: Session, name: str) -> User | None:
        return s.scalar(select(User).where(User.name == name,
                                           User.domain_id == DEFAULT_DOMAIN[0]))

    # -- administration ------------------------------------------------------------------
    def list_projects(self) -> list[Project]:
        with self.db.session() as s:
            return list(s.scalars(select(Project).order_by(Project.name)))

    def create_project(self, name: str, description: str = "") -> Project:
        with self.db.session() as s:
            if s.scalar(select(Project).where(Project.name == name)) is not None:
                raise Conflict(f"Project {name} already exists.")
        return self.ensure_project(name, description)

    def get_project(self, name_or_id: str) -> Project:
        with self.db.session() as s:
            project = s.get(Project, name_or_id) or s.scalar(
                select(Project).where(Project.name == name_or_id))
            if project is None:
                raise NotFound(f"Could not find project: {name_or_id}.")
            return project

    def list_users(self) -> list[User]:
        with self.db.session() as s:
            return list(s.scalars(select(User).order_by(User.name)))

    def get_user(self, name_or_id: str) -> User:
        with self.db.session() as s:
            user = s.get(User, name_or_id) or self._user_by_name(s, name_or_id)
            if user is None:
                raise NotFound(f"Could not find user: {name_or_id}.")
            return user

    def create_user(self, name: str, password: str, project: str | None = None,
                    role: str | None = None) -> User:
        if not name or not isinstance(password, str) or not password:
            raise BadRequest("A user needs a name and a password.")
        proj = self.get_project(project) if project else None
        with self.db.session() as s:
            if self._user_by_name(s, name) is not None:
                raise Conflict(f"User {name} already exists.")
            user = User(id=_hex_id(), name=name, domain_id=DEFAULT_DOMAIN[0],
                        password_hash=hash_password(password),
                        default_project_id=proj.id if proj else None, enabled=True)
            s.add(user)
        if proj and role:
            self.assign_role(user.id, proj.id, role)
        return user

    def list_roles(self) -> list[Role]:
        with self.db.session() as s:
            return list(s.scalars(select(Role).order_by(Role.name)))

    def assign_role(self, user: str, project: str, role: str) -> None:
        user_id = self.get_user(user).id
        project_id = self.get_project(project).id
        with self.db.session() as s:
            role_row = s.get(Role, role) or s.scalar(select(Role).where(Role.name == role))
            if role_row is None:
                raise NotFound(f"Could not find role: {role}.")
            key = (user_id, project_id, role_row.id)
            if s.get(RoleAssignment, key) is None:
                s.add(RoleAssignment(user_id=user_id, project_id=project_id,
                                     role_id=role_row.id))
