"""Secrets: create, list, show, payload, fill, delete, per project, with Barbican's rules.

Every method takes the caller's :class:`AuthContext`, checks the policy rule (the secret as
target, ``keymanager.policies``) and runs in one transaction. Payloads are sealed before they
reach the database (``keymanager.sealing``) and opened only for ``secret:decrypt``. Results
are :class:`SecretRecord` snapshots (never the payload). An expired secret is gone for
everyone (404), as in Barbican.

Payload rules (Barbican's): ``text/plain`` payloads are stored as UTF-8 and take no encoding;
every other content type (``application/octet-stream``, ``application/pkix-cert``,
``application/pkcs8``) needs ``payload_content_encoding: base64`` and is stored decoded. A
payload and its content type come together or not at all; a secret made without one gets it
once, by ``PUT`` (409 after that).
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from keymanager.models import Secret
from keymanager.sealing import Sealer
from minicloud.db import Database, new_uuid, utcnow
from minicloud.errors import BadRequest, Conflict, MinicloudError, NotFound, RequestTooLarge
from minicloud.identity.tokens import AuthContext
from minicloud.policy import Enforcer

#: Barbican's ``max_allowed_secret_in_bytes`` default.
MAX_SECRET_BYTES = 20000
TEXT = "text/plain"
BINARY_TYPES = ("application/octet-stream", "application/pkix-cert", "application/pkcs8")
#: Barbican's answer when a secret does not exist (or no longer does).
NOT_FOUND = "Not Found. Sorry but your secret is in another castle."


class NotAcceptable(MinicloudError):
    status, kind, title = 406, "notAcceptable", "Not Acceptable"


@dataclass(frozen=True)
class SecretRecord:
    id: str
    project_id: str
    creator_id: str
    name: str | None
    secret_type: str
    algorithm: str | None
    bit_length: int | None
    mode: str | None
    expiration: dt.datetime | None
    content_type: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


def _record(s: Secret) -> SecretRecord:
    return SecretRecord(s.id, s.project_id, s.creator_id, s.name, s.secret_type, s.algorithm,
                        s.bit_length, s.mode, s.expiration, s.content_type, s.created_at,
                        s.updated_at)


def _invalid(message: str, prop: str) -> BadRequest:
    return BadRequest(f"Provided object does not match schema 'Secret': {message}. "
                      f"Invalid property: '{prop}'")


def normalize_content_type(value: str) -> str:
    """``text/plain; charset=utf-8`` is ``text/plain``; other types lose their parameters."""
    main = value.split(";", 1)[0].strip().lower()
    return main


def decode_payload(payload: str | bytes, content_type: str | None,
                   encoding: str | None) -> tuple[bytes, str]:
    """``(bytes to store, normalized content type)`` of a payload, or 400 as Barbican."""
    if not content_type:
        raise _invalid("If 'payload' is supplied, 'payload_content_type' must also be "
                       "supplied", "payload_content_type")
    ctype = normalize_content_type(content_type)
    enc = (encoding or "").strip().lower() or None
    if ctype == TEXT:
        if enc is not None:
            raise _invalid("payload_content_encoding is not supported when "
                           "payload_content_type is text/plain", "payload_content_encoding")
        data = payload.encode() if isinstance(payload, str) else payload
    elif ctype in BINARY_TYPES:
        if enc != "base64":
            raise _invalid("payload_content_encoding must be specified and be 'base64' when "
                           f"payload_content_type is {ctype}", "payload_content_encoding")
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("Unable to decode request data.") from None
    else:
        raise _invalid("payload_content_type is not one of "
                       f"{', '.join((TEXT, *BINARY_TYPES))}", "payload_content_type")
    if not data:
        raise _invalid("If 'payload' specified, must be non empty", "payload")
    if len(data) > MAX_SECRET_BYTES:
        raise RequestTooLarge("Could not add secret data as it was too large")
    return data, ctype


def _expiration(value: str | None) -> dt.datetime | None:
    if value is None or value == "":
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _invalid("Invalid date for 'expiration'", "expiration") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    if parsed <= utcnow():
        raise _invalid("'expiration' is before current time", "expiration")
    return parsed


def target(secret: Secret) -> dict[str, Any]:
    """The policy target of a secret, flattened as Barbican flattens it."""
    return {"target.secret.project_id": secret.project_id,
            "target.secret.creator_id": secret.creator_id,
            "target.secret.read_project_access": True,
            "target.secret.read": None}


class SecretService:
    def __init__(self, db: Database, policy: Enforcer, sealer: Sealer) -> None:
        self.db, self.policy, self.sealer = db, policy, sealer

    def _enforce(self, ctx: AuthContext, rule: str, tgt: dict[str, Any], action: str) -> None:
        self.policy.enforce(rule, ctx.credentials(), tgt,
                            f"{action} attempt not allowed - please review your "
                            "user/project privileges")

    def _find(self, s: Any, ctx: AuthContext, secret_id: str, rule: str,
              action: str) -> Secret:
        secret = s.get(Secret, secret_id)
        if secret is None or (secret.expiration is not None
                              and secret.expiration <= utcnow()):
            raise NotFound(NOT_FOUND)
        self._enforce(ctx, rule, target(secret), action)
        return secret

    def create(self, ctx: AuthContext, body: dict[str, Any]) -> SecretRecord:
        """``POST /v1/secrets`` (``secrets:post``)."""
        self._enforce(ctx, "secrets:post", {"project_id": ctx.project_id},
                      "Secret creation")
        payload = body.get("payload")
        ctype = body.get("payload_content_type")
        sealed = None
        if payload is not None:
            data, ctype = decode_payload(payload, ctype, body.get("payload_content_encoding"))
            sealed = self.sealer.seal(data)
        elif ctype:
            raise _invalid("If 'payload_content_type' is supplied, 'payload' must also be "
                           "supplied", "payload")
        secret = Secret(
            id=new_uuid(), project_id=ctx.project_id or "", creator_id=ctx.user_id,
            name=body.get("name"), secret_type=body.get("secret_type") or "opaque",
            algorithm=body.get("algorithm"), bit_length=body.get("bit_length"),
            mode=body.get("mode"), expiration=_expiration(body.get("expiration")),
            content_type=ctype if sealed is not None else None, sealed=sealed)
        with self.db.session() as s:
            s.add(secret)
            s.flush()
            return _record(secret)

    def list(self, ctx: AuthContext, offset: int, limit: int, name: str | None
             ) -> tuple[list[SecretRecord], int]:
        """``GET /v1/secrets`` (``secrets:get``): the caller's project's secrets, oldest
        first, and their total."""
        self._enforce(ctx, "secrets:get", {"project_id": ctx.project_id}, "Secret(s) list")
        now = utcnow()
        query = select(Secret).where(Secret.project_id == ctx.project_id).where(
            (Secret.expiration.is_(None)) | (Secret.expiration > now))
        if name:
            query = query.where(Secret.name == name)
        with self.db.session() as s:
            total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = s.scalars(query.order_by(Secret.created_at, Secret.id)
                             .offset(offset).limit(limit)).all()
            return [_record(r) for r in rows], total

    def get(self, ctx: AuthContext, secret_id: str) -> SecretRecord:
        """``GET /v1/secrets/{id}`` (``secret:get``)."""
        with self.db.session() as s:
            return _record(self._find(s, ctx, secret_id, "secret:get", "Secret retrieval"))

    def payload(self, ctx: AuthContext, secret_id: str) -> tuple[bytes, str]:
        """The decrypted payload and its content type (``secret:decrypt``); 404 without a
        payload, as Barbican."""
        with self.db.session() as s:
            secret = self._find(s, ctx, secret_id, "secret:decrypt", "Secret decrypt")
            if secret.sealed is None or secret.content_type is None:
                raise NotFound("Secret payload retrieval issue seen - No secret payload "
                               "found.")
            return self.sealer.open(secret.sealed), secret.content_type

    def put_payload(self, ctx: AuthContext, secret_id: str, payload: bytes,
                    content_type: str | None, encoding: str | None) -> None:
        """``PUT /v1/secrets/{id}`` (``secret:put``): the payload of a secret made without
        one; 409 when it already has one."""
        if not payload:
            raise BadRequest("Could not add secret data as it was empty")
        data, ctype = decode_payload(payload, content_type, encoding)
        with self.db.session() as s:
            secret = self._find(s, ctx, secret_id, "secret:put", "Secret update")
            if secret.sealed is not None:
                raise Conflict("Secret already has data, cannot modify it.")
            secret.sealed, secret.content_type = self.sealer.seal(data), ctype

    def delete(self, ctx: AuthContext, secret_id: str) -> None:
        """``DELETE /v1/secrets/{id}`` (``secret:delete``): the row and its payload go."""
        with self.db.session() as s:
            s.delete(self._find(s, ctx, secret_id, "secret:delete", "Secret deletion"))
