"""REST client of minicloud's APIs over requests: services calling each other, tests,
benchmarks (the CLI never touches the database, and speaks through the lighter
:mod:`minicloud.cli.rest`).

Credentials and the error an answer means live in :mod:`minicloud.clouds`, shared by both.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import requests

from minicloud import errors

# Their home before minicloud.clouds (which the CLI imports without requests): re-exported.
from minicloud.clouds import (  # noqa: F401
    CatalogSession,
    Credentials,
    catalog_endpoint,
    error_from_response,
    find_credentials,
    password_auth,
)

LOG = logging.getLogger(__name__)
#: The request id to pass on as ``X-OpenStack-Request-ID`` when a service calls another: the
#: API layer sets it for each request it serves, an agent for each task it runs.
GLOBAL_REQUEST_ID: ContextVar[str | None] = ContextVar("global_request_id", default=None)


class Client(CatalogSession):
    """A token-authenticated session with the service catalog, over requests."""

    def __init__(self, creds: Credentials, timeout: float = 60) -> None:
        self.creds, self.timeout = creds, timeout
        self.session = requests.Session()
        self.token: str | None = None
        self.token_body: dict = {}

    def close(self) -> None:
        """Drop the kept-alive connections (the next request opens a fresh one)."""
        self.session.close()

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        try:
            resp = self.session.request(method, url, **kwargs)
        except requests.ConnectionError:
            raise errors.ServiceUnavailable(
                f"cannot reach {url.split('/', 3)[2]}: is the cloud running? "
                "(`minicloud up`)") from None
        except requests.Timeout:
            raise errors.ServiceUnavailable(f"no answer from {url} within {self.timeout}s") \
                from None
        if resp.status_code >= 400:
            raise error_from_response(resp)
        return resp


class ServiceClient:
    """What one service uses to call another over HTTP: a base URL, a token it is handed
    (a callable: the service token renews itself), fixed headers. An error answer becomes
    the matching :class:`MinicloudError`; an unreachable service is a 503."""

    service = "a"                  # for the 503's message: "the image service ..."
    headers: dict[str, str] = {}   # sent on every call (microversions)

    def __init__(self, base_url: str, token: Callable[[], str], timeout: float = 60) -> None:
        self.base_url, self.token, self.timeout = base_url.rstrip("/"), token, timeout

    def _call(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = {**self.headers, **(kw.pop("headers", None) or {}),
                   "X-Auth-Token": self.token()}
        if GLOBAL_REQUEST_ID.get():
            headers["X-OpenStack-Request-ID"] = GLOBAL_REQUEST_ID.get()
        try:
            resp = requests.request(method, self.base_url + path, headers=headers,
                                    timeout=self.timeout, **kw)
        except requests.RequestException as exc:
            # the URL is the cloud's internal business: the log has it, the caller does not
            LOG.error("%s service unreachable at %s: %s", self.service, self.base_url, exc)
            raise errors.ServiceUnavailable(f"The {self.service} service is unavailable.") \
                from None
        if resp.status_code >= 400:
            raise error_from_response(resp)
        return resp
