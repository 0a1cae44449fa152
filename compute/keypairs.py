"""Keypairs (``os-keypairs``): a user's public keys, as Nova keeps them.

A keypair belongs to one user (not a project) and its name is unique for that user. It is
``ssh`` (an OpenSSH public key line) or ``x509`` (a PEM certificate). Either the caller
imports a public key, or (before 2.92) the cloud generates the pair and hands the private
key back once: it is never stored.

Fingerprints are Nova's, so they match what ``openstack keypair show`` prints elsewhere and
what a guest can compute from the key it was given: ssh, the MD5 of the decoded key blob;
x509, the SHA-1 of the DER certificate; both as lowercase colon-separated hex. Keys are
parsed (and generated) with ``cryptography``; a key that does not parse is a 400.

The number of keypairs a user holds is limited by the ``key_pairs`` quota of the caller's
project (Nova's default 100); going over is Nova's 403.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from compute import quotas
from compute.models import KeyPair
from minicloud.db import Database, utcnow
from minicloud.errors import BadRequest, Conflict, Forbidden, NotFound

SSH, X509 = "ssh", "x509"
#: Bits of the RSA keys the cloud generates (Nova's size).
KEY_BITS = 2048
#: The comment Nova puts on the public keys it generates (clients show it as is).
GENERATED_COMMENT = "Generated-by-Nova"


@dataclass(frozen=True)
class KeyRecord:
    """A stored keypair (a plain record: no ORM row leaves this module)."""

    id: int
    user_id: str
    name: str
    type: str
    fingerprint: str
    public_key: str
    created_at: dt.datetime

    @classmethod
    def of(cls, row: KeyPair) -> KeyRecord:
        return cls(row.id, row.user_id, row.name, row.type, row.fingerprint, row.public_key,
                   row.created_at)


def _colon_hex(digest: bytes) -> str:
    return ":".join(f"{b:02x}" for b in digest)


def ssh_fingerprint(public_key: str) -> str:
    """Nova's fingerprint of an OpenSSH public key line: MD5 of the decoded blob (the
    second field), colon hex. 400 when the line is not a public key ``cryptography`` loads."""
    try:
        serialization.load_ssh_public_key(public_key.strip().encode())
        blob = base64.b64decode(public_key.split()[1], validate=True)
    except (ValueError, IndexError, binascii.Error, UnicodeError, UnsupportedAlgorithm,
            NotImplementedError):
        raise BadRequest("Keypair data is invalid: failed to generate fingerprint") from None
    return _colon_hex(hashlib.md5(blob, usedforsecurity=False).digest())


def x509_fingerprint(certificate: str) -> str:
    """Nova's fingerprint of a PEM certificate: SHA-1 of its DER form, colon hex."""
    try:
        cert = x509.load_pem_x509_certificate(certificate.encode())
    except (ValueError, UnicodeError, UnsupportedAlgorithm) as exc:
        raise BadRequest(f"Keypair data is invalid: failed to generate X509 fingerprint. "
                         f"Error message: {exc}") from None
    return _colon_hex(cert.fingerprint(hashes.SHA1()))  # noqa: S303 - Nova's fingerprint


def fingerprint(key_type: str, public_key: str) -> str:
    return x509_fingerprint(public_key) if key_type == X509 else ssh_fingerprint(public_key)


def _private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def generate(key_type: str, user_id: str) -> tuple[str, str]:
    """A new ``(private_key, public_key)``: an RSA key with its OpenSSH public line, or
    (x509) with a self-signed certificate for ``user_id`` valid ten years."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    if key_type != X509:
        public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                               serialization.PublicFormat.OpenSSH)
        return _private_pem(key), f"{public.decode()} {GENERATED_COMMENT}"
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user_id[:64] or "minicloud")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    return _private_pem(key), cert.public_bytes(serialization.Encoding.PEM).decode()


class Keypairs:
    """The keypairs of every user, in the catalog."""

    def __init__(self, db: Database, limits: quotas.Limits) -> None:
        self.db, self.limits = db, limits

    def create(self, user_id: str, project_id: str, name: str, key_type: str = SSH,
               public_key: str | None = None) -> tuple[KeyRecord, str | None]:
        """Import ``public_key`` or generate a pair; returns the record and the private key
        (None when imported). 409 when the user has a keypair of that name, 403 over the
        ``key_pairs`` quota of ``project_id``, 400 when the key does not parse."""
        private_key = None
        if public_key is None:
            private_key, public_key = generate(key_type, user_id)
        row = KeyPair(user_id=user_id, name=name, type=key_type, public_key=public_key,
                      fingerprint=fingerprint(key_type, public_key), created_at=utcnow())
        try:
            with self.db.session() as s:  # counted and inserted in one write transaction
                limit = quotas.project_limits(s, project_id, self.limits)["key_pairs"]
                held = s.scalar(select(func.count()).select_from(KeyPair)
                                .where(KeyPair.user_id == user_id))
                if limit >= 0 and held + 1 > limit:
                    raise Forbidden("Quota exceeded, too many key pairs.")
                if s.scalar(select(KeyPair.id).where(KeyPair.user_id == user_id,
                                                     KeyPair.name == name)) is not None:
                    raise Conflict(f"Key pair '{name}' already exists.")
                s.add(row)
                s.flush()
                record = KeyRecord.of(row)
        except IntegrityError:  # a concurrent create of the same name won
            raise Conflict(f"Key pair '{name}' already exists.") from None
        return record, private_key

    def list(self, user_id: str) -> list[KeyRecord]:
        """The user's keypairs, oldest first (the order pages follow)."""
        with self.db.session() as s:
            rows = s.scalars(select(KeyPair).where(KeyPair.user_id == user_id)
                             .order_by(KeyPair.id))
            return [KeyRecord.of(r) for r in rows]

    def find(self, user_id: str, name: str) -> KeyRecord | None:
        with self.db.session() as s:
            row = s.scalar(select(KeyPair).where(KeyPair.user_id == user_id,
                                                 KeyPair.name == name))
            return KeyRecord.of(row) if row is not None else None

    def get(self, user_id: str, name: str) -> KeyRecord:
        record = self.find(user_id, name)
        if record is None:
            raise NotFound(f"Keypair {name} not found for user {user_id}")
        return record

    def delete(self, user_id: str, name: str) -> None:
        with self.db.session() as s:
            gone = s.execute(delete(KeyPair).where(KeyPair.user_id == user_id,
                                                   KeyPair.name == name)).rowcount
        if not gone:
            raise NotFound(f"Keypair {name} not found for user {user_id}")
