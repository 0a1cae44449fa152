"""Signed images at boot (Nova's ``verify_glance_signatures`` and certificate validation).

Split between the API and the agent, as the images a server boots from are (the API checks
them as the caller, the agent fetches with the service's token):

* :func:`certificates_for` runs in the compute API with the *caller's* token, as Nova fetches
  from Barbican with the user's context: it fetches the image's signing certificate and the
  trusted ones from the key manager and returns them as ``{uuid: base64 DER | None}`` for the
  spawn task (``None``: not retrievable by the caller). Certificates are public material;
  the task keeps no token.
* :func:`verify_base` runs in the agent before the guest starts: it verifies the cached base
  file (the very bytes the guest boots from) against the image's signature with cursive, and
  with certificate validation on, that the signing certificate chains up to a trusted one.
  Any failure is :class:`SignatureRefused` (the server goes ERROR with it as its fault).

With ``verify_glance_signatures`` on, an image without the four ``img_signature*``
properties is refused, as Nova refuses it.
"""
from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Mapping
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from keymanager import signatures
from keymanager.client import KeyManagerClient, load_certificate
from minicloud.config import Config
from minicloud.errors import BadRequest, MinicloudError
from minicloud.identity.tokens import AuthContext

CHUNK = 1 << 20


class SignatureRefused(MinicloudError):
    status, kind, title = 400, "badRequest", "Bad Request"


def trusted_ids(conf: Config, requested: list[str] | None) -> list[str]:
    """The certificates to trust: the server's, else the configured defaults."""
    if requested:
        return list(requested)
    return [c.strip() for c in conf.compute.default_trusted_certificate_ids.split(",")
            if c.strip()]


def validates(conf: Config, requested: list[str] | None) -> bool:
    """Whether the signing certificate is validated: always when the server names trusted
    certificates (as Nova), else with ``enable_certificate_validation``."""
    return bool(requested) or conf.compute.enable_certificate_validation


def check_trusted_request(verifying: bool, from_volume: bool) -> None:
    """``trusted_image_certificates`` on create: refused (400) where nothing would check
    them, never silently ignored."""
    if from_volume:
        raise BadRequest("Image certificate validation is not supported when booting "
                         "from volume")
    if not verifying:
        raise BadRequest("Image certificate validation needs image signature "
                         "verification, which is off in this cloud "
                         "([compute] verify_glance_signatures).")


def certificates_for(conf: Config, ctx: AuthContext, image: Mapping,
                     requested: list[str] | None = None) -> dict[str, str | None]:
    """The certificates the agent needs for ``image`` (empty when verification is off)."""
    c = conf.compute
    if not c.verify_glance_signatures:
        return {}
    wanted = [image.get(signatures.PROPERTIES[3])] if image.get(signatures.PROPERTIES[3]) \
        else []
    if validates(conf, requested):
        wanted += trusted_ids(conf, requested)
    from minicloud.services import by_name

    client = KeyManagerClient(by_name("key_manager").base_url(conf), lambda: ctx.token)
    found: dict[str, str | None] = {}
    for uuid in dict.fromkeys(w for w in wanted if isinstance(w, str)):
        try:
            der = client.certificate(uuid).public_bytes(Encoding.DER)
            found[uuid] = base64.b64encode(der).decode()
        except signatures.SignatureVerificationError:
            found[uuid] = None
    return found


class TaskCertificates:
    """The certificates the API fetched for the task (a ``CertificateSource``)."""

    def __init__(self, certificates: Mapping[str, str | None]) -> None:
        self.certificates = certificates

    def certificate(self, uuid: str) -> x509.Certificate:
        encoded = self.certificates.get(uuid)
        if encoded is None:
            raise signatures.SignatureVerificationError(
                reason=f"Certificate not found with ID: {uuid}")
        try:
            return load_certificate("certificate", base64.b64decode(encoded))
        except binascii.Error:
            raise signatures.SignatureVerificationError(
                reason=f"Certificate not found with ID: {uuid}") from None


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def verify_base(conf: Config, image: Mapping, base: Path,
                certificates: Mapping[str, str | None] | None,
                requested: list[str] | None = None) -> None:
    """Refuse to boot ``base`` (image ``image``) unless its signature verifies (and, with
    certificate validation, its certificate is trusted); nothing when verification is off."""
    c = conf.compute
    if not c.verify_glance_signatures:
        return
    source = TaskCertificates(certificates or {})
    try:
        check = signatures.verifier(image, source, require=True)
        if validates(conf, requested):
            signatures.validate_certificate(image[signatures.PROPERTIES[3]],
                                            trusted_ids(conf, requested), source)
        for _chunk in signatures.verified(_file_chunks(base), check):
            pass
    except signatures.SignatureVerificationError as exc:
        raise SignatureRefused(f"Image {image.get('id')} failed signature verification: "
                               f"{exc}") from None
