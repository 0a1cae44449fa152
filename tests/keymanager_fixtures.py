"""Fixtures of the key manager tests: ``km_env`` is the key manager app (in-process, a real
migrated catalog copied from a session template) with a client per user (admin; alice and
reader in ``demo``; bob in ``other``), and helpers to make certificates and sign bytes.

Import in a test module with ``from tests.keymanager_fixtures import *  # noqa: F403``.
"""
from __future__ import annotations

import base64
import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from flask import Flask

from keymanager.api import create_app
from minicloud.config import Config
from minicloud.db import Database
from minicloud.identity.tokens import TokenProvider, ensure_key
from tests.images_fixtures import UserClient
from tests.templates import Template, build_template

__all__ = ["KmEnv", "km_template", "km_env", "SigningKey", "make_signing_key", "sign",
           "cert_secret_body"]


@pytest.fixture(scope="session")
def km_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return build_template(tmp_path_factory, "keymanager")


@dataclass
class KmEnv:
    app: Flask
    conf: Config
    db: Database
    state_dir: Path
    users: dict[str, UserClient]


@pytest.fixture
def km_env(km_template: Template, tmp_path: Path) -> Iterator[KmEnv]:
    state = tmp_path / "state"
    shutil.copytree(km_template.state_dir, state)
    conf = Config.load(state, environ={})
    db = Database(conf.database_url)
    app = create_app(conf, db)
    tokens = TokenProvider(db, ensure_key(state))
    client = app.test_client()
    users = {name: UserClient(client, tokens.issue(*ids).token, ids[1])
             for name, ids in km_template.users.items()}
    yield KmEnv(app, conf, db, state, users)
    db.dispose()


@dataclass(frozen=True)
class SigningKey:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)


def make_signing_key(common_name: str = "minicloud image signing", ca: bool = True,
                     days: int = 30) -> SigningKey:
    """An RSA key and its self-signed certificate (a CA that may sign certificates, as
    certificate validation wants of a trusted certificate)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5))
               .not_valid_after(now + dt.timedelta(days=days)))
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None),
                                        critical=True)
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True,
            crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
    return SigningKey(key, builder.sign(key, hashes.SHA256()))


def sign(signing: SigningKey, data: bytes) -> str:
    """The base64 RSA-PSS/SHA-256 signature of ``data`` (what ``openssl dgst -sha256 -sign
    key.pem -sigopt rsa_padding_mode:pss`` then ``base64 -w0`` give)."""
    signature = signing.key.sign(
        data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                          salt_length=padding.PSS.MAX_LENGTH), hashes.SHA256())
    return base64.b64encode(signature).decode()


def cert_secret_body(signing: SigningKey, **extra: Any) -> dict[str, Any]:
    return {"name": "signing cert", "secret_type": "certificate",
            "payload_content_type": "application/octet-stream",
            "payload_content_encoding": "base64",
            "payload": base64.b64encode(signing.der).decode(), **extra}
