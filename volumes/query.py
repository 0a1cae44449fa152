"""``GET /volumes`` and ``/volumes/detail``: query parameters (validated) and the SQL they make;
and the query vocabulary every list of the volume service shares (volumes, snapshots,
backups, attachments, groups, group snapshots, group types, messages): :func:`sort_params`
reads the sort keys, :func:`ordered` orders by them, :func:`caller_filters` checks a
caller's filters (from which microversion a non-admin's unknown filter is a 400 is a
parameter: backups refuse one at every microversion) and :func:`column_conditions` turns
them into SQL.

As Cinder (``cinder/api/v3/volumes.py``, ``etc/cinder/resource_filters.json``):

* Filters ``name``, ``status``, ``metadata`` (``{'k': 'v'}``, every pair must match),
  ``bootable`` (strictly a boolean from 3.2; before, anything but a false word is true),
  ``availability_zone``, ``size``, ``migration_status``; ``glance_metadata`` from 3.4,
  ``group_id`` from 3.10, ``created_at``/``updated_at`` with ``gt:``/``gte:``/``eq:``/
  ``neq:``/``lt:``/``lte:`` from 3.60, ``consumes_quota`` from 3.65; a filter given below its
  microversion is ignored. From 3.34 ``name~``/``status~``/``availability_zone~`` match a
  substring. A non-admin's unknown filter is a 400 from 3.31 (ignored before); ``all_tenants``
  is ignored for callers the ``volume:get_all_tenants`` rule denies. Admins may filter on
  ``project_id`` (with ``all_tenants``); an admin's unknown filter matches nothing, as
  Cinder's database layer answers.
* Sorting: ``sort=key[:dir],...`` or the older ``sort_key``/``sort_dir`` (not both);
  ``created_at`` then ``id``, descending, complete every order.
* Paging (:mod:`minicloud.paging`): ``limit``, ``marker``; ``with_count`` (3.45) asks for the
  total; Cinder's ``offset`` is refused (400) unless 0.
"""
from __future__ import annotations

import ast
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, false

from minicloud.errors import BadRequest
from minicloud.microversion import Version
from minicloud.validation import query_bool, query_int
from volumes.models import Volume

CONTROL = frozenset({"limit", "marker", "offset", "sort", "sort_key", "sort_dir",
                     "with_count", "all_tenants"})
#: Cinder's default resource filters for volumes (resource_filters.json).
USER_FILTERS = frozenset({"name", "status", "metadata", "bootable", "migration_status",
                          "availability_zone", "group_id", "size", "created_at",
                          "updated_at", "consumes_quota", "glance_metadata"})
#: Filters that appeared with a microversion: ignored below it.
FILTER_SINCE = {"glance_metadata": 4, "group_id": 10, "created_at": 60, "updated_at": 60,
                "consumes_quota": 65}
LIKE_FILTERS = {"name": Volume.name, "status": Volume.status,
                "availability_zone": Volume.availability_zone}
SORT_COLUMNS = {"id": Volume.id, "name": Volume.name, "status": Volume.status,
                "size": Volume.size, "availability_zone": Volume.availability_zone,
                "created_at": Volume.created_at, "updated_at": Volume.updated_at,
                "bootable": Volume.bootable, "project_id": Volume.project_id,
                "user_id": Volume.user_id, "description": Volume.description}
TIME_OPS = {"gt": "__gt__", "gte": "__ge__", "eq": "__eq__", "neq": "__ne__",
            "lt": "__lt__", "lte": "__le__"}
RESOURCE_FILTERS, LIKE_FILTER, TIME_FILTERS, COUNT = 31, 34, 60, 45
MAX_LITERAL = 4096


