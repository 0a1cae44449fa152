"""The volume side's client of the image API, and the checked source of an image's data.

Services meet over HTTP: the API process reads image metadata with the caller's token (so a
user can only make volumes from images they may see); the agent downloads data with the
service user's token. A download is written to a temporary file, verified against the
image's hashes, and inspected (hardening.md 1.6): the detected format must equal the catalog's
``disk_format`` and pass the safety check, before ``qemu-img`` ever opens it.

When the image service shows ``direct_url`` (``[image] show_direct_url``, admins only) and it
names this cloud's own store file of the image, the agent reads that file instead
(:func:`images.store.store_file`): the image service verified its hashes at upload, so only
the inspection is run again.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from oslo_utils.imageutils import format_inspector

from minicloud import errors
from minicloud.client import ServiceClient

CHUNK = 1 << 20
#: Formats a volume can be made from (``qemu-img convert -f FORMAT``); kernels and ISOs not.
CONVERTIBLE = frozenset({"raw", "qcow2", "vmdk", "vdi", "vhd", "vhdx"})
#: Image keys that are not image properties (never copied into volume_image_metadata).
NOT_PROPERTIES = frozenset({
    "id", "name", "status", "visibility", "protected", "os_hidden", "owner", "tags",
    "created_at", "updated_at", "self", "file", "schema", "stores", "direct_url",
    "locations", "os_hash_algo", "os_hash_value", "virtual_size"})


class ImageDataError(errors.MinicloudError):
    status, kind, title = 400, "badRequest", "Image data refused"


class ImageClient(ServiceClient):
    """Image metadata and data over the image API, with a token it is handed."""

    service = "image"

    def get(self, image_id: str) -> dict:
        return self._call("GET", f"/v2/images/{image_id}").json()

    def download(self, image_id: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        resp = self._call("GET", f"/v2/images/{image_id}/file", stream=True)
        with resp:
            yield from resp.iter_content(chunk_size)

    # -- writing (volume to image, in the caller's name) -----------------------------------
    def create(self, body: dict) -> dict:
        """Create an image record (``queued``) from ``body`` (name, formats, properties)."""
        return self._call("POST", "/v2/images", json=body).json()

    def upload(self, image_id: str, path: Path) -> None:
        """Stream the file at ``path`` as the image's data."""
        with path.open("rb") as data:
            self._call("PUT", f"/v2/images/{image_id}/file", data=data,
                       headers={"Content-Type": "application/octet-stream"})

    def update(self, image_id: str, patch: list[dict]) -> dict:
        return self._call("PATCH", f"/v2/images/{image_id}", json=patch, headers={
            "Content-Type": "application/openstack-images-v2.1-json-patch"}).json()

    def delete(self, image_id: str) -> None:
        """Delete the image; one already gone is fine."""
        try:
            self._call("DELETE", f"/v2/images/{image_id}")
        except errors.NotFound:
            pass


def image_metadata(image: dict) -> dict[str, str]:
    """``volume_image_metadata`` as Cinder records it: core fields plus custom properties."""
    meta = {"image_id": image["id"], "image_name": image.get("name") or ""}
    for key, value in image.items():
        if key not in NOT_PROPERTIES and value is not None:
            meta[key] = value if isinstance(value, str) else str(value)
    return meta


def check_format(path: Path, disk_format: str) -> None:
    """Refuse a file whose detected format differs from ``disk_format`` or that is unsafe."""
    try:
        inspector = format_inspector.detect_file_format(str(path))
    except format_inspector.ImageFormatError as exc:
        raise ImageDataError(f"the image data is not a valid image: {exc}") from None
    detected = str(inspector) if inspector else "raw"
    if detected == "gpt":
        detected = "raw"  # a raw disk with a partition table
    if detected != disk_format:
        raise ImageDataError(f"the image data is {detected}, but the image says {disk_format}")
    try:
        if inspector is not None:
            inspector.safety_check()
    except format_inspector.SafetyCheckFailed as exc:
        raise ImageDataError(f"the image data failed the safety check: {exc}") from None


def convertible_format(image: dict) -> str:
    """The image's ``disk_format``; :class:`ImageDataError` if a volume cannot be made of it."""
    disk_format = image.get("disk_format") or "raw"
    if disk_format not in CONVERTIBLE:
        raise ImageDataError(f"a volume cannot be made from a {disk_format} image")
    return disk_format


def fetch(client: ImageClient, image: dict, dest: Path) -> None:
    """Download ``image`` to ``dest``, verified (hashes) and inspected (format, safety).

    On any failure ``dest`` does not exist afterwards.
    """
    disk_format = convertible_format(image)
    md5 = hashlib.md5(usedforsecurity=False)
    sha = hashlib.new(image.get("os_hash_algo") or "sha512")
    try:
        with dest.open("xb") as out:
            dest.chmod(0o600)
            for chunk in client.download(image["id"]):
                md5.update(chunk)
                sha.update(chunk)
                out.write(chunk)
        if image.get("os_hash_value") and sha.hexdigest() != image["os_hash_value"]:
            raise ImageDataError(f"image {image['id']} failed hash verification")
        if image.get("checksum") and md5.hexdigest() != image["checksum"]:
            raise ImageDataError(f"image {image['id']} failed checksum verification")
        check_format(dest, disk_format)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
