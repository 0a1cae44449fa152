"""Host aggregates (Nova's ``os-aggregates``, admins only) and the availability zones they
define.

An aggregate is a named set of compute hosts with metadata. The metadata key
``availability_zone`` makes its hosts that zone; a host in no such aggregate is in the
default zone, ``nova`` (Nova's ``default_availability_zone``). Nova's rules keep a host in
one zone: adding a host to an aggregate whose zone differs from the zone another of its
aggregates gives it is refused (409), and so is giving an aggregate a zone that one of its
hosts already has from another aggregate (400); a zone never changes under running servers
(a server keeps the zone it was scheduled into), and a zone cannot be unset or emptied.

The aggregates are the source of truth; ``compute_hosts.zone`` is kept equal to what they
say in the same transaction as every change (:func:`sync_zones`), so the scheduler, the
services list and the zone list read one column.

Image pre-caching (2.81, ``POST /os-aggregates/{id}/images``) queues one ``cache_images``
task per host of the aggregate (its subject is the aggregate's uuid, so two requests for
one aggregate run one after the other on each host); each host's agent fetches the images
into its base cache as a boot would (:meth:`compute.agent.Agent._do_cache_images`).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from compute import states
from compute.models import Aggregate, AggregateHost, ComputeHost, ComputeTask, Instance
from minicloud.db import Database, new_uuid, utcnow
from minicloud.errors import BadRequest, Conflict, NotFound

#: The zone of a host that no aggregate puts in one (Nova's default_availability_zone).
DEFAULT_ZONE = "nova"
ZONE_KEY = "availability_zone"
#: The agent task that fills a host's base cache with images ahead of their first boot.
CACHE_ACTION = "cache_images"


@dataclass(frozen=True)
class AggregateRecord:
    """An aggregate as the API shows it (a plain record)."""

    id: int
    uuid: str
    name: str
    metadata: dict = field(default_factory=dict)
    hosts: tuple[str, ...] = ()
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    @property
    def availability_zone(self) -> str | None:
        return self.metadata.get(ZONE_KEY)


def _record(s: Session, row: Aggregate) -> AggregateRecord:
    hosts = s.scalars(select(AggregateHost.host).where(AggregateHost.aggregate_id == row.id)
                      .order_by(AggregateHost.host))
    return AggregateRecord(row.id, row.uuid, row.name, dict(row.metadata_ or {}),
                           tuple(hosts), row.created_at, row.updated_at)


def host_zones(s: Session, hosts: Iterable[str]) -> dict[str, set[str]]:
    """The zones each host's aggregates give it (an empty set: the default zone)."""
    hosts = list(hosts)
    out: dict[str, set[str]] = {h: set() for h in hosts}
    rows = s.execute(select(AggregateHost.host, Aggregate.metadata_)
                     .join(Aggregate, Aggregate.id == AggregateHost.aggregate_id)
                     .where(AggregateHost.host.in_(hosts))).all()
    for host, metadata in rows:
        if (metadata or {}).get(ZONE_KEY):
            out[host].add(metadata[ZONE_KEY])
    return out


def sync_zones(s: Session, hosts: Iterable[str]) -> None:
    """Make ``compute_hosts.zone`` of ``hosts`` what their aggregates say."""
    for host, zones in host_zones(s, hosts).items():
        zone = min(zones) if zones else DEFAULT_ZONE  # the rules leave at most one
        s.execute(update(ComputeHost).where(ComputeHost.name == host).values(zone=zone))


def zone_of(s: Session, host: str) -> str:
    """The availability zone of ``host``."""
    return s.scalar(select(ComputeHost.zone).where(ComputeHost.name == host)) or DEFAULT_ZONE


def zone_names(s: Session) -> set[str]:
    """The zones servers can be created in: those of the enabled hosts."""
    return set(s.scalars(select(ComputeHost.zone).where(ComputeHost.enabled)))


