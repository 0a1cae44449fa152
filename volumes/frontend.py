"""What an attachment's connection info tells compute besides where the volume is: whether
the guest gets it read-only (``access_mode``), and the front-end qos-specs of its type
(``qos_specs``), which compute applies as libvirt ``<iotune>``.

As Cinder's volume manager does when it builds connection info: ``access_mode`` is the
attachment's mode, ``ro`` whenever the volume's ``readonly`` flag is set; ``qos_specs`` are
the specs of the qos-specs associated with the volume's type when their consumer is
``front-end`` or ``both`` (``None`` otherwise, back-end specs are the backend's business),
with Cinder's per-GB keys (``read_iops_sec_per_gb`` times the size, at least
``..._per_gb_min``, at most ``..._max``) resolved for the volume's size.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from minicloud.errors import BadRequest
from volumes.actions import is_readonly
from volumes.models import QosSpecs, Volume, VolumeType

FRONT_END = frozenset({"front-end", "both"})
#: The limits Cinder scales per GB (``<key>_per_gb``, ``<key>_per_gb_min``, ``<key>_max``).
PER_GB = ("read_iops_sec", "read_bytes_sec", "write_iops_sec", "write_bytes_sec",
          "total_iops_sec", "total_bytes_sec")


def attach_mode(vol: Volume, requested: str | None) -> str:
    """The mode of a new attachment: ``requested`` (3.54+ ``mode``), else ``ro`` for a
    read-only volume and ``rw`` otherwise; ``rw`` on a read-only volume is a 400."""
    if requested == "rw" and is_readonly(vol):
        raise BadRequest(f"Invalid attaching mode 'rw' for volume {vol.id}: the volume is "
                         f"read-only.")
    return requested or ("ro" if is_readonly(vol) else "rw")


def access_mode(vol: Volume, mode: str | None) -> str:
    """The connection info's ``access_mode``: ``ro`` for a ``ro`` attachment or a read-only
    volume, else ``rw``."""
    return "ro" if mode == "ro" or is_readonly(vol) else "rw"


def _int(value: str, key: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"Invalid qos specs: {key} must be an integer, not "
                         f"{str(value)[:50]!r}.") from None


def resolve_per_gb(specs: dict[str, str], size: int) -> dict[str, str]:
    """``specs`` with Cinder's per-GB keys replaced by the limit for ``size`` GB."""
    out = dict(specs)
    for key in PER_GB:
        per_gb = out.pop(f"{key}_per_gb", None)
        if per_gb is None:
            continue
        value = max(_int(out.pop(f"{key}_per_gb_min", "0"), f"{key}_per_gb_min"),
                    _int(per_gb, f"{key}_per_gb") * size)
        cap = out.pop(f"{key}_max", None)
        out[key] = str(min(value, _int(cap, f"{key}_max")) if cap is not None else value)
    return out


def front_end_qos(s: Session, vol: Volume) -> dict[str, str] | None:
    """The front-end qos-specs of the volume's type, resolved for its size, or None."""
    vtype = s.get(VolumeType, vol.volume_type_id) if vol.volume_type_id else None
    qos = s.get(QosSpecs, vtype.qos_specs_id) if vtype and vtype.qos_specs_id else None
    if qos is None or qos.consumer not in FRONT_END:
        return None
    return resolve_per_gb(dict(qos.specs or {}), vol.size)