@dataclass
class ListQuery:
    """A validated list request (paging aside): SQL ``conditions``, ``metadata`` pairs to
    match in Python (a JSON column), the checked ``sort`` keys, whether every project is
    listed and whether the total is asked for."""

    all_projects: bool = False
    conditions: list[ColumnElement] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    sort: list[tuple[str, str]] = field(default_factory=list)
    with_count: bool = False

    def scope(self, args: Mapping[str, str], version: Version, all_tenants_allowed: bool
              ) -> None:
        """Read ``all_tenants`` (heeded for callers the get_all_tenants rule admits:
        ``all_tenants_allowed``; a bare one is true) and ``with_count`` (3.45)."""
        everyone = args.get("all_tenants")
        self.all_projects = all_tenants_allowed and everyone is not None and \
            (everyone == "" or loose_bool(everyone))
        if version.at_least(COUNT):
            self.with_count = bool(query_bool(args, "with_count", False))

    def where(self, condition: ColumnElement | None) -> None:
        """Add a filter's SQL ``condition`` (None: the filter makes none)."""
        if condition is not None:
            self.conditions.append(condition)


@dataclass
class VolumeQuery(ListQuery):
    """A validated volume list request; ``glance_metadata`` is matched in Python too."""

    glance_metadata: dict[str, str] = field(default_factory=dict)

    def apply(self, query: Select) -> Select:
        """``query`` filtered (columns) and ordered; metadata is matched by :meth:`keep`."""
        return ordered(query.where(*self.conditions), self.sort, SORT_COLUMNS)

    def keep(self, vol: Volume) -> bool:
        """Whether ``vol`` matches the metadata filters (JSON columns: matched here)."""
        meta, image = vol.metadata_ or {}, vol.image_metadata or {}
        return all(meta.get(k) == v for k, v in self.metadata.items()) and \
            all(image.get(k) == v for k, v in self.glance_metadata.items())


def literal_dict(raw: str, name: str) -> dict[str, str]:
    """``{'k': 'v'}`` as clients send it (Python or JSON literal syntax)."""
    try:
        value = ast.literal_eval(raw) if len(raw) <= MAX_LITERAL else None
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        value = None
    if not isinstance(value, dict):
        raise BadRequest(f"Invalid input received: the {name} filter must be a dictionary, "
                         f"such as {{'key': 'value'}}.")
    return {str(k): str(v) for k, v in value.items()}


def loose_bool(raw: str) -> bool:
    """Before 3.2 Cinder treated any value but a false word as true."""
    return raw.strip().lower() not in ("0", "f", "false", "off", "n", "no")


def _time_condition(column: Any, raw: str) -> ColumnElement:
    op, _, value = raw.partition(":")
    if op not in TIME_OPS or not value:
        raise BadRequest(f"Invalid input received: time filter {raw[:50]!r}: expected "
                         f"<op>:<time> with op one of {', '.join(TIME_OPS)}.")
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid input received: {value[:50]!r} is not a time.") from None
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    return getattr(column, TIME_OPS[op])(when)


def _condition(key: str, raw: str, version: Version, q: VolumeQuery) -> ColumnElement | None:
    """The SQL condition of one filter (None: matched in Python, or no condition)."""
    if key.endswith("~") and key[:-1] in LIKE_FILTERS and version.at_least(LIKE_FILTER):
        return LIKE_FILTERS[key[:-1]].contains(raw, autoescape=True)
    if key == "name":
        return Volume.name == raw
    if key in ("status", "availability_zone"):
        return getattr(Volume, key) == raw
    if key == "project_id":
        return Volume.project_id == raw
    if key == "size":
        return Volume.size == int(raw) if raw.isascii() and raw.isdigit() else false()
    if key == "bootable":
        strict = version.at_least(2)
        return Volume.bootable == (query_bool({key: raw}, key) if strict else loose_bool(raw))
    if key in ("created_at", "updated_at"):
        return _time_condition(getattr(Volume, key), raw)
    if key == "consumes_quota":
        return None if query_bool({key: raw}, key) else false()
    if key == "metadata":
        q.metadata.update(literal_dict(raw, key))
        return None
    if key == "glance_metadata":
        q.glance_metadata.update(literal_dict(raw, key))
        return None
    if key == "group_id":
        return Volume.group_id == raw
    # migration_status: no volume here migrates; for an
    # admin, any other key: Cinder's database layer matches nothing for unknown filters.
    return false()


