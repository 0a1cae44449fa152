"""The client side of the key manager, for the services that verify signed images (image
service at upload and import, compute agent before boot): certificates by secret uuid.

It fetches what castellan's Barbican backend fetches for Glance and Nova: the secret's
metadata (its ``secret_type`` decides the object castellan builds, only ``certificate`` is an
X.509 certificate) and its payload (DER), with the *user's* token, so a user can only sign
with certificates of a project they may read. Errors are cursive's
``SignatureVerificationError`` with cursive's messages, as the callers expect.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from cryptography import x509
from cursive import exception as cursive_exception

from minicloud.client import ServiceClient
from minicloud.errors import MinicloudError, NotFound

#: castellan's name of the object a Barbican ``secret_type`` becomes (its ``format``).
_FORMATS = {"certificate": "X.509", "opaque": "Opaque", "symmetric": "RAW",
            "passphrase": "RAW", "public": "SubjectPublicKeyInfo", "private": "PKCS8"}


class CertificateSource(Protocol):
    def certificate(self, uuid: str) -> x509.Certificate:
        """The X.509 certificate stored as secret ``uuid``, or
        ``cursive.exception.SignatureVerificationError``."""
        ...


def _failure(reason: str) -> cursive_exception.SignatureVerificationError:
    return cursive_exception.SignatureVerificationError(reason=reason)


class KeyManagerClient(ServiceClient):
    """Certificates from the key manager's v1 API, as the caller whose token it is handed."""

    service = "key manager"

    def __init__(self, base_url: str, token: Callable[[], str], timeout: float = 30) -> None:
        super().__init__(base_url, token, timeout)

    def certificate(self, uuid: str) -> x509.Certificate:
        try:
            meta = self._call("GET", f"/v1/secrets/{uuid}",
                              headers={"Accept": "application/json"}).json()
            der = self._call("GET", f"/v1/secrets/{uuid}/payload",
                             headers={"Accept": "application/octet-stream"}).content
        except NotFound:
            raise _failure(f"Certificate not found with ID: {uuid}") from None
        except MinicloudError:
            # 403, an unreachable key manager ...: castellan's KeyManagerError
            raise _failure(f"Unable to retrieve certificate with ID: {uuid}") from None
        return load_certificate(meta.get("secret_type"), der)


def load_certificate(secret_type: str | None, der: bytes) -> x509.Certificate:
    """The certificate in a ``certificate`` secret's DER payload (cursive's checks)."""
    fmt = _FORMATS.get(secret_type or "", secret_type)
    if fmt != "X.509":
        raise _failure(f"Invalid certificate format: {fmt}")
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        raise _failure("Invalid certificate format: the payload is not a DER-encoded "
                       "X.509 certificate") from None
