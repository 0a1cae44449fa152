"""QoS specs: named limits (``read_iops_sec``, ``total_bytes_sec``...) with a consumer
(``back-end``, ``front-end`` or ``both``), associated with volume types (a type has at most
one). As Cinder's ``qos-specs`` API; minicloud stores and shows them: applying the
front-end ones as libvirt ``<iotune>`` when a volume of the type is attached is compute's
side (issue 10), not built yet.
"""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from minicloud.db import Database, new_uuid
from minicloud.errors import BadRequest, Conflict, NotFound
from volumes.models import QosSpecs, VolumeType

CONSUMERS = ("back-end", "front-end", "both")


def _not_found(qos_id: str) -> NotFound:
    return NotFound(f"No such QoS spec {qos_id}.")


class QosService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def list(self) -> list[QosSpecs]:
        with self.db.session() as s:
            return list(s.scalars(select(QosSpecs).order_by(QosSpecs.name)))

    def get(self, qos_id: str) -> QosSpecs:
        with self.db.session() as s:
            qos = s.get(QosSpecs, qos_id)
            if qos is None:
                raise _not_found(qos_id)
            return qos

    @staticmethod
    def _consumer(value: str) -> str:
        if value not in CONSUMERS:
            raise BadRequest(f"Invalid input received: consumer must be one of "
                             f"{', '.join(CONSUMERS)}, not {value[:50]!r}.")
        return value

    def create(self, name: str, specs: dict[str, str]) -> QosSpecs:
        """``specs`` may hold ``consumer`` (default ``back-end``); the rest are the specs."""
        specs = dict(specs)
        consumer = self._consumer(specs.pop("consumer", "back-end"))
        qos = QosSpecs(id=new_uuid(), name=name, consumer=consumer, specs=specs)
        try:
            with self.db.session() as s:
                if s.scalar(select(QosSpecs.id).where(QosSpecs.name == name)):
                    raise Conflict(f"QoS Specs {name} already exists.")
                s.add(qos)
        except IntegrityError:  # the same name created concurrently
            raise Conflict(f"QoS Specs {name} already exists.") from None
        return self.get(qos.id)

    def set_keys(self, qos_id: str, items: dict[str, str]) -> dict[str, str]:
        """Merge ``items`` (``consumer`` sets the consumer); returns ``items``."""
        with self.db.session() as s:
            qos = s.get(QosSpecs, qos_id)
            if qos is None:
                raise _not_found(qos_id)
            values: dict = {"specs": {**(qos.specs or {}),
                                      **{k: v for k, v in items.items() if k != "consumer"}}}
            if "consumer" in items:
                values["consumer"] = self._consumer(items["consumer"])
            s.execute(update(QosSpecs).where(QosSpecs.id == qos.id).values(**values))
        return dict(items)

    def delete_keys(self, qos_id: str, keys: list[str]) -> None:
        with self.db.session() as s:
            qos = s.get(QosSpecs, qos_id)
            if qos is None:
                raise _not_found(qos_id)
            specs = dict(qos.specs or {})
            for key in keys:
                if key not in specs:
                    raise NotFound(f"QoS spec {qos_id} has no key {key[:100]}.")
                del specs[key]
            s.execute(update(QosSpecs).where(QosSpecs.id == qos.id).values(specs=specs))

    def delete(self, qos_id: str, force: bool = False) -> None:
        """Delete; one still associated with a type is a 400 unless ``force`` (which
        disassociates it first)."""
        with self.db.session() as s:
            qos = s.get(QosSpecs, qos_id)
            if qos is None:
                raise _not_found(qos_id)
            users = select(VolumeType.id).where(VolumeType.qos_specs_id == qos.id)
            if s.scalar(users) and not force:
                raise BadRequest(f"QoS Specs {qos_id} is still associated with entities.")
            s.execute(update(VolumeType).where(VolumeType.qos_specs_id == qos.id)
                      .values(qos_specs_id=None))
            s.delete(qos)

    def associations(self, qos_id: str) -> list[VolumeType]:
        with self.db.session() as s:
            if s.get(QosSpecs, qos_id) is None:
                raise _not_found(qos_id)
            return list(s.scalars(select(VolumeType).where(VolumeType.qos_specs_id == qos_id)
                                  .order_by(VolumeType.name)))

    def associate(self, qos_id: str, type_id: str) -> None:
        with self.db.session() as s:
            if s.get(QosSpecs, qos_id) is None:
                raise _not_found(qos_id)
            vtype = s.get(VolumeType, type_id)
            if vtype is None:
                raise NotFound(f"Volume type {type_id} could not be found.")
            if vtype.qos_specs_id not in (None, qos_id):
                raise BadRequest(f"Type {type_id} is already associated with another qos "
                                 f"specs: {vtype.qos_specs_id}")
            s.execute(update(VolumeType).where(VolumeType.id == type_id)
                      .values(qos_specs_id=qos_id))

    def disassociate(self, qos_id: str, type_id: str | None = None) -> None:
        """Disassociate one type, or (``type_id`` None) every type."""
        with self.db.session() as s:
            if s.get(QosSpecs, qos_id) is None:
                raise _not_found(qos_id)
            stmt = update(VolumeType).where(VolumeType.qos_specs_id == qos_id)
            if type_id is not None:
                if s.get(VolumeType, type_id) is None:
                    raise NotFound(f"Volume type {type_id} could not be found.")
                stmt = stmt.where(VolumeType.id == type_id)
            s.execute(stmt.values(qos_specs_id=None))
