"""Users and groups (Keystone's "identity" backend): passwords, extra attributes, membership.

Passwords are kept as scrypt hashes and never returned. A user's other attributes beyond the
core ones (email, description, ``project_id``...) are kept as given and returned as top-level
keys, as Keystone does. Changing a password (by the user, or an admin's reset) invalidates the
user's existing tokens; deleting a user or a group deletes its grants.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from minicloud.db import Database, utcnow
from minicloud.errors import BadRequest, Conflict, NotFound, Unauthorized
from minicloud.identity import assignments
from minicloud.identity.models import Domain, Group, User, UserGroupMembership
from minicloud.identity.resource import DEFAULT_DOMAIN_ID, new_id

_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}
#: Hashed instead of a real one when the user does not exist, so an unknown user name takes
#: as long to refuse as a wrong password (no user enumeration by timing).
_DUMMY_HASH = "scrypt$" + "00" * 16 + "$" + "00" * 64
CORE_USER_FIELDS = ("id", "name", "domain_id", "enabled", "password", "default_project_id",
                    "links", "password_expires_at", "options", "federated")


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


def verify_password(user: User | None, password: object) -> bool:
    """True when ``user`` exists, has a password and it is ``password``; the same work is
    done (one scrypt) whatever fails."""
    text = password if isinstance(password, str) else ""
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    ok = check_password(text, stored)
    return ok and user is not None and bool(user.password_hash) and isinstance(password, str)


@dataclass(frozen=True)
class UserRecord:
    id: str
    name: str
    domain_id: str
    enabled: bool
    default_project_id: str | None
    extra: dict = field(default_factory=dict)


def user_record(u: User) -> UserRecord:
    return UserRecord(u.id, u.name, u.domain_id, u.enabled, u.default_project_id,
                      json.loads(u.extra or "{}"))


class UserService:
    """Users, groups and group membership; each call one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- users ---------------------------------------------------------------------------
    @staticmethod
    def _user(s: Session, user_id: str) -> User:
        user = s.get(User, user_id)
        if user is None:
            raise NotFound(f"Could not find user: {user_id}.")
        return user

    @staticmethod
    def _check_domain(s: Session, domain_id: str) -> None:
        if s.get(Domain, domain_id) is None:
            raise NotFound(f"Could not find domain: {domain_id}.")

    def create_user(self, name: str, password: str | None = None,
                    domain_id: str = DEFAULT_DOMAIN_ID, enabled: bool = True,
                    default_project_id: str | None = None,
                    extra: dict | None = None) -> UserRecord:
        with self.db.session() as s:
            self._check_domain(s, domain_id)
            if s.scalar(select(User).where(User.domain_id == domain_id, User.name == name)):
                raise Conflict(f"Conflict occurred attempting to store user - Duplicate "
                               f"entry found with name {name} at domain ID {domain_id}.")
            user = User(id=new_id(), name=name, domain_id=domain_id, enabled=enabled,
                        password_hash=hash_password(password) if password else "",
                        default_project_id=default_project_id,
                        extra=json.dumps(extra or {}))
            s.add(user)
            return user_record(user)

    def get_user(self, user_id: str) -> UserRecord:
        with self.db.session() as s:
            return user_record(self._user(s, user_id))

    def find_user(self, name: str, domain_id: str = DEFAULT_DOMAIN_ID) -> UserRecord:
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.name == name, User.domain_id == domain_id))
            if user is None:
                raise NotFound(f"Could not find user: {name}.")
            return user_record(user)

    def list_users(self, name: str | None = None, domain_id: str | None = None,
                   enabled: bool | None = None, group_id: str | None = None
                   ) -> list[UserRecord]:
        with self.db.session() as s:
            query = select(User).order_by(User.name, User.id)
            if group_id is not None:
                if s.get(Group, group_id) is None:
                    raise NotFound(f"Could not find group: {group_id}.")
                query = query.join(UserGroupMembership, UserGroupMembership.user_id == User.id
                                   ).where(UserGroupMembership.group_id == group_id)
            if name is not None:
                query = query.where(User.name == name)
            if domain_id is not None:
                query = query.where(User.domain_id == domain_id)
            if enabled is not None:
                query = query.where(User.enabled.is_(enabled))
            return [user_record(u) for u in s.scalars(query)]

    def update_user(self, user_id: str, changes: dict) -> UserRecord:
        """Apply ``changes`` (core fields, a new password, extra attributes)."""
        with self.db.session() as s:
            user = self._user(s, user_id)
            if changes.get("domain_id", user.domain_id) != user.domain_id:
                raise BadRequest("The domain_id of a user cannot be changed.")
            name = changes.get("name", user.name)
            if name != user.name and s.scalar(select(User).where(
                    User.domain_id == user.domain_id, User.name == name)):
                raise Conflict(f"Conflict occurred attempting to store user - Duplicate "
                               f"entry found with name {name} at domain ID {user.domain_id}.")
            user.name = name
            if "enabled" in changes:
                user.enabled = changes["enabled"]
            if "default_project_id" in changes:
                user.default_project_id = changes["default_project_id"]
            if "password" in changes:
                self._set_password(user, changes["password"])
            extra = {k: v for k, v in changes.items() if k not in CORE_USER_FIELDS}
            if extra:
                user.extra = json.dumps({**json.loads(user.extra or "{}"), **extra})
            return user_record(user)

    @staticmethod
    def _set_password(user: User, password: str | None) -> None:
        user.password_hash = hash_password(password) if password else ""
        # Keystone revokes a user's tokens when its password changes.
        user.tokens_valid_after = utcnow()

    def change_password(self, user_id: str, original: str, new: str) -> None:
        """The user's own password change: the original password must match (else 401)."""
        with self.db.session() as s:
            user = s.get(User, user_id)
            if not verify_password(user, original) or user is None or not user.enabled:
                raise Unauthorized("The request you have made requires authentication.")
            self._set_password(user, new)

    def delete_user(self, user_id: str) -> None:
        with self.db.session() as s:
            user = self._user(s, user_id)
            assignments.forget(s, actor_id=user.id, actor="User")
            s.delete(user)  # group memberships cascade

    def authenticate(self, ref: dict, domain_id: str | None) -> User:
        """The enabled user ``ref`` names (``id``, or ``name`` in ``domain_id``) whose
        ``password`` matches; 401 otherwise, in the same time whatever the reason."""
        with self.db.session() as s:
            if "id" in ref:
                user = s.get(User, str(ref["id"]))
            else:
                user = s.scalar(select(User).where(User.name == str(ref["name"]),
                                                   User.domain_id == (domain_id or "")))
            ok = verify_password(user, ref.get("password"))
            domain = s.get(Domain, user.domain_id) if user is not None else None
            if not ok or user is None or not user.enabled or domain is None \
                    or not domain.enabled:
                raise Unauthorized("The request you have made requires authentication.")
            return user

    # -- groups --------------------------------------------------------------------------
    @staticmethod
    def _group(s: Session, group_id: str) -> Group:
        group = s.get(Group, group_id)
        if group is None:
            raise NotFound(f"Could not find group: {group_id}.")
        return group

    def create_group(self, name: str, domain_id: str = DEFAULT_DOMAIN_ID,
                     description: str = "") -> Group:
        with self.db.session() as s:
            self._check_domain(s, domain_id)
            if s.scalar(select(Group).where(Group.domain_id == domain_id,
                                            Group.name == name)):
                raise Conflict(f"Conflict occurred attempting to store group - Duplicate "
                               f"entry found with name {name} at domain ID {domain_id}.")
            group = Group(id=new_id(), name=name, domain_id=domain_id,
                          description=description or "")
            s.add(group)
            return group

    def get_group(self, group_id: str) -> Group:
        with self.db.session() as s:
            return self._group(s, group_id)

    def list_groups(self, name: str | None = None, domain_id: str | None = None,
                    user_id: str | None = None) -> list[Group]:
        with self.db.session() as s:
            query = select(Group).order_by(Group.name, Group.id)
            if user_id is not None:
                self._user(s, user_id)
                query = query.join(UserGroupMembership, UserGroupMembership.group_id ==
                                   Group.id).where(UserGroupMembership.user_id == user_id)
            if name is not None:
                query = query.where(Group.name == name)
            if domain_id is not None:
                query = query.where(Group.domain_id == domain_id)
            return list(s.scalars(query))

    def update_group(self, group_id: str, changes: dict) -> Group:
        with self.db.session() as s:
            group = self._group(s, group_id)
            if changes.get("domain_id", group.domain_id) != group.domain_id:
                raise BadRequest("The domain_id of a group cannot be changed.")
            name = changes.get("name", group.name)
            if name != group.name and s.scalar(select(Group).where(
                    Group.domain_id == group.domain_id, Group.name == name)):
                raise Conflict(f"Conflict occurred attempting to store group - Duplicate "
                               f"entry found with name {name} at domain ID "
                               f"{group.domain_id}.")
            group.name = name
            if "description" in changes:
                group.description = changes["description"] or ""
            return group

    def delete_group(self, group_id: str) -> None:
        with self.db.session() as s:
            group = self._group(s, group_id)
            assignments.forget(s, actor_id=group.id, actor="Group")
            s.delete(group)  # memberships cascade

    def add_member(self, group_id: str, user_id: str) -> None:
        with self.db.session() as s:
            self._group(s, group_id)
            self._user(s, user_id)
            if s.get(UserGroupMembership, (user_id, group_id)) is None:
                s.add(UserGroupMembership(user_id=user_id, group_id=group_id))

    def is_member(self, group_id: str, user_id: str) -> bool:
        with self.db.session() as s:
            self._group(s, group_id)
            self._user(s, user_id)
            return s.get(UserGroupMembership, (user_id, group_id)) is not None

    def remove_member(self, group_id: str, user_id: str) -> None:
        with self.db.session() as s:
            self._group(s, group_id)
            self._user(s, user_id)
            row = s.get(UserGroupMembership, (user_id, group_id))
            if row is None:
                raise NotFound(f"User {user_id} is not a member of group {group_id}.")
            s.delete(row)
