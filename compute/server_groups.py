"""Server groups (Nova's ``os-server-groups``): a project says where a set of its servers
may run, and the scheduler keeps to it.

The seeds' two cases: ``anti-affinity`` runs each member on a different host (resilience;
from 2.64 at most ``max_server_per_host`` per host), ``affinity`` runs them all on the host
of the first (performance). ``soft-anti-affinity`` and ``soft-affinity`` (2.15) are the same
wishes as preferences: the scheduler weighs hosts by them and never fails because of them.

A server joins a group at create (``os:scheduler_hints: {"group": ID}``), in the transaction
that records it, where the ``server_group_members`` quota is counted; it leaves when it is
deleted (deleted members are never counted or shown, and their rows go with the delete).
The rule itself is enforced by :func:`compute.scheduler.claim`, which reads the members'
hosts in the claim's own transaction (:func:`member_hosts`), so concurrent claims cannot
break it.
"""
from __future__ import annotations

import collections
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from compute import quotas, states
from compute.models import Instance, ServerGroup, ServerGroupMember
from minicloud.db import Database, new_uuid
from minicloud.errors import BadRequest, Forbidden, NotFound
from minicloud.identity.tokens import AuthContext

AFFINITY, ANTI_AFFINITY = "affinity", "anti-affinity"
SOFT_AFFINITY, SOFT_ANTI_AFFINITY = "soft-affinity", "soft-anti-affinity"
#: Policies by the microversion that introduced them.
POLICIES = (AFFINITY, ANTI_AFFINITY, SOFT_AFFINITY, SOFT_ANTI_AFFINITY)
HARD = frozenset({AFFINITY, ANTI_AFFINITY})


@dataclass(frozen=True)
class Group:
    """A server group as the API shows it (a plain record: no session behind it)."""

    id: str
    name: str
    project_id: str
    user_id: str
    policy: str
    rules: dict = field(default_factory=dict)
    members: tuple[str, ...] = ()

    @property
    def max_per_host(self) -> int:
        """How many members one host may run under ``anti-affinity`` (Nova's default 1)."""
        return int(self.rules.get("max_server_per_host", 1))


def _live_members(s: Session, group_ids: list[str]) -> dict[str, list[str]]:
    rows = s.execute(select(ServerGroupMember.group_id, ServerGroupMember.instance_id)
                     .join(Instance, Instance.id == ServerGroupMember.instance_id)
                     .where(ServerGroupMember.group_id.in_(group_ids),
                            Instance.vm_state != states.DELETED)
                     .order_by(Instance.created_at)).all()
    out: dict[str, list[str]] = collections.defaultdict(list)
    for group_id, instance_id in rows:
        out[group_id].append(instance_id)
    return out


def _records(s: Session, rows: list[ServerGroup]) -> list[Group]:
    members = _live_members(s, [r.id for r in rows])
    return [Group(r.id, r.name, r.project_id, r.user_id, r.policy, dict(r.rules or {}),
                  tuple(members.get(r.id, ()))) for r in rows]


def member_hosts(s: Session, group_id: str, exclude: str) -> collections.Counter[str]:
    """How many live members of the group each host runs (``exclude``: the server being
    placed), read in the caller's transaction."""
    rows = s.execute(select(Instance.host, func.count())
                     .join(ServerGroupMember, ServerGroupMember.instance_id == Instance.id)
                     .where(ServerGroupMember.group_id == group_id, Instance.id != exclude,
                            Instance.vm_state != states.DELETED, Instance.host.is_not(None))
                     .group_by(Instance.host)).all()
    return collections.Counter({host: count for host, count in rows})


def join(s: Session, ctx: AuthContext, group_id: str, instance_id: str,
         limits: quotas.Limits) -> Group:
    """Put the new server in the group, in the transaction that records the server: the
    group must be the caller's project's (else 400) and have room under the project's
    ``server_group_members`` quota (else 403)."""
    row = s.get(ServerGroup, group_id)
    if row is None or row.project_id != ctx.project_id:
        raise BadRequest(f"Invalid server group: instance group {group_id} could not be "
                         f"found in your project.")
    limit = quotas.project_limits(s, ctx.project_id, limits)["server_group_members"]
    count = len(_live_members(s, [group_id]).get(group_id, ()))
    if 0 <= limit <= count:
        raise Forbidden(f"Quota exceeded, too many servers in group: group {group_id} has "
                        f"{count} of {limit} servers.")
    s.add(ServerGroupMember(instance_id=instance_id, group_id=group_id))
    return _records(s, [row])[0]


def forget(s: Session, instance_id: str) -> None:
    """The deleted server leaves its group."""
    s.execute(delete(ServerGroupMember).where(ServerGroupMember.instance_id == instance_id))


class ServerGroups:
    """Create, list, show and delete server groups (the API's side)."""

    def __init__(self, db: Database, limits: quotas.Limits) -> None:
        self.db, self.limits = db, limits

    def create(self, ctx: AuthContext, name: str, policy: str, rules: dict | None = None
               ) -> Group:
        """A new group of the caller's project; over the ``server_groups`` quota a 403.
        Only ``anti-affinity`` takes rules (400 otherwise)."""
        rules = {k: int(v) for k, v in (rules or {}).items()}
        if rules and policy != ANTI_AFFINITY:
            raise BadRequest("Only anti-affinity policy supports rules.")
        with self.db.session() as s:  # counted and recorded in one transaction
            limit = quotas.project_limits(s, ctx.project_id, self.limits)["server_groups"]
            if 0 <= limit <= quotas.usage(s, ctx.project_id)["server_groups"]:
                raise Forbidden("Quota exceeded, too many server groups.")
            row = ServerGroup(id=new_uuid(), name=name, project_id=ctx.project_id,
                              user_id=ctx.user_id, policy=policy, rules=rules)
            s.add(row)
            s.flush()
            return _records(s, [row])[0]

    def get(self, group_id: str) -> Group:
        """Any project's group (the route's policy decides who may see it)."""
        with self.db.session() as s:
            row = s.get(ServerGroup, group_id)
            if row is None:
                raise NotFound(f"Instance group {group_id} could not be found.")
            return _records(s, [row])[0]

    def list(self, project_id: str | None) -> list[Group]:
        """The project's groups (every project's with ``None``), oldest first."""
        with self.db.session() as s:
            query = select(ServerGroup).order_by(ServerGroup.created_at, ServerGroup.id)
            if project_id is not None:
                query = query.where(ServerGroup.project_id == project_id)
            return _records(s, list(s.scalars(query)))

    def delete(self, group_id: str) -> None:
        """Forget the group; its servers keep running where they are."""
        with self.db.session() as s:
            row = s.get(ServerGroup, group_id)
            if row is None:
                raise NotFound(f"Instance group {group_id} could not be found.")
            s.execute(delete(ServerGroupMember).where(ServerGroupMember.group_id == group_id))
            s.delete(row)

    def of_instance(self, instance_id: str) -> list[str]:
        """The ids of the groups the server is in (what it shows at 2.71+)."""
        with self.db.session() as s:
            return list(s.scalars(select(ServerGroupMember.group_id)
                                  .where(ServerGroupMember.instance_id == instance_id)))
