"""Placing a new volume: which volume host may take it (Cinder's scheduler, capability filter).

Each volume agent's host is one backend reporting the capabilities
:func:`capabilities` lists (also shown by ``scheduler-stats/get_pools``). A volume type's
extra specs are matched against them as Cinder's ``CapabilitiesFilter`` does:

* a key without a scope (``storage_protocol``, ``vendor_name``, ``volume_backend_name``) or
  in the ``capabilities:`` scope names a capability; a backend without that capability does
  not match. Keys of any other scope (``qos:``, ``hw:``, ``RESKEY:``, ...) are for someone
  else and are ignored.
* the value is compared with an operator as Cinder's extra-spec operators: ``<is> True``,
  ``<in> sub``, ``<all-in> a b``, ``<or> a <or> b``, numeric ``==``, ``!=``, ``>=``, ``<=``
  and ``=`` (at least), string ``s==``, ``s!=``, ``s<``, ``s<=``, ``s>``, ``s>=``; a plain
  value must equal the capability.

A host is a candidate when its agent is up, its cinder-volume service is enabled, it is not
frozen and the type's specs match; the freshest heartbeat wins. Without a candidate the
volume goes ``error`` with a user message (:mod:`volumes.messages`), as Cinder's
``No valid backend was found``.
"""
from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from minicloud.db import utcnow
from volumes.host_status import VOLUME as VOLUME_BINARY
from volumes.models import VolumeHost

VENDOR, DRIVER_VERSION, PROTOCOL = "Open Source", "1.0", "iSCSI"
NO_VALID_BACKEND = ("No valid backend was found: no volume agent that is up, enabled and not "
                    "frozen has the capabilities the volume type's extra specs ask for.")
TRUE_WORDS = frozenset({"true", "1", "yes", "on", "t", "y"})


def capabilities(row: VolumeHost) -> dict:
    """What the backend on ``row``'s host reports (without timestamps)."""
    return {"QoS_support": True, "volume_backend_name": row.backend,
            "total_capacity_gb": "unknown", "free_capacity_gb": "unknown",
            "reserved_percentage": 0, "driver_version": DRIVER_VERSION,
            "storage_protocol": PROTOCOL, "vendor_name": VENDOR,
            "thin_provisioning_support": True, "multiattach": False}


def _float(op: Callable[[float, float], bool]) -> Callable[[object, str], bool]:
    def compare(value: object, wanted: str) -> bool:
        try:
            return op(float(value), float(wanted))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
    return compare


def _string(op: Callable[[str, str], bool]) -> Callable[[object, str], bool]:
    return lambda value, wanted: op(str(value), wanted)


def _is(value: object, wanted: str) -> bool:
    return (str(value).strip().lower() in TRUE_WORDS) == (wanted.lower() in TRUE_WORDS)


OPERATORS: dict[str, Callable[[object, str], bool]] = {
    "=": _float(operator.ge), "==": _float(operator.eq), "!=": _float(operator.ne),
    ">=": _float(operator.ge), "<=": _float(operator.le),
    "s==": _string(operator.eq), "s!=": _string(operator.ne), "s<": _string(operator.lt),
    "s<=": _string(operator.le), "s>": _string(operator.gt), "s>=": _string(operator.ge),
    "<in>": lambda value, wanted: wanted in str(value), "<is>": _is,
}


def match_value(value: object, spec: str) -> bool:
    """Whether a capability's ``value`` satisfies one extra spec's value."""
    words = spec.split()
    if not words or (words[0] != "<or>" and words[0] != "<all-in>"
                     and words[0] not in OPERATORS):
        return str(value) == spec if not isinstance(value, bool) else _is(value, spec)
    op, args = words[0], words[1:]
    if op == "<or>":  # "<or> a <or> b": any of the words between the <or>s
        return str(value) in args[::2]
    if op == "<all-in>":
        return bool(args) and all(arg in str(value) for arg in args)
    return bool(args) and OPERATORS[op](value, args[0])


def satisfies(extra_specs: Mapping[str, str], caps: Mapping[str, object]) -> bool:
    """Whether a backend with ``caps`` satisfies a volume type's ``extra_specs``."""
    for key, spec in (extra_specs or {}).items():
        scope = key.split(":")
        if len(scope) > 1 and scope[0] != "capabilities":
            continue  # another consumer's spec (qos:, hw:, vendor scopes)
        name = ":".join(scope[1:]) if scope[0] == "capabilities" else key
        if name not in caps or not match_value(caps[name], spec):
            return False
    return True


def pick_host(s: Session, extra_specs: Mapping[str, str], down_after: float) -> str | None:
    """The host for a new volume of a type with ``extra_specs`` (see the module
    docstring), or None when no backend can take it."""
    fresh = utcnow() - dt.timedelta(seconds=down_after)
    for row in s.scalars(select(VolumeHost).where(VolumeHost.heartbeat_at >= fresh)
                         .order_by(VolumeHost.heartbeat_at.desc())):
        if row.reason(VOLUME_BINARY) is None and not row.frozen \
                and satisfies(extra_specs, capabilities(row)):
            return row.name
    return None
