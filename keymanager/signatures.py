"""Image signature verification and certificate validation, with cursive (the library
Glance and Nova use) and certificates from the key manager (``keymanager.client``).

An image is *signed* when it carries all four of ``img_signature``,
``img_signature_hash_method``, ``img_signature_key_type`` and
``img_signature_certificate_uuid`` (cursive's ``should_create_verifier``); with fewer, Glance
does not verify it (and Nova, with ``verify_glance_signatures``, refuses it: see
:func:`verifier` with ``require=True``).

:func:`verifier` builds cursive's verifier from those properties the way cursive's
``get_verifier`` does, except that the certificate comes from a
:class:`~keymanager.client.CertificateSource` instead of a castellan key manager configured
through global oslo.config options. :func:`verified` wraps a stream of chunks: each chunk
updates the verifier on its way through, and when the stream ends the signature is checked,
so a bad signature raises *inside* the consumer (the store's ``add`` then keeps nothing).
:func:`validate_certificate` is Nova's certificate validation (``trusted_image_certificates``)
with cursive's ``CertificateVerificationContext``.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from cryptography import exceptions as crypto_exceptions
from cursive import certificate_utils, signature_utils
from cursive import exception as cursive_exception

from keymanager.client import CertificateSource

SignatureVerificationError = cursive_exception.SignatureVerificationError
PROPERTIES = (signature_utils.SIGNATURE, signature_utils.HASH_METHOD,
              signature_utils.KEY_TYPE, signature_utils.CERT_UUID)


def is_signed(properties: Mapping[str, Any]) -> bool:
    return signature_utils.should_create_verifier(dict(properties))


def verifier(properties: Mapping[str, Any], certificates: CertificateSource,
             require: bool = False) -> Any:
    """cursive's verifier for a signed image; ``None`` for an unsigned one unless
    ``require`` (then, as cursive, "Required image properties ... Missing property")."""
    if not is_signed(properties):
        if not require:
            return None
        missing = next(p for p in PROPERTIES if p not in properties)
        raise SignatureVerificationError(reason=(
            "Required image properties for signature verification do not exist. Cannot "
            f"verify signature. Missing property: {missing}"))
    signature = signature_utils.get_signature(properties[signature_utils.SIGNATURE])
    hash_method = signature_utils.get_hash_method(properties[signature_utils.HASH_METHOD])
    key_type = signature_utils.SignatureKeyType.lookup(properties[signature_utils.KEY_TYPE])
    certificate = certificates.certificate(properties[signature_utils.CERT_UUID])
    public_key = certificate.public_key()
    if not isinstance(public_key, key_type.public_key_type):
        raise SignatureVerificationError(
            reason=f"Invalid public key type for signature key type: {key_type.name}")
    made = key_type.create_verifier(signature, hash_method, public_key)
    if made is None:
        raise SignatureVerificationError(reason="Error occurred while creating the verifier")
    return made


def verified(chunks: Iterable[bytes], check: Any) -> Iterator[bytes]:
    """``chunks`` unchanged, fed to the verifier ``check``; at their end the signature is
    verified ("Signature verification failed" when it does not match)."""
    for chunk in chunks:
        check.update(chunk)
        yield chunk
    try:
        check.verify()
    except crypto_exceptions.InvalidSignature:
        # Glance's own message for a signature that does not match (not cursive's format)
        raise SignatureVerificationError("Signature verification failed") from None


def validate_certificate(certificate_uuid: str, trusted_uuids: Sequence[str],
                         certificates: CertificateSource) -> None:
    """The signing certificate chains up to one of the trusted certificates (each a
    certificate that may sign certificates, within its dates), as Nova validates
    ``trusted_image_certificates``; a trusted uuid that cannot be fetched is skipped, as
    cursive does. ``SignatureVerificationError`` otherwise."""
    trusted = []
    for uuid in trusted_uuids:
        try:
            trusted.append((uuid, certificates.certificate(uuid)))
        except SignatureVerificationError:
            continue
    context = certificate_utils.CertificateVerificationContext(trusted)
    context.update(certificates.certificate(certificate_uuid))
    context.verify()
