"""Signed images (seed 1.1.2): the image service verifies an image that carries all four
``img_signature*`` properties while its data streams in, at upload and at import.

The certificate named by ``img_signature_certificate_uuid`` is fetched from the key manager
with the uploader's token (``keymanager.client``), cursive builds the verifier
(``keymanager.signatures``) and every chunk on its way to the store updates it; at the end of
the stream the signature is checked. A signature that does not match, a certificate that
cannot be found or read, an unknown hash method or key type: the store keeps nothing, the
image becomes ``killed`` and the answer is Glance's 400, "Signature verification failed for
image <id>: <reason>". An image with only some of the properties is not verified, as Glance
(Nova refuses it at boot when ``[compute] verify_glance_signatures`` is on).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

from keymanager import signatures
from keymanager.client import CertificateSource, KeyManagerClient
from minicloud.config import Config
from minicloud.errors import BadRequest
from minicloud.identity.tokens import AuthContext

SignatureVerificationError = signatures.SignatureVerificationError
#: Hands out a certificate source acting as the caller (the caller's token).
Certificates = Callable[[AuthContext], CertificateSource]


class SignatureFailed(BadRequest):
    """A signed image's data did not verify: the image is killed."""


def key_manager_certificates(conf: Config) -> Certificates:
    """Certificates from this cloud's key manager, fetched as the caller."""
    from minicloud.services import by_name

    base = by_name("key_manager").base_url(conf)
    return lambda ctx: KeyManagerClient(base, lambda: ctx.token)


def failure(image_id: str, exc: BaseException) -> SignatureFailed:
    return SignatureFailed(f"Signature verification failed for image {image_id}: {exc}")


def checked_stream(certificates: Certificates | None, ctx: AuthContext | None,
                   properties: Mapping[str, str], chunks: Iterable[bytes]
                   ) -> Iterator[bytes]:
    """``chunks``, verified against the image's signature when it is signed. The verifier
    is built when the consumer starts reading, so its errors (an unknown certificate) raise
    inside the consumer as a bad signature does. ``SignatureVerificationError`` on failure;
    ``certificates`` None (no key manager) leaves every image unverified."""
    if certificates is None or not signatures.is_signed(properties):
        yield from chunks
        return
    if ctx is None:  # never skip the check for want of a caller (a resumed job, say)
        raise SignatureVerificationError(
            reason="Unable to retrieve certificate: no caller to fetch it as")
    check = signatures.verifier(properties, certificates(ctx))
    yield from signatures.verified(chunks, check)
