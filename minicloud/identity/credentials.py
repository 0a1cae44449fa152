"""Credentials users keep in Keystone (``/v3/credentials``, EC2 ones under
``/v3/users/{id}/credentials/OS-EC2``) and OAuth1 consumers.

A credential's blob is encrypted at rest with its own Fernet key, ``keys/credential.key``
(mode 0600, made on first use), separate from the token key: a leaked token key does not
reveal stored secrets, and each key can be rotated on its own. Keystone's rules: an ``ec2``
credential's blob is a JSON object with an ``access`` key, it names a project, and its id is
the SHA-256 of the access key (so it can be found by access key); ``type``, ``user_id`` and
the id never change after creation.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select

from minicloud.db import Database
from minicloud.errors import BadRequest, ConfigError, Conflict, NotFound
from minicloud.identity.catalog import extras, new_id, with_extra
from minicloud.identity.catalog_models import Credential, OAuthConsumer
from minicloud.identity.models import Project, User
from minicloud.identity.users import hash_password

KEY_FILE = Path("keys") / "credential.key"
_FIELDS = ("user_id", "project_id", "type", "blob")


def credential_key(state_dir: Path) -> bytes:
    """The credential encryption key of the cloud in ``state_dir``, made (0600) if missing."""
    path = state_dir / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another service process made it first
            return path.read_bytes().strip()
        with os.fdopen(fd, "wb") as fh:
            fh.write(Fernet.generate_key())
    return path.read_bytes().strip()


def ec2_id(access: str) -> str:
    return hashlib.sha256(access.encode()).hexdigest()


class Credentials:
    """Credentials (encrypted blobs) and OAuth1 consumers; records are plain dicts."""

    def __init__(self, db: Database, key: bytes) -> None:
        self.db, self.fernet = db, Fernet(key)

    def _record(self, row: Credential) -> dict:
        try:
            blob = self.fernet.decrypt(row.encrypted_blob.encode()).decode()
        except InvalidToken:
            raise ConfigError(f"Credential {row.id} cannot be decrypted with the "
                                 "credential key.") from None
        return with_extra({"id": row.id, "user_id": row.user_id,
                           "project_id": row.project_id, "type": row.type, "blob": blob},
                          row.extra)

    # -- /v3/credentials -----------------------------------------------------------------
    def list(self, user_id: str | None = None, type_: str | None = None) -> list[dict]:
        with self.db.session() as s:
            query = select(Credential).order_by(Credential.created_at, Credential.id)
            if user_id is not None:
                query = query.where(Credential.user_id == user_id)
            if type_ is not None:
                query = query.where(Credential.type == type_)
            return [self._record(r) for r in s.scalars(query)]

    def get(self, credential_id: str) -> dict:
        with self.db.session() as s:
            row = s.get(Credential, credential_id)
            if row is None:
                raise NotFound(f"Could not find credential: {credential_id}.")
            return self._record(row)

    @staticmethod
    def _ec2_access(blob: str, project_id: str | None) -> str:
        try:
            access = json.loads(blob).get("access")
        except (ValueError, AttributeError, RecursionError):
            access = None
        if not isinstance(access, str) or not access:
            raise BadRequest("Invalid blob in credential: an ec2 credential's blob must be a "
                             "JSON object with an access key.")
        if not project_id:
            raise BadRequest("Invalid blob in credential: an ec2 credential needs a "
                             "project_id.")
        return access

    def create(self, body: dict) -> dict:
        """A new credential from a validated body (user_id, type, blob, project_id)."""
        if body["type"] == "ec2":
            cred_id = ec2_id(self._ec2_access(body["blob"], body.get("project_id")))
            if body.get("id") not in (None, cred_id):
                raise BadRequest("The id of an ec2 credential is the SHA-256 of its access "
                                 "key.")
        else:
            cred_id = body.get("id") or new_id()
        with self.db.session() as s:
            if s.get(User, body["user_id"]) is None:
                raise NotFound(f"Could not find user: {body['user_id']}.")
            if s.get(Credential, cred_id) is not None:
                raise Conflict(f"Duplicate entry: credential {cred_id} exists.")
            row = Credential(id=cred_id, user_id=body["user_id"],
                             project_id=body.get("project_id"), type=body["type"],
                             encrypted_blob=self.fernet.encrypt(body["blob"].encode()).decode(),
                             extra=extras(body, _FIELDS))
            s.add(row)
            return self._record(row)

    def update(self, credential_id: str, body: dict) -> dict:
        """Change the blob or project of a credential (its type and owner are fixed)."""
        with self.db.session() as s:
            row = s.get(Credential, credential_id)
            if row is None:
                raise NotFound(f"Could not find credential: {credential_id}.")
            for fixed in ("type", "user_id"):
                if fixed in body and body[fixed] != getattr(row, fixed):
                    raise BadRequest(f"A credential's {fixed} cannot change: delete it and "
                                     "create another.")
            project_id = body.get("project_id", row.project_id)
            if row.type == "ec2":
                self._ec2_access(body.get("blob") or self._record(row)["blob"], project_id)
            row.project_id = project_id
            if "blob" in body:
                row.encrypted_blob = self.fernet.encrypt(body["blob"].encode()).decode()
            extra = json.loads(row.extra or "{}")
            extra.update(json.loads(extras(body, _FIELDS)))
            row.extra = json.dumps(extra)
            return self._record(row)

    def delete(self, credential_id: str) -> None:
        with self.db.session() as s:
            row = s.get(Credential, credential_id)
            if row is None:
                raise NotFound(f"Could not find credential: {credential_id}.")
            s.delete(row)

    # -- EC2 (OS-EC2) ----------------------------------------------------------------------
    @staticmethod
    def ec2_view(record: dict) -> dict:
        """An ec2 credential as the OS-EC2 API shows it."""
        blob = json.loads(record["blob"])
        return {"user_id": record["user_id"], "tenant_id": record["project_id"],
                "access": blob.get("access"), "secret": blob.get("secret"),
                "trust_id": blob.get("trust_id")}

    def create_ec2(self, user_id: str, project_id: str) -> dict:
        with self.db.session() as s:
            if s.get(Project, project_id) is None:
                raise NotFound(f"Could not find project: {project_id}.")
        blob = {"access": secrets.token_hex(16), "secret": secrets.token_hex(16),
                "trust_id": None}
        return self.ec2_view(self.create({"user_id": user_id, "project_id": project_id,
                                          "type": "ec2", "blob": json.dumps(blob)}))

    def list_ec2(self, user_id: str) -> list[dict]:
        return [self.ec2_view(r) for r in self.list(user_id=user_id, type_="ec2")]

    def get_ec2(self, user_id: str, access: str) -> dict:
        """The ec2 credential of ``user_id`` with access key ``access`` (404 otherwise)."""
        try:
            record = self.get(ec2_id(access))
        except NotFound:
            record = None
        if record is None or record["type"] != "ec2" or record["user_id"] != user_id:
            raise NotFound(f"Could not find credential: {access}.")
        return record

    # -- OAuth1 consumers ----------------------------------------------------------------
    @staticmethod
    def _consumer(row: OAuthConsumer) -> dict:
        return with_extra({"id": row.id, "description": row.description}, row.extra)

    def list_consumers(self) -> list[dict]:
        with self.db.session() as s:
            return [self._consumer(r) for r in s.scalars(
                select(OAuthConsumer).order_by(OAuthConsumer.id))]

    def get_consumer(self, consumer_id: str) -> dict:
        with self.db.session() as s:
            row = s.get(OAuthConsumer, consumer_id)
            if row is None:
                raise NotFound(f"Could not find consumer: {consumer_id}.")
            return self._consumer(row)

    def create_consumer(self, body: dict) -> dict:
        """A new consumer; its generated secret is in the returned record only."""
        secret = secrets.token_urlsafe(24)
        with self.db.session() as s:
            row = OAuthConsumer(id=new_id(), description=body.get("description"),
                                secret_hash=hash_password(secret),
                                extra=extras(body, ("description", "secret")))
            s.add(row)
            return {**self._consumer(row), "secret": secret}

    def update_consumer(self, consumer_id: str, body: dict) -> dict:
        if "secret" in body:
            raise BadRequest("A consumer's secret cannot be changed.")
        with self.db.session() as s:
            row = s.get(OAuthConsumer, consumer_id)
            if row is None:
                raise NotFound(f"Could not find consumer: {consumer_id}.")
            if "description" in body:
                row.description = body["description"]
            extra = json.loads(row.extra or "{}")
            extra.update(json.loads(extras(body, ("description",))))
            row.extra = json.dumps(extra)
            return self._consumer(row)

    def delete_consumer(self, consumer_id: str) -> None:
        with self.db.session() as s:
            row = s.get(OAuthConsumer, consumer_id)
            if row is None:
                raise NotFound(f"Could not find consumer: {consumer_id}.")
            s.delete(row)
