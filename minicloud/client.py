"""REST client of minicloud's APIs (the CLI never touches the database).

Credentials are found as the ``openstack`` CLI finds them: ``--os-cloud``/``OS_CLOUD`` in a
``clouds.yaml``, else ``OS_*`` variables, else the state directory's own admin credentials.
"""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

from minicloud import errors

LOG = logging.getLogger(__name__)
#: The request id to pass on as ``X-OpenStack-Request-ID`` when a service calls another: the
#: API layer sets it for each request it serves, an agent for each task it runs.
GLOBAL_REQUEST_ID: ContextVar[str | None] = ContextVar("global_request_id", default=None)

_BY_STATUS = {cls.status: cls for cls in (
    errors.BadRequest, errors.Unauthorized, errors.Forbidden, errors.NotFound,
    errors.MethodNotAllowed, errors.Conflict, errors.RequestTooLarge,
    errors.UnsupportedMediaType, errors.RangeNotSatisfiable, errors.ServiceUnavailable)}


@dataclass(frozen=True)
class Credentials:
    auth_url: str
    username: str
    password: str
    project_name: str
    user_domain_name: str = "Default"
    project_domain_name: str = "Default"
    region_name: str | None = None
    interface: str = "public"


def _clouds_files(state_dir: Path) -> list[Path]:
    files = []
    if os.environ.get("OS_CLIENT_CONFIG_FILE"):
        files.append(Path(os.environ["OS_CLIENT_CONFIG_FILE"]))
    files += [Path.cwd() / "clouds.yaml", Path.home() / ".config/openstack/clouds.yaml",
              Path("/etc/openstack/clouds.yaml"), state_dir / "clouds.yaml"]
    return files


def _from_cloud(name: str, state_dir: Path) -> Credentials:
    for path in _clouds_files(state_dir):
        try:
            clouds = (yaml.safe_load(path.read_text()) or {}).get("clouds") or {}
        except (OSError, yaml.YAMLError, AttributeError):
            continue
        if name in clouds:
            cloud = clouds[name]
            auth = cloud.get("auth") or {}
            try:
                return Credentials(
                    auth_url=auth["auth_url"], username=auth["username"],
                    password=auth["password"], project_name=auth["project_name"],
                    user_domain_name=auth.get("user_domain_name", "Default"),
                    project_domain_name=auth.get("project_domain_name", "Default"),
                    region_name=cloud.get("region_name"),
                    interface=cloud.get("interface", "public"))
            except KeyError as exc:
                raise errors.ConfigError(f"{path}: cloud {name!r} lacks auth.{exc.args[0]}") \
                    from None
    raise errors.ConfigError(f"cloud {name!r} is not in any clouds.yaml "
                             f"({', '.join(str(p) for p in _clouds_files(state_dir))})")


def find_credentials(state_dir: Path, os_cloud: str | None = None,
                     environ: Mapping[str, str] = os.environ) -> Credentials:
    name = os_cloud or environ.get("OS_CLOUD")
    if name:
        return _from_cloud(name, state_dir)
    if environ.get("OS_AUTH_URL"):
        try:
            return Credentials(
                auth_url=environ["OS_AUTH_URL"], username=environ["OS_USERNAME"],
                password=environ["OS_PASSWORD"], project_name=environ["OS_PROJECT_NAME"],
                user_domain_name=environ.get("OS_USER_DOMAIN_NAME", "Default"),
                project_domain_name=environ.get("OS_PROJECT_DOMAIN_NAME", "Default"),
                region_name=environ.get("OS_REGION_NAME"),
                interface=environ.get("OS_INTERFACE", "public"))
        except KeyError as exc:
            raise errors.ConfigError(f"OS_AUTH_URL is set but {exc.args[0]} is not") from None
    if (state_dir / "clouds.yaml").exists():
        return _from_cloud("minicloud", state_dir)
    raise errors.ConfigError(
        f"no credentials: set OS_CLOUD or OS_* variables, or start a cloud in {state_dir} "
        "with `minicloud up`")


def error_from_response(resp: requests.Response) -> errors.MinicloudError:
    """The minicloud error matching an HTTP error response, with the server's message."""
    message = ""
    try:
        body = resp.json()
        if isinstance(body, dict):
            inner = next(iter(body.values()), None) if len(body) == 1 else body
            if isinstance(inner, dict):
                message = str(inner.get("message") or "")
            message = message or str(body.get("message") or "")
    except (ValueError, json.JSONDecodeError):
        message = resp.text.strip()[:300]
    cls = _BY_STATUS.get(resp.status_code, errors.MinicloudError)
    return cls(message or f"HTTP {resp.status_code} from {resp.request.method} {resp.url}")


class Client:
    """A token-authenticated session with the service catalog."""

    def __init__(self, creds: Credentials, timeout: float = 60) -> None:
        self.creds, self.timeout = creds, timeout
        self.session = requests.Session()
        self.token: str | None = None
        self.token_body: dict = {}

    def authenticate(self) -> dict:
        c = self.creds
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": c.username, "domain": {"name": c.user_domain_name},
            "password": c.password}}},
            "scope": {"project": {"name": c.project_name,
                                  "domain": {"name": c.project_domain_name}}}}}
        url = c.auth_url.rstrip("/") + "/auth/tokens"
        resp = self._send("POST", url, json=body)
        self.token = resp.headers["X-Subject-Token"]
        self.token_body = resp.json()["token"]
        return self.token_body

    def endpoint(self, service_type: str) -> str:
        if self.token is None:
            self.authenticate()
        for entry in self.token_body.get("catalog", []):
            if entry.get("type") == service_type:
                for ep in entry.get("endpoints", []):
                    if ep.get("interface") == self.creds.interface and (
                            not self.creds.region_name
                            or ep.get("region_id") == self.creds.region_name):
                        return ep["url"].rstrip("/")
        raise errors.NotFound(f"no {self.creds.interface} endpoint for the {service_type} "
                              "service in the catalog")

    def request(self, service_type: str, method: str, path: str, **kwargs: Any
                ) -> requests.Response:
        """Send an authenticated request; raise the matching MinicloudError on 4xx/5xx."""
        url = self.endpoint(service_type) + path
        headers = dict(kwargs.pop("headers", None) or {}, **{"X-Auth-Token": self.token})
        return self._send(method, url, headers=headers, **kwargs)

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