def _servers_on(s: Session, hosts: Iterable[str]) -> int:
    return s.scalar(select(func.count()).select_from(Instance).where(
        Instance.host.in_(list(hosts)), Instance.vm_state != states.DELETED)) or 0


def forget_host(s: Session, host: str) -> None:
    """A deleted compute service leaves its aggregates (as Nova's)."""
    s.execute(delete(AggregateHost).where(AggregateHost.host == host))


class Aggregates:
    """Create, list, show, update, delete aggregates; their hosts and metadata."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _row(s: Session, aggregate_id: int) -> Aggregate:
        row = s.get(Aggregate, aggregate_id)
        if row is None:
            raise NotFound(f"Aggregate {aggregate_id} could not be found.")
        return row

    @staticmethod
    def _unique(s: Session, name: str, own_id: int | None = None) -> None:
        other = s.scalar(select(Aggregate.id).where(Aggregate.name == name))
        if other is not None and other != own_id:
            raise Conflict(f"Aggregate {name} already exists.")

    def list(self) -> list[AggregateRecord]:
        with self.db.session() as s:
            return [_record(s, r) for r in s.scalars(select(Aggregate).order_by(Aggregate.id))]

    def get(self, aggregate_id: int) -> AggregateRecord:
        with self.db.session() as s:
            return _record(s, self._row(s, aggregate_id))

    def create(self, name: str, zone: str | None = None) -> AggregateRecord:
        """A new aggregate with no hosts (409 when the name is taken)."""
        with self.db.session() as s:
            self._unique(s, name)
            row = Aggregate(uuid=new_uuid(), name=name,
                            metadata_={ZONE_KEY: zone} if zone else {})
            s.add(row)
            s.flush()
            return _record(s, row)

    def update(self, aggregate_id: int, values: dict) -> AggregateRecord:
        """Rename it and/or change its ``availability_zone`` (``PUT``)."""
        with self.db.session() as s:
            row = self._row(s, aggregate_id)
            if "name" in values:
                self._unique(s, values["name"], row.id)
                row.name = values["name"]
            if ZONE_KEY in values:
                self._check_zone(s, row, values[ZONE_KEY], "Cannot update aggregate")
                row.metadata_ = {**(row.metadata_ or {}), ZONE_KEY: values[ZONE_KEY]}
            row.updated_at = utcnow()
            s.flush()
            sync_zones(s, _record(s, row).hosts)
            return _record(s, row)

    def set_metadata(self, aggregate_id: int, metadata: dict) -> AggregateRecord:
        """Merge ``metadata`` into the aggregate's (a null value removes the key)."""
        with self.db.session() as s:
            row = self._row(s, aggregate_id)
            if ZONE_KEY in metadata:
                self._check_zone(s, row, metadata[ZONE_KEY],
                                 "Cannot update metadata of aggregate")
            merged = dict(row.metadata_ or {})
            for key, value in metadata.items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            row.metadata_, row.updated_at = merged, utcnow()
            s.flush()
            sync_zones(s, _record(s, row).hosts)
            return _record(s, row)

    def _check_zone(self, s: Session, row: Aggregate, zone: str | None, what: str) -> None:
        """Nova's rules for giving an aggregate (with its hosts) the zone ``zone``."""
        def refuse(reason: str) -> BadRequest:
            return BadRequest(f"{what} {row.id}. Reason: {reason}.")

        if not zone:
            raise refuse(f"Aggregate {row.name} does not support empty named availability "
                         "zone")
        hosts = _record(s, row).hosts
        others = self._zones_elsewhere(s, row.id, hosts) - {zone}
        if others:
            raise refuse(f"One or more hosts already in availability zone(s) "
                         f"{sorted(others)}")
        if (row.metadata_ or {}).get(ZONE_KEY) != zone and _servers_on(s, hosts):
            raise refuse("One or more hosts contain instances in this zone")

    @staticmethod
    def _zones_elsewhere(s: Session, aggregate_id: int, hosts: Iterable[str]) -> set[str]:
        """The zones other aggregates give ``hosts``."""
        rows = s.execute(select(Aggregate.metadata_)
                         .join(AggregateHost, AggregateHost.aggregate_id == Aggregate.id)
                         .where(AggregateHost.host.in_(list(hosts)),
                                Aggregate.id != aggregate_id)).all()
        return {m[ZONE_KEY] for (m,) in rows if (m or {}).get(ZONE_KEY)}

    def delete(self, aggregate_id: int) -> None:
        """Delete an aggregate that has no hosts (400 otherwise)."""
        with self.db.session() as s:
            row = self._row(s, aggregate_id)
            if _record(s, row).hosts:
                raise BadRequest(f"Cannot remove host from aggregate {row.id}. Reason: Host "
                                 "aggregate is not empty.")
            s.delete(row)

    def add_host(self, aggregate_id: int, host: str) -> AggregateRecord:
        """Add a registered compute host (404 unknown, 409 already there or a zone clash)."""
        with self.db.session() as s:
            if s.get(ComputeHost, host) is None:
                raise NotFound(f"Compute host {host} could not be found.")
            row = self._row(s, aggregate_id)
            if s.get(AggregateHost, (row.id, host)) is not None:
                raise Conflict(f"Aggregate {row.id} already has host {host}.")
            zone = (row.metadata_ or {}).get(ZONE_KEY)
            if zone:
                def refuse(reason: str) -> Conflict:
                    return Conflict(f"Cannot add host to aggregate {row.id}. "
                                    f"Reason: {reason}.")

                others = self._zones_elsewhere(s, row.id, [host]) - {zone}
                if others:
                    raise refuse(f"One or more hosts already in availability zone(s) "
                                 f"{sorted(others)}")
                current = zone_of(s, host)
                servers = _servers_on(s, [host])
                if current != zone and servers:
                    raise refuse(f"The host cannot be added to the aggregate as the "
                                 f"availability zone of the host would change from "
                                 f"'{current}' to '{zone}' but the host already has "
                                 f"{servers} instance(s)")
            s.add(AggregateHost(aggregate_id=row.id, host=host))
            s.flush()
            sync_zones(s, [host])
            return _record(s, row)

    def remove_host(self, aggregate_id: int, host: str) -> AggregateRecord:
        """Take a host out (404 when it is not in it; 409 when its zone would change under
        its servers)."""
        with self.db.session() as s:
            row = s.get(Aggregate, aggregate_id)
            if row is None or s.get(AggregateHost, (row.id, host)) is None:
                raise NotFound(f"Cannot remove host {host} in aggregate {aggregate_id}")
            zone = (row.metadata_ or {}).get(ZONE_KEY)
            servers = _servers_on(s, [host])
            if zone and servers and not (self._zones_elsewhere(s, row.id, [host])
                                         & {zone}):
                raise Conflict(f"Cannot remove host from aggregate {row.id}. Reason: The "
                               f"host cannot be removed from the aggregate as the "
                               f"availability zone of the host would change from '{zone}' "
                               f"to '{DEFAULT_ZONE}' but the host already has {servers} "
                               f"instance(s).")
            s.execute(delete(AggregateHost).where(AggregateHost.aggregate_id == row.id,
                                                  AggregateHost.host == host))
            sync_zones(s, [host])
            return _record(s, row)

    def cache_images(self, aggregate_id: int, image_ids: list[str]) -> list[str]:
        """Queue a ``cache_images`` task for each host of the aggregate (the images were
        checked by the caller); returns the hosts."""
        with self.db.session() as s:
            agg = _record(s, self._row(s, aggregate_id))
            for host in agg.hosts:
                s.add(ComputeTask(instance_id=agg.uuid, host=host, action=CACHE_ACTION,
                                  params={"images": list(image_ids)}))
            return list(agg.hosts)
