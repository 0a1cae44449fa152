"""What Tempest left behind: the admin's view of the cloud before and after a run.

Tempest deletes what it creates (servers, volumes, images; the projects and users of its
dynamic credentials). Anything new after the run that was not there before is a leak:
either a Tempest cleanup the cloud refused or a delete the cloud did not finish.
"""
from __future__ import annotations

from collections.abc import Callable

from minicloud.client import Client
from minicloud.errors import MinicloudError

Snapshot = dict[str, dict[str, str]]   # kind -> {id: name}
CINDER = {"OpenStack-API-Version": "volume 3.0"}


def _paged(fetch: Callable[[str], dict], first: str, key: str) -> list[dict]:
    """Every item of a list that may come in pages (``next`` links, Glance style)."""
    items, path, seen = [], first, set()
    while path and path not in seen:
        seen.add(path)
        body = fetch(path)
        items += body.get(key, [])
        path = body.get("next")
    return items


def _listers(client: Client) -> dict[str, Callable[[], list[dict]]]:
    def get(service: str, headers: dict | None = None) -> Callable[[str], dict]:
        return lambda path: client.request(service, "GET", path, headers=headers).json()

    return {
        "servers": lambda: get("compute")("/servers?all_tenants=1")["servers"],
        "volumes": lambda: get("volumev3", CINDER)("/volumes?all_tenants=1")["volumes"],
        "images": lambda: _paged(get("image"), "/v2/images?limit=200", "images"),
        "projects": lambda: get("identity")("/projects")["projects"],
        "users": lambda: get("identity")("/users")["users"],
    }


def snapshot(client: Client, warn: Callable[[str], None] = print) -> Snapshot:
    """{kind: {id: name}} of what the admin sees. A kind the cloud cannot list is left out
    (with a warning) rather than reported as leaked or clean."""
    found: Snapshot = {}
    try:
        client.authenticate()  # a fresh token: a run can outlast the last one
    except MinicloudError as exc:
        warn(f"leak check: cannot authenticate as the admin: {exc}")
        return found
    for kind, lister in _listers(client).items():
        try:
            found[kind] = {item["id"]: item.get("name") or "" for item in lister()}
        except (MinicloudError, KeyError, ValueError) as exc:
            warn(f"leak check: cannot list {kind}: {exc}")
    return found


def diff(before: Snapshot, after: Snapshot) -> dict[str, list[str]]:
    """{kind: ["id name", ...]} of what is in ``after`` but was not in ``before``."""
    return {kind: sorted(f"{i} {name}".strip() for i, name in items.items()
                         if i not in before.get(kind, {}))
            for kind, items in after.items() if kind in before}
