"""Retype (Cinder's ``os-retype``): give a volume another volume type.

minicloud has one backend per volume host (a file per volume), so a retype never moves data:
it changes the volume's type in place when the new type can live on the volume's backend,
as Cinder's driver-assisted retype does. It cannot when the new type pins another backend
(extra spec ``volume_backend_name``) or another availability zone
(``RESKEY:availability_zones``): Cinder would then migrate the volume
(``migration_policy: on-demand``) or refuse (``never``); minicloud never migrates volumes, so
both are a 400 that says so. As in Cinder: the volume is ``available`` or ``in-use``; the new
type differs from the old one and is visible to the caller (404 otherwise); an ``in-use``
volume cannot change its front-end qos-specs (the guest's limits are set at attach). The
change is one compare-and-swap on the volume's status, so a concurrent attach, delete or
upload either sees the old type or fails. Quotas: the project's totals do not change; the
volume and its snapshots move from the old type's usage to the new type's, refused (413)
when the new type's ``volumes_<type>``/``gigabytes_<type>``/``snapshots_<type>`` are full.
"""
from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from minicloud.db import utcnow
from minicloud.errors import BadRequest
from minicloud.identity.tokens import AuthContext
from volumes import quotas, snapshots, states
from volumes.frontend import FRONT_END
from volumes.models import QosSpecs, Volume, VolumeHost, VolumeType
from volumes.service import VolumeService

RETYPABLE = frozenset({states.AVAILABLE, states.IN_USE})
POLICIES = ("never", "on-demand")


def _front_end_qos(s: Session, vtype: VolumeType | None) -> tuple[str, dict] | None:
    qos = s.get(QosSpecs, vtype.qos_specs_id) if vtype and vtype.qos_specs_id else None
    if qos is None or qos.consumer not in FRONT_END:
        return None
    return qos.consumer, dict(qos.specs or {})


def backend_mismatch(vtype: VolumeType, backend: str | None, zone: str) -> str | None:
    """Why a volume on ``backend`` in ``zone`` cannot have ``vtype`` without moving, or None."""
    specs = vtype.extra_specs or {}
    wanted = specs.get("volume_backend_name")
    if wanted is not None and wanted != backend:
        return f"volume type {vtype.name} needs backend {wanted}, the volume is on {backend}"
    zones = specs.get("RESKEY:availability_zones")
    if zones is not None and zone not in [z.strip() for z in zones.split(",")]:
        return f"volume type {vtype.name} is for availability zones {zones}, the volume " \
               f"is in {zone}"
    return None


class RetypeService:
    def __init__(self, volumes: VolumeService) -> None:
        self.volumes = volumes
        self.db = volumes.db

    def retype(self, ctx: AuthContext, volume_id: str, new_type: VolumeType,
               migration_policy: str | None) -> None:
        """Give the volume ``new_type`` (already resolved and visible to the caller)."""
        policy = migration_policy or "never"
        if policy not in POLICIES:
            raise BadRequest(f"migration_policy must be 'on-demand' or 'never', passed: "
                             f"{policy[:50]}")
        with self.db.session() as s:
            vol = self.volumes.visible(s, ctx, volume_id)
            if vol.status not in RETYPABLE:
                raise BadRequest(f"Invalid volume: Unable to update type due to incorrect "
                                 f"status: {vol.status} on volume: {vol.id}. Volume status "
                                 f"must be available or in-use.")
            if vol.volume_type_id == new_type.id:
                raise BadRequest(f"Invalid input received: New volume_type same as "
                                 f"original: {new_type.id}.")
            old = s.get(VolumeType, vol.volume_type_id)
            if vol.status == states.IN_USE and \
                    _front_end_qos(s, old) != _front_end_qos(s, new_type):
                raise BadRequest(f"Invalid input received: Retype cannot change front-end "
                                 f"qos specs for in-use volume: {vol.id}.")
            host = s.get(VolumeHost, vol.host) if vol.host else None
            why = backend_mismatch(new_type, host.backend if host else None,
                                   vol.availability_zone)
            if why is not None:
                if policy == "never":
                    raise BadRequest(f"Invalid volume: Retype requires migration but is not "
                                     f"allowed ({why}).")
                raise BadRequest(f"Invalid volume: Retype requires migration ({why}), and "
                                 f"minicloud does not migrate volumes between backends "
                                 f"(migration_policy 'on-demand' is not offered).")
            snaps = snapshots.of_volume(s, vol.id)
            quotas.retype(s, vol.project_id, self.volumes.settings.quota, vol.volume_type_id,
                          new_type.id, vol.size, len(snaps), sum(x.size for x in snaps))
            done = s.execute(update(Volume).where(Volume.id == vol.id,
                                                  Volume.status == vol.status)
                             .values(volume_type_id=new_type.id, updated_at=utcnow())
                             .execution_options(synchronize_session=False)).rowcount
            if done != 1:
                raise BadRequest(f"Invalid volume: Unable to update type: volume {vol.id} "
                                 f"changed status meanwhile.")
