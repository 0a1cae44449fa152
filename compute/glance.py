"""The compute side's client of the image API (services meet over HTTP, never in the DB)."""
from __future__ import annotations

from collections.abc import Iterator

from minicloud.client import ServiceClient


class ImageClient(ServiceClient):
    """Reads image metadata and data, and uploads snapshots, with a token it is handed."""

    service = "image"

    def get(self, image_id: str) -> dict:
        return self._call("GET", f"/v2/images/{image_id}").json()

    def download(self, image_id: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        resp = self._call("GET", f"/v2/images/{image_id}/file", stream=True)
        with resp:
            yield from resp.iter_content(chunk_size)

    def create(self, body: dict) -> dict:
        return self._call("POST", "/v2/images", json=body).json()

    def upload(self, image_id: str, chunks: Iterator[bytes]) -> None:
        self._call("PUT", f"/v2/images/{image_id}/file", data=chunks,
                   headers={"Content-Type": "application/octet-stream"})

    def delete(self, image_id: str) -> None:
        self._call("DELETE", f"/v2/images/{image_id}")

    def list(self, params: dict[str, str] | None = None) -> list[dict]:
        """Every image the caller may list matching Glance's query ``params`` (filters,
        image properties too, and ``sort_key``/``sort_dir``; Glance's default visibility and
        order otherwise), following Glance's ``next`` links."""
        query = {**(params or {}), "limit": "1000"}
        images: list[dict] = []
        path: str | None = "/v2/images"
        while path is not None:
            body = self._call("GET", path, params=query).json()
            images.extend(body.get("images", []))
            path, query = body.get("next"), None   # ``next`` carries the whole query
        return images

    def update(self, image_id: str, changes: list[dict]) -> dict:
        """Apply a JSON patch (Glance's ``openstack-images-v2.1-json-patch``: ``add``
        sets a property whether or not it exists) as the caller; the updated image."""
        return self._call("PATCH", f"/v2/images/{image_id}", json=changes, headers={
            "Content-Type": "application/openstack-images-v2.1-json-patch"}).json()
