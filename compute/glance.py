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

    def list(self, filters: dict[str, str]) -> list[dict]:
        """One page of ``GET /v2/images`` with these filters (image properties too)."""
        return self._call("GET", "/v2/images", params=filters).json()["images"]

    def create(self, body: dict) -> dict:
        return self._call("POST", "/v2/images", json=body).json()

    def upload(self, image_id: str, chunks: Iterator[bytes]) -> None:
        self._call("PUT", f"/v2/images/{image_id}/file", data=chunks,
                   headers={"Content-Type": "application/octet-stream"})

    def delete(self, image_id: str) -> None:
        self._call("DELETE", f"/v2/images/{image_id}")
