"""``GET /servers[/detail]`` queries: filters, sorting and the name pattern, as Nova reads them.

Nova treats the ``name`` filter as a regular expression. A regular expression a caller
controls must not be able to freeze the API (``?name=(a+)+$`` makes a backtracking engine
run for seconds), so :class:`NamePattern` accepts a safe subset and matches it in linear time
with a set-of-states simulation (no backtracking): literal text, ``.``, character classes
``[a-z0-9_]`` (``[^...]`` negated) and ``\\d``/``\\w``/``\\s``, each optionally followed by
``*``, ``+`` or ``?``, ``\\`` escaping the next character, ``^`` at the start and ``$`` at
the end. Everything else (groups, alternation, counted repetition) is matched literally.
The match is a search (anywhere in the name) unless anchored, case-sensitive, as Nova's.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from compute import states
from compute import tags as server_tags
from compute.models import Instance
from minicloud.errors import BadRequest
from minicloud.validation import query_bool

Atom = Callable[[str], bool]

_CLASSES: dict[str, Atom] = {
    "d": str.isdigit, "w": lambda c: c.isalnum() or c == "_", "s": str.isspace,
    "D": lambda c: not c.isdigit(), "W": lambda c: not (c.isalnum() or c == "_"),
    "S": lambda c: not c.isspace()}


def _literal(char: str) -> Atom:
    return lambda c: c == char


def _bracket(text: str, start: int) -> tuple[Atom, int] | None:
    """The class ``[...]`` opening at ``start`` and the index after it, or None when it is
    not closed (then ``[`` is a literal)."""
    i, negate = start + 1, False
    if text[i:i + 1] == "^":
        negate, i = True, i + 1
    items: list[tuple[str, str]] = []
    first = True
    while i < len(text) and (text[i] != "]" or first):
        first = False
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            char, i = text[i + 1], i + 1
        if text[i + 1:i + 2] == "-" and i + 2 < len(text) and text[i + 2] != "]":
            items.append((char, text[i + 2]))
            i += 3
        else:
            items.append((char, char))
            i += 1
    if i >= len(text):
        return None
    ranges = tuple(items)

    def atom(c: str) -> bool:
        return any(low <= c <= high for low, high in ranges) != negate

    return atom, i + 1


class NamePattern:
    """The safe regular-expression subset of the module docstring, compiled once."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.start = text.startswith("^")
        body = text[1:] if self.start else text
        self.end = body.endswith("$") and not body.endswith("\\$")
        self.tokens = self._tokens(body[:-1] if self.end else body)

    @staticmethod
    def _atom(body: str, i: int) -> tuple[Atom, int]:
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            return _CLASSES.get(nxt, _literal(nxt)), i + 2
        if char == ".":
            return (lambda c: c != "\n"), i + 1
        if char == "[":
            found = _bracket(body, i)
            if found is not None:
                return found
        return _literal(char), i + 1

    def _tokens(self, body: str) -> list[tuple[Atom, bool, bool]]:
        """(atom, optional, repeats) per position; ``x+`` becomes ``x x*``."""
        tokens: list[tuple[Atom, bool, bool]] = []
        i = 0
        while i < len(body):
            atom, i = self._atom(body, i)
            quant = body[i] if i < len(body) and body[i] in "*+?" else ""
            i += 1 if quant else 0
            if quant == "+":
                tokens += [(atom, False, False), (atom, True, True)]
            else:
                tokens.append((atom, quant in "*?" and quant != "", quant == "*"))
        return tokens

    def _closure(self, current: set[int]) -> set[int]:
        todo, seen = list(current), set(current)
        while todo:
            i = todo.pop()
            if i < len(self.tokens) and self.tokens[i][1] and i + 1 not in seen:
                seen.add(i + 1)
                todo.append(i + 1)
        return seen

    def matches(self, name: str) -> bool:
        """True when the pattern matches ``name`` (time linear in its length)."""
        final = len(self.tokens)
        current = self._closure({0})
        for char in name:
            if final in current and not self.end:
                return True
            nxt: set[int] = set() if self.start else {0}
            for i in current:
                if i < final and self.tokens[i][0](char):
                    nxt.add(i if self.tokens[i][2] else i + 1)
            current = self._closure(nxt)
            if not current:
                return False
        return final in current


#: ``sort_key`` values (Nova's) and what they sort by; the keys Nova accepts for the
#: instance columns minicloud does not keep sort as equal.
SORT_KEYS: dict[str, Callable[[Instance], object]] = {
    "created_at": lambda i: i.created_at, "updated_at": lambda i: i.updated_at,
    "display_name": lambda i: i.name, "display_description": lambda i: i.description or "",
    "uuid": lambda i: i.id, "vm_state": lambda i: i.vm_state,
    "task_state": lambda i: i.task_state or "", "power_state": lambda i: i.power_state,
    "project_id": lambda i: i.project_id, "user_id": lambda i: i.user_id,
    "host": lambda i: i.host or "", "node": lambda i: i.host or "",
    "availability_zone": lambda i: i.availability_zone or "",
    "launched_at": lambda i: i.launched_at or dt.datetime.min,
    "terminated_at": lambda i: i.terminated_at or dt.datetime.min,
    "key_name": lambda i: i.key_name or "", "image_ref": lambda i: i.image_id or "",
    "instance_type_id": lambda i: i.flavor_id, "progress": lambda i: i.progress,
    "hostname": lambda i: i.name, "locked": lambda i: i.locked_by is not None,
    "locked_by": lambda i: i.locked_by or "",
    **{key: (lambda i: 0) for key in (
        "access_ip_v4", "access_ip_v6", "auto_disk_config", "config_drive", "kernel_id",
        "launch_index", "ramdisk_id", "root_device_name")}}
#: Keys Nova accepts but ignores before 2.75 (and refuses from 2.75).
IGNORED_SORT_KEYS = frozenset({
    "architecture", "cell_name", "cleaned", "default_ephemeral_device",
    "default_swap_device", "deleted", "deleted_at", "disable_terminate", "ephemeral_gb",
    "ephemeral_key_uuid", "id", "key_data", "launched_on", "memory_mb", "os_type",
    "reservation_id", "root_gb", "shutdown_terminate", "user_data", "vcpus", "vm_mode"})

#: Filters every caller may use, from the microversion that allowed them (Nova's list).
USER_FILTERS: Mapping[str, int] = {
    "name": 0, "status": 0, "image": 0, "flavor": 0, "ip": 0, "ip6": 5, "changes-since": 0,
    "all_tenants": 0, "reservation_id": 0, "changes-before": 66, "locked": 73,
    "availability_zone": 83, "key_name": 83, "power_state": 83, "task_state": 83,
    "vm_state": 83, "user_id": 83,
    **dict.fromkeys(server_tags.FILTERS, 26)}
#: Filters only ``servers:allow_all_filters`` (admins) may use; others' are dropped.
ADMIN_FILTERS = frozenset({"host", "node", "project_id", "tenant_id", "uuid", "user_id",
                           "availability_zone", "key_name", "vm_state", "task_state",
                           "power_state", "display_name", "description"})
PAGING = frozenset({"limit", "marker", "sort_key", "sort_dir", "all_projects", "deleted",
                    "soft_deleted"})
STATUS_STATES = {"ACTIVE": states.ACTIVE, "BUILD": states.BUILDING, "SHUTOFF": states.STOPPED,
                 "ERROR": states.ERROR, "DELETED": states.DELETED,
                 "REBOOT": states.ACTIVE, "HARD_REBOOT": states.ACTIVE,
                 "PAUSED": states.PAUSED_VM, "SUSPENDED": states.SUSPENDED_VM,
                 "SOFT_DELETED": states.SOFT_DELETED, "REBUILD": states.ACTIVE,
                 "RESCUE": states.RESCUED}


def _timestamp(raw: str, name: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        raise BadRequest(f"Invalid input for query parameters {name}. Value: {raw[:50]}. "
                         f"'{raw[:50]}' is not a 'date-time'") from None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


#: A query timestamp (``changes-since``...), naive UTC; 400 naming ``name`` when invalid.
parse_timestamp = _timestamp


@dataclass
class ServerQuery:
    """The filters and order of one server list (paging is applied after it)."""

    all_projects: bool = False
    filters: dict[str, str] = field(default_factory=dict)
    sort: list[tuple[str, bool]] = field(default_factory=lambda: [("created_at", True)])
    name: NamePattern | None = None
    since: dt.datetime | None = None
    before: dt.datetime | None = None

    def keep(self, inst: Instance) -> bool:
        """True when ``inst`` passes every filter."""
        if inst.vm_state == states.DELETED and self.since is None and self.before is None:
            return False
        if self.since is not None and inst.updated_at < self.since:
            return False
        if self.before is not None and inst.updated_at > self.before:
            return False
        if self.name is not None and not (inst.name == self.name.text
                                          or self.name.matches(inst.name)):
            return False
        return all(self._field(inst, key, value) for key, value in self.filters.items())

    @staticmethod
    def _field(inst: Instance, key: str, value: str) -> bool:
        getters: dict[str, Callable[[Instance], object]] = {
            "status": lambda i: states.api_status(i.vm_state, i.task_state),
            "image": lambda i: i.image_id, "flavor": lambda i: i.flavor_id,
            "host": lambda i: i.host, "node": lambda i: i.host,
            "project_id": lambda i: i.project_id, "user_id": lambda i: i.user_id,
            "uuid": lambda i: i.id, "vm_state": lambda i: i.vm_state,
            "task_state": lambda i: i.task_state, "key_name": lambda i: i.key_name,
            "availability_zone": lambda i: i.availability_zone,
            "power_state": lambda i: str(i.power_state),
            "locked": lambda i: str(i.locked_by is not None).lower(),
            "ip": lambda i: None, "ip6": lambda i: None,
            "reservation_id": lambda i: i.reservation_id or f"r-{i.id[:8]}"}
        if key in server_tags.FILTERS:
            return server_tags.matches(key, value, {t.tag for t in inst.tags})
        if key == "status":
            return getters[key](inst) == value.upper()
        return str(getters[key](inst)) == value if key in getters else True

    def order(self, rows: list[Instance]) -> list[Instance]:
        """``rows`` sorted by the sort keys (ties by id, as Nova)."""
        rows = sorted(rows, key=lambda i: i.id, reverse=self.sort[0][1])
        for key, descending in reversed(self.sort):
            rows.sort(key=SORT_KEYS[key], reverse=descending)
        return rows


def _sort(args, minor: int) -> list[tuple[str, bool]]:
    keys = args.getlist("sort_key") if hasattr(args, "getlist") else [args.get("sort_key")]
    dirs = args.getlist("sort_dir") if hasattr(args, "getlist") else [args.get("sort_dir")]
    keys, dirs = [k for k in keys if k], [d for d in dirs if d]
    out = []
    for i, key in enumerate(keys):
        direction = dirs[i] if i < len(dirs) else (dirs[0] if dirs else "desc")
        if direction not in ("asc", "desc"):
            raise BadRequest(f"Invalid input for query parameters sort_dir. Value: "
                             f"{direction[:50]}. Must be 'asc' or 'desc'.")
        if key == "locked" and minor < 73:
            continue
        if key in IGNORED_SORT_KEYS and minor < 75:
            continue
        if key not in SORT_KEYS or key in IGNORED_SORT_KEYS:
            raise BadRequest(f"Invalid input for query parameters sort_key. Value: "
                             f"{key[:50]}. It is not a sort key of servers.")
        out.append((key, direction == "desc"))
    return out or [("created_at", (dirs[0] if dirs else "desc") == "desc")]


def parse(args, minor: int, all_filters: bool) -> ServerQuery:
    """A :class:`ServerQuery` from the request's query ``args`` at microversion 2.``minor``;
    ``all_filters``: the caller may use the admin filters (others' are dropped, as Nova).
    From 2.75 an unknown parameter is a 400."""
    known = set(USER_FILTERS) | ADMIN_FILTERS | PAGING
    if minor >= 75:
        unknown = sorted(k for k in args if k not in known)
        if unknown:
            raise BadRequest(f"Invalid input for query parameters {unknown[0][:50]}. "
                             "Additional properties are not allowed.")
    query = ServerQuery(sort=_sort(args, minor))
    flag = args.get("all_tenants", args.get("all_projects"))
    query.all_projects = flag is not None and flag.lower() in ("", "1", "true", "yes", "t")
    for key in args:
        if key in PAGING or key == "all_tenants" or args.get(key) is None:
            continue
        user_ok = key in USER_FILTERS and minor >= USER_FILTERS[key]
        if not user_ok and not (all_filters and key in ADMIN_FILTERS):
            continue
        query.filters[key] = args.get(key)
    _special(query, minor)
    return query


def _special(query: ServerQuery, minor: int) -> None:
    """The filters that are more than a comparison: name, times, status, locked, tenant."""
    filters = query.filters
    if "name" in filters:
        query.name = NamePattern(filters.pop("name"))
    if "display_name" in filters:
        query.name = NamePattern(filters.pop("display_name"))
    if "changes-since" in filters:
        query.since = _timestamp(filters.pop("changes-since"), "changes-since")
    if "changes-before" in filters:
        query.before = _timestamp(filters.pop("changes-before"), "changes-before")
        if query.since is not None and query.since > query.before:
            raise BadRequest("The value of changes-since must be less than or equal to "
                             "changes-before.")
    if "tenant_id" in filters:
        filters.setdefault("project_id", filters.pop("tenant_id"))
    if "locked" in filters:
        filters["locked"] = str(query_bool(filters, "locked")).lower()
    status = filters.get("status")
    if status is not None and status.upper() not in STATUS_STATES:
        if minor >= 38:
            raise BadRequest(f"Invalid status value: {status[:50]}")
        filters["status"] = "\0no-such-status"
    filters.pop("description", None)
