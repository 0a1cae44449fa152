"""Several servers from one request (``min_count``/``max_count``), as Nova makes them.

Every server of the request shares one reservation id (``r-`` and 8 characters, shown to
admins as ``OS-EXT-SRV-ATTR:reservation_id`` and usable as the ``reservation_id`` list
filter) and has its own launch index (0, 1, ...). When more than one server is made, each
is named from the requested name with Nova's default ``multi_instance_display_name_template``
(``%(name)s-%(count)d``: ``web-1``, ``web-2``...). The quota must hold all of ``min_count``
(else Nova's 403 naming the first resource over its limit); as many as fit, up to
``max_count``, are made.
"""
from __future__ import annotations

import secrets
import string

from sqlalchemy.orm import Session

from compute import quotas
from minicloud.errors import Forbidden

_ALPHABET = string.ascii_lowercase + string.digits


def reservation_id() -> str:
    """A new reservation id, as Nova's ``r-`` + 8 random lowercase letters and digits."""
    return "r-" + "".join(secrets.choice(_ALPHABET) for _ in range(8))


def server_name(name: str, index: int, count: int) -> str:
    """The name of the server at launch ``index`` of ``count`` made by one request."""
    return f"{name}-{index + 1}" if count > 1 else name


def fit(s: Session, project_id: str, flavor: dict, limits: quotas.Limits, low: int,
        high: int) -> int:
    """How many servers of ``flavor`` to make: as many as the project's quota holds, up
    to ``high``; a 403 when fewer than ``low`` fit. Counted in the caller's transaction
    ``s``, the one that records the servers (so concurrent creates cannot both fit)."""
    used = quotas.usage(s, project_id)
    allowed = quotas.project_limits(s, project_id, limits)
    each = {"instances": 1, "cores": flavor["vcpus"], "ram": flavor["ram"]}
    count = high
    for name in quotas.RESOURCES:
        limit = allowed[name]
        if limit < 0 or not each[name]:
            continue
        room = max(limit - used[name], 0) // each[name]
        if room < low:
            raise Forbidden(f"Quota exceeded for {name}: Requested {each[name] * low}, but "
                            f"already used {used[name]} of {limit} {name}")
        count = min(count, room)
    return count
