"""Bodies of the key manager API, as Barbican v1 writes them.

A secret is ``{"status", "created", "updated", "expiration", "algorithm", "bit_length",
"mode", "name", "secret_ref", "secret_type", "creator_id", "content_types"}``: timestamps in
Python's ``isoformat`` (no zone), ``secret_ref`` the full URL of the secret, and
``content_types`` (``{"default": <type>}``) only once the secret has a payload.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from keymanager.service import SecretRecord

#: Barbican's version (1.0: this key manager serves no microversion, as a Barbican that
#: ignores the ``OpenStack-API-Version`` header: clients then use 1.0).
UPDATED = "2015-04-28T00:00:00Z"
MEDIA_TYPES = [{"base": "application/json",
                "type": "application/vnd.openstack.key-manager-v1+json"}]


def _ts(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def secret_ref(base_url: str, secret_id: str) -> str:
    return f"{base_url.rstrip('/')}/v1/secrets/{secret_id}"


def secret_json(r: SecretRecord, base_url: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": "ACTIVE", "created": _ts(r.created_at), "updated": _ts(r.updated_at),
        "expiration": _ts(r.expiration), "algorithm": r.algorithm, "bit_length": r.bit_length,
        "mode": r.mode, "name": r.name, "secret_ref": secret_ref(base_url, r.id),
        "secret_type": r.secret_type, "creator_id": r.creator_id,
    }
    if r.content_type is not None:
        body["content_types"] = {"default": r.content_type}
    return body


def version_json(base_url: str) -> dict[str, Any]:
    return {"id": "v1", "status": "stable", "updated": UPDATED, "media-types": MEDIA_TYPES,
            "links": [{"rel": "self", "href": f"{base_url.rstrip('/')}/v1/"},
                      {"rel": "describedby", "type": "text/html",
                       "href": "https://docs.openstack.org/"}]}


def versions_json(base_url: str) -> dict[str, Any]:
    return {"versions": {"values": [version_json(base_url)]}}
