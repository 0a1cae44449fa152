"""What any client of a minicloud needs whatever its HTTP library: its credentials, the
error an answer means, and the token-and-catalog logic (:class:`CatalogSession`).

Credentials are found as the ``openstack`` CLI finds them: ``--os-cloud``/``OS_CLOUD`` in a
``clouds.yaml``, else ``OS_*`` variables, else the state directory's own admin credentials.
This module imports no HTTP library, so the CLI's light path (:mod:`minicloud.cli.rest`) and
the services' :mod:`minicloud.client` (requests) share it.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from minicloud import errors

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


def error_from_response(resp: Any) -> errors.MinicloudError:
    """The minicloud error matching an HTTP error response, with the server's message.

    ``resp`` is a ``requests.Response`` or anything shaped like one (``status_code``,
    ``json()``, ``text``, ``url``, ``request.method``), as :class:`minicloud.cli.rest.Response`.
    """
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




def password_auth(creds: Credentials) -> dict:
    """The ``POST /v3/auth/tokens`` body: a password, scoped to the credentials' project."""
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": creds.username, "domain": {"name": creds.user_domain_name},
        "password": creds.password}}},
        "scope": {"project": {"name": creds.project_name,
                              "domain": {"name": creds.project_domain_name}}}}}


def catalog_endpoint(token_body: dict, creds: Credentials, service_type: str) -> str:
    """The URL (no trailing ``/``) of ``service_type`` in a token's catalog, for the
    credentials' interface and region; 404 when the catalog has none."""
    for entry in token_body.get("catalog", []):
        if entry.get("type") == service_type:
            for ep in entry.get("endpoints", []):
                if ep.get("interface") == creds.interface and (
                        not creds.region_name or ep.get("region_id") == creds.region_name):
                    return ep["url"].rstrip("/")
    raise errors.NotFound(f"no {creds.interface} endpoint for the {service_type} "
                          "service in the catalog")


class CatalogSession:
    """A password-authenticated session with the service catalog, whatever the transport:
    a subclass sets ``creds``, ``token = None`` and ``token_body = {}`` and gives
    ``_send(method, url, **kwargs)``, which raises the matching error on 4xx/5xx."""

    creds: Credentials
    token: str | None
    token_body: dict

    def _send(self, method: str, url: str, **kwargs: Any) -> Any:
        raise NotImplementedError

    def authenticate(self) -> dict:
        url = self.creds.auth_url.rstrip("/") + "/auth/tokens"
        resp = self._send("POST", url, json=password_auth(self.creds))
        self.token = resp.headers["X-Subject-Token"]
        self.token_body = resp.json()["token"]
        return self.token_body

    def endpoint(self, service_type: str) -> str:
        if self.token is None:
            self.authenticate()
        return catalog_endpoint(self.token_body, self.creds, service_type)

    def request(self, service_type: str, method: str, path: str, **kwargs: Any) -> Any:
        """Send an authenticated request; raise the matching MinicloudError on 4xx/5xx."""
        url = self.endpoint(service_type) + path
        headers = {**(kwargs.pop("headers", None) or {}), "X-Auth-Token": self.token}
        return self._send(method, url, headers=headers, **kwargs)
