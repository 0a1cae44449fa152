"""The compute side's client of the image API (services meet over HTTP, never in the DB)."""
from __future__ import annotations

from collections.abc import Callable, Iterator

import requests

from minicloud import errors
from minicloud.client import error_from_response


class ImageClient:
    """Reads image metadata and data, and uploads snapshots, with a token it is handed."""

    def __init__(self, base_url: str, token: Callable[[], str], timeout: float = 60) -> None:
        self.base_url, self.token, self.timeout = base_url.rstrip("/"), token, timeout

    def _call(self, method: str, path: str, **kw) -> requests.Response:
        headers = dict(kw.pop("headers", None) or {}, **{"X-Auth-Token": self.token()})
        try:
            resp = requests.request(method, self.base_url + path, headers=headers,
                                    timeout=self.timeout, **kw)
        except requests.RequestException as exc:
            raise errors.ServiceUnavailable(f"image service unreachable: {exc}") from None
        if resp.status_code >= 400:
            raise error_from_response(resp)
        return resp

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
