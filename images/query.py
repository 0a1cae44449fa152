"""``GET /v2/images``: query parameters (validated) and the SQL that lists what a caller sees.

Supported, as Glance: ``name``, ``status``, ``visibility`` (public, private, shared, community,
all), ``owner``, ``disk_format``, ``container_format``, ``id`` (each also as ``in:a,b``),
repeatable ``tag`` (all must match), ``member_status`` (accepted by default; pending,
rejected, all), ``os_hidden`` (hidden images are excluded unless ``os_hidden=true``, which
lists only hidden ones; case-insensitive), ``protected``, ``size_min``/``size_max``; any other
key filters on a custom property of that name (exact match). Sorting: ``sort_key``/``sort_dir``
(repeatable) or ``sort=key:dir,key2:dir``; default ``created_at`` descending, ``id`` breaks
ties. Paging: ``limit`` (default 25, at most 1000) and ``marker`` (an image id of the listing;
one that is not in it is a 400). Integers are ASCII digits only (``minicloud.validation``).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select, true

from images import states
from images.models import Image, ImageMember, ImageProperty, ImageTag
from minicloud.errors import BadRequest
from minicloud.identity.tokens import AuthContext
from minicloud.validation import query_int

DEFAULT_LIMIT = 25
MAX_LIMIT = 1000
SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "virtual_size",
             "id", "created_at", "updated_at", "visibility", "owner", "min_disk", "min_ram")
IN_FILTERS = ("id", "name", "status", "owner", "disk_format", "container_format")
LIST_VISIBILITIES = ("public", "private", "shared", "community", "all")
MEMBER_FILTERS = ("pending", "accepted", "rejected", "all")
_CONTROL = {"limit", "marker", "sort", "sort_key", "sort_dir", "tag", "visibility",
            "member_status", "os_hidden", "protected", "size_min", "size_max", *IN_FILTERS}
_UNSUPPORTED = {"created_at", "updated_at", "checksum", "os_hash_value", "min_disk",
                "min_ram", "virtual_size", "size"}


@dataclass
class ListQuery:
    """A validated listing request."""

    equals: dict[str, list[str]] = field(default_factory=dict)   # IN_FILTERS -> values
    tags: list[str] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)
    visibility: str | None = None
    member_status: str = "accepted"
    os_hidden: bool = False
    protected: bool | None = None
    size_min: int | None = None
    size_max: int | None = None
    sort: list[tuple[str, str]] = field(default_factory=list)
    limit: int = DEFAULT_LIMIT
    marker: str | None = None

    @classmethod
    def from_args(cls, args: Any) -> ListQuery:
        """Parse a werkzeug ``MultiDict`` (or a plain mapping) of query parameters."""
        get_all = args.getlist if hasattr(args, "getlist") else (lambda k: [args[k]])
        q = cls(tags=[t for t in get_all("tag") if t])
        q.limit = _limit(args)
        q.marker = args.get("marker") or None
        q.sort = _sort(args.get("sort"), get_all("sort_key"), get_all("sort_dir"))
        q.visibility = _choice(args.get("visibility"), LIST_VISIBILITIES, "visibility")
        q.member_status = _choice(args.get("member_status"), MEMBER_FILTERS,
                                  "member_status") or "accepted"
        q.os_hidden = bool(_boolean(args.get("os_hidden"), "os_hidden"))
        q.protected = _boolean(args.get("protected"), "protected")
        q.size_min = query_int(args, "size_min", None, minimum=0)
        q.size_max = query_int(args, "size_max", None, minimum=0)
        for key in IN_FILTERS:
            if args.get(key) is not None:
                q.equals[key] = _values(key, args.get(key))
        for key in args:
            if key in _UNSUPPORTED:
                raise BadRequest(f"Filtering images on '{key}' is not supported.")
            if key not in _CONTROL:
                q.properties[key] = args.get(key)
        return q


def _limit(args: Any) -> int:
    """``limit``: ASCII digits (``query_int``), capped at :data:`MAX_LIMIT` as Glance."""
    return min(query_int(args, "limit", DEFAULT_LIMIT, minimum=0), MAX_LIMIT)


def _choice(raw: str | None, allowed: tuple[str, ...], name: str) -> str | None:
    if raw is None:
        return None
    if raw.lower() not in allowed:
        raise BadRequest(f"Invalid {name} {raw!r}: must be one of {', '.join(allowed)}.")
    return raw.lower()


def _boolean(raw: str | None, name: str) -> bool | None:
    if raw is None:
        return None
    low = raw.strip().lower()
    if low not in ("true", "false"):
        raise BadRequest(f"Invalid {name} {raw!r}: must be true or false.")
    return low == "true"




def _values(key: str, raw: str) -> list[str]:
    values = raw[3:].split(",") if raw.startswith("in:") else [raw]
    values = [v.strip() for v in values]
    if key == "id":
        values = [v.lower() for v in values]
    if key == "status":
        bad = [v for v in values if v not in states.STATUSES]
        if bad:
            raise BadRequest(f"Invalid status {bad[0]!r}: must be one of "
                             f"{', '.join(sorted(states.STATUSES))}.")
    return values


def _sort_pair(key: str, direction: str) -> tuple[str, str]:
    if key not in SORT_KEYS:
        raise BadRequest(f"Invalid sort key {key!r}: must be one of {', '.join(SORT_KEYS)}.")
    if direction not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort direction {direction!r}: must be asc or desc.")
    return key, direction


def _sort(sort: str | None, keys: list[str], dirs: list[str]) -> list[tuple[str, str]]:
    if sort is not None and (keys or dirs):
        raise BadRequest("The 'sort' parameter cannot be combined with sort_key/sort_dir.")
    if sort is not None:
        pairs = []
        for item in (i.strip() for i in sort.split(",")):
            key, _, direction = item.partition(":")
            pairs.append(_sort_pair(key.strip(), (direction or "desc").strip().lower()))
    else:
        if len(dirs) > max(len(keys), 1) or (len(dirs) > 1 and len(dirs) != len(keys)):
            raise BadRequest("sort_dir must be given once, or once per sort_key.")
        keys = keys or ["created_at"]
        dirs = [d.lower() for d in dirs] or ["desc"]
        if len(dirs) == 1:
            dirs = dirs * len(keys)
        pairs = [_sort_pair(k, d) for k, d in zip(keys, dirs, strict=True)]
    if "id" not in [k for k, _ in pairs]:
        pairs.append(("id", pairs[0][1]))
    return pairs


def _visible(q: ListQuery, ctx: AuthContext) -> ColumnElement[bool]:
    vis = q.visibility
    if ctx.is_admin:
        return true() if vis in (None, "all") else Image.visibility == vis
    owned = Image.owner == ctx.project_id
    member = exists().where(ImageMember.image_id == Image.id,
                            ImageMember.member == ctx.project_id)
    if q.member_status != "all":
        member = member.where(ImageMember.status == q.member_status)
    shared = and_(Image.visibility == "shared", member)
    public = Image.visibility == "public"
    community = Image.visibility == "community"
    return {
        None: or_(owned, public, shared),
        "all": or_(owned, public, community, shared),
        "public": public,
        "private": and_(Image.visibility == "private", owned),
        "shared": and_(Image.visibility == "shared", or_(owned, member)),
        "community": community,
    }.get(vis, false())


def _filters(q: ListQuery) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [Image.os_hidden.is_(q.os_hidden)]
    for key, values in q.equals.items():
        conds.append(getattr(Image, key).in_(values))
    for tag in q.tags:
        conds.append(exists().where(ImageTag.image_id == Image.id, ImageTag.value == tag))
    for name, value in q.properties.items():
        conds.append(exists().where(ImageProperty.image_id == Image.id,
                                    ImageProperty.name == name, ImageProperty.value == value))
    if q.protected is not None:
        conds.append(Image.protected.is_(q.protected))
    if q.size_min is not None:
        conds.append(Image.size >= q.size_min)
    if q.size_max is not None:
        conds.append(Image.size <= q.size_max)
    return conds


def statement(q: ListQuery, ctx: AuthContext) -> Select:
    """The ordered ids of every image matching ``q`` that ``ctx`` may list."""
    order = [getattr(Image, key).asc() if direction == "asc" else getattr(Image, key).desc()
             for key, direction in q.sort]
    return (select(Image.id)
            .where(Image.status != states.DELETED, _visible(q, ctx), *_filters(q))
            .order_by(*order))


def next_link(args: Mapping[str, Any] | Any, marker: str, limit: int) -> str:
    """``/v2/images?marker=...&limit=...`` keeping the other query parameters."""
    items = args.items(multi=True) if hasattr(args, "getlist") else args.items()
    rest = [(k, v) for k, v in items if k not in ("marker", "limit")]
    return "/v2/images?" + urlencode([("marker", marker), ("limit", str(limit)), *rest])
