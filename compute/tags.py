"""Server tags (Nova 2.26): short labels a user puts on servers and lists them by.

A tag is 1 to 60 characters without ``/`` or ``,`` (``,`` separates tags in the list
filters); a server has at most 50 (:data:`compute.schema.MAX_TAGS`), each once. Tags change
only while the server is in a settled state (:data:`WRITABLE`), as Nova's; they go with the
server. The server list filters (2.26+) are :func:`matches`: ``tags`` (all of them),
``tags-any`` (at least one), ``not-tags`` (not all of them), ``not-tags-any`` (none).
"""
from __future__ import annotations

from sqlalchemy import delete, select

from compute import states
from compute.models import Instance, InstanceTag
from compute.schema import MAX_TAGS
from minicloud.db import Database
from minicloud.errors import BadRequest, Conflict, NotFound

#: The vm_states in which a server's tags may change (Nova's; the ones minicloud does not
#: have yet are listed so that they are allowed once they exist).
WRITABLE = frozenset({states.ACTIVE, states.STOPPED, "paused", "suspended", "shelved",
                      "shelved_offloaded"})
#: The server list's tag filters.
FILTERS = ("tags", "tags-any", "not-tags", "not-tags-any")


def check_tag(tag: str) -> str:
    """A tag from a URL, checked as the body's tags are (400 with Nova's message)."""
    if not 1 <= len(tag) <= 60 or "," in tag or "/" in tag:
        raise BadRequest(f"Tag '{tag[:80]}' is invalid. It must be a non empty string of "
                         "at most 60 characters without characters '/' and ','.")
    return tag


def matches(kind: str, value: str, tags: set[str]) -> bool:
    """Whether a server with ``tags`` passes the list filter ``kind`` (one of
    :data:`FILTERS`) whose ``value`` is a comma-separated list of tags."""
    wanted = {t for t in value.split(",") if t}
    if kind == "tags":
        return wanted <= tags
    if kind == "tags-any":
        return bool(wanted & tags)
    if kind == "not-tags":
        return not wanted <= tags
    return not wanted & tags  # not-tags-any


def _too_many() -> BadRequest:
    return BadRequest(f"The number of tags exceeded the per-server limit {MAX_TAGS}")


class Tags:
    """A server's tags in the catalog; the caller has checked the server is visible."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def list(self, instance_id: str) -> list[str]:
        with self.db.session() as s:
            return list(s.scalars(select(InstanceTag.tag).where(
                InstanceTag.instance_id == instance_id).order_by(InstanceTag.tag)))

    def has(self, instance_id: str, tag: str) -> bool:
        with self.db.session() as s:
            return s.get(InstanceTag, (instance_id, tag)) is not None

    @staticmethod
    def _writable(s, instance_id: str, operation: str) -> None:
        """409 unless the server is in a state whose tags may change (read in the write
        transaction, so a concurrent state change cannot slip between)."""
        inst = s.get(Instance, instance_id)
        if inst is None or inst.vm_state == states.DELETED:
            raise NotFound(f"Instance {instance_id} could not be found.")
        if inst.vm_state not in WRITABLE:
            raise Conflict(f"Cannot '{operation}' instance {instance_id} while it is in "
                           f"vm_state {inst.vm_state}")

    def replace(self, instance_id: str, tags: list[str]) -> list[str]:
        """Make ``tags`` the server's whole set (duplicates count once); returns it."""
        wanted = sorted(set(tags))
        if len(wanted) > MAX_TAGS:
            raise _too_many()
        with self.db.session() as s:
            self._writable(s, instance_id, "update tags")
            s.execute(delete(InstanceTag).where(InstanceTag.instance_id == instance_id))
            s.add_all(InstanceTag(instance_id=instance_id, tag=t) for t in wanted)
        return wanted

    def add(self, instance_id: str, tag: str) -> bool:
        """Add one tag; False when the server had it already (nothing changes)."""
        with self.db.session() as s:
            self._writable(s, instance_id, "update tag")
            if s.get(InstanceTag, (instance_id, tag)) is not None:
                return False
            count = len(list(s.scalars(select(InstanceTag.tag).where(
                InstanceTag.instance_id == instance_id))))
            if count >= MAX_TAGS:
                raise _too_many()
            s.add(InstanceTag(instance_id=instance_id, tag=tag))
        return True

    def remove(self, instance_id: str, tag: str) -> None:
        """Remove one tag (404 when the server does not have it)."""
        with self.db.session() as s:
            self._writable(s, instance_id, "delete tag")
            row = s.get(InstanceTag, (instance_id, tag))
            if row is None:
                raise NotFound(f"Instance {instance_id} has no tag '{tag[:80]}'")
            s.delete(row)

    def clear(self, instance_id: str) -> None:
        with self.db.session() as s:
            self._writable(s, instance_id, "delete tags")
            s.execute(delete(InstanceTag).where(InstanceTag.instance_id == instance_id))