def _filters(args: Mapping[str, str], version: Version, admin: bool) -> dict[str, str]:
    # a filter (or its like form) given below its microversion is dropped before the check
    given = {k: v for k, v in args.items()
             if version.at_least(FILTER_SINCE.get(k.rstrip("~"), 0))}
    allowed = USER_FILTERS | ({f"{k}~" for k in LIKE_FILTERS} if version.at_least(LIKE_FILTER)
                              else frozenset())
    return caller_filters(given, version, admin, allowed)


def caller_filters(args: Mapping[str, str], version: Version, admin: bool,
                   allowed: frozenset[str], ignore: frozenset[str] = CONTROL,
                   strict_from: int = RESOURCE_FILTERS) -> dict[str, str]:
    """The filters of a list request (``args`` but the ``ignore``d parameters) as Cinder
    takes them: an admin's all of them (an unknown one is for the caller to answer, as a
    condition that matches nothing); of a non-admin's, those in ``allowed``, and another is
    ignored before microversion ``strict_from`` (Cinder's 3.31) and a 400 from then on."""
    params = {k: v for k, v in args.items() if k not in ignore}
    if admin:
        return params
    unknown = sorted(k for k in params if k not in allowed)
    if unknown and version.at_least(strict_from):
        raise BadRequest(f"Invalid filters {','.join(unknown)} are found in query options.")
    return {k: v for k, v in params.items() if k in allowed}


def column_conditions(params: Mapping[str, str], columns: Mapping[str, Any]
                      ) -> list[ColumnElement]:
    """One equality per filter on its column; a key with no column matches nothing, as
    Cinder's database layer answers an admin's unknown filter."""
    return [columns[k] == v if k in columns else false() for k, v in params.items()]


def sort_params(args: Mapping[str, str], columns: Mapping[str, Any] = SORT_COLUMNS
                ) -> list[tuple[str, str]]:
    """``sort``, or ``sort_key``/``sort_dir``, completed by ``created_at`` and ``id``; every
    key must be one of ``columns``."""
    if "sort" in args and ("sort_key" in args or "sort_dir" in args):
        raise BadRequest("The 'sort_key' and 'sort_dir' parameters are deprecated and cannot "
                         "be used with the 'sort' parameter.")
    if "sort" in args:
        pairs = [part.partition(":")[::2] for part in args["sort"].strip().split(",")]
    else:
        pairs = [(args.get("sort_key", "created_at"), args.get("sort_dir", "desc"))]
    keys = [(k.strip(), (d.strip() or "desc").lower()) for k, d in pairs]
    for key, direction in keys:
        if key not in columns:
            raise BadRequest(f"Invalid input received: Invalid sort key {key[:50]!r}; sort "
                             f"keys are {', '.join(sorted(columns))}.")
        if direction not in ("asc", "desc"):
            raise BadRequest("Unknown sort direction, must be 'desc' or 'asc'.")
    seen = {k for k, _ in keys}
    default = keys[0][1]
    return keys + [(k, default) for k in ("created_at", "id") if k not in seen]


def ordered(stmt: Select, sort: Iterable[tuple[str, str]], columns: Mapping[str, Any]
            ) -> Select:
    """``stmt`` ordered by ``sort`` (``(key, "asc"|"desc")`` pairs whose keys the caller
    checked against ``columns``, e.g. by :func:`sort_params`)."""
    for key, direction in sort:
        column = columns[key]
        stmt = stmt.order_by(column.desc() if direction == "desc" else column.asc())
    return stmt


def parse(args: Mapping[str, str], version: Version, admin: bool,
          all_tenants_allowed: bool) -> VolumeQuery:
    """The list request in ``args`` for a caller at ``version``; ``admin`` is Cinder's
    ``context.is_admin`` (filters unchecked), ``all_tenants_allowed`` the get_all_tenants
    rule's verdict."""
    if query_int(args, "offset", 0):
        raise BadRequest("Invalid input received: 'offset' is not supported here; page with "
                         "'marker' and 'limit'.")
    q = VolumeQuery(sort=sort_params(args))
    q.scope(args, version, all_tenants_allowed)
    for key, raw in _filters(args, version, admin).items():
        q.where(_condition(key, raw, version, q))
    return q
