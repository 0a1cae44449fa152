"""Volume type encryption (Cinder's ``/types/{type_id}/encryption``): a type's encryption spec
(provider, cipher, key size, control location), stored and shown as Cinder's, one per type.

minicloud encrypts nothing. In Cinder the spec tells the front end (``control_location``
``front-end``: Nova's os-brick LUKS encryptor, at attach) or the backend driver
(``back-end``) to encrypt, with a key from the key manager. minicloud has neither a key
manager nor an encryptor, so:

* a volume of an encrypted type can be created, and reports ``encrypted: true``, as Cinder's;
* attaching it (``os-reserve``, ``os-attach``, ``POST /attachments``) is refused with a 400
  that says minicloud does not encrypt volume data (:func:`refuse_attach`), so no guest ever
  writes what it believes is encrypted onto a plain file.

As in Cinder, a spec cannot be created, changed or deleted while volumes of the type exist
(400 "Cannot ... encryption specs. Volume type in use."): the volumes were made under the
spec, which must keep describing them. Deleting the type deletes its spec (foreign key).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from minicloud.db import Database, new_uuid, utcnow
from minicloud.errors import BadRequest, NotFound
from volumes import states
from volumes.models import Volume, VolumeType, VolumeTypeEncryption
from volumes.views import ts

#: The spec's fields a client sets (create: ``provider`` and ``control_location`` required).
FIELDS = ("provider", "cipher", "key_size", "control_location")


def encrypted_type_ids(s: Session) -> frozenset[str]:
    """The ids of the volume types that have an encryption spec."""
    return frozenset(s.scalars(select(VolumeTypeEncryption.volume_type_id)))


def refuse_attach(s: Session, vol: Volume) -> None:
    """400 when ``vol`` is of an encrypted type: minicloud cannot attach it encrypted."""
    spec = s.get(VolumeTypeEncryption, vol.volume_type_id)
    if spec is None:
        return
    vtype = s.get(VolumeType, vol.volume_type_id)
    raise BadRequest(f"Invalid volume: volume {vol.id} is of the encrypted volume type "
                     f"{vtype.name if vtype else vol.volume_type_id} (provider "
                     f"{spec.provider[:60]}, control_location {spec.control_location}); "
                     f"minicloud does not encrypt volume data, so it cannot attach it.")


def spec_view(spec: VolumeTypeEncryption) -> dict[str, Any]:
    """The spec as ``GET /types/{id}/encryption`` shows it (Cinder's row, not deleted)."""
    return {"volume_type_id": spec.volume_type_id, "encryption_id": spec.encryption_id,
            "provider": spec.provider, "cipher": spec.cipher, "key_size": spec.key_size,
            "control_location": spec.control_location, "deleted": False,
            "created_at": ts(spec.created_at), "updated_at": ts(spec.updated_at),
            "deleted_at": None}


def _key_size(values: dict[str, Any]) -> dict[str, Any]:
    """The request's fields, ``key_size`` as an integer (the schema allows digit strings)."""
    out = {k: values[k] for k in FIELDS if k in values}
    if out.get("key_size") is not None:
        out["key_size"] = int(out["key_size"])
    return out


class EncryptionService:
    """Each call its own transaction; every caller is an admin (``rule:admin_api``)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _type(s: Session, type_id: str) -> VolumeType:
        vtype = s.get(VolumeType, type_id)
        if vtype is None:
            raise NotFound(f"Volume type {type_id} could not be found.")
        return vtype

    @staticmethod
    def _refuse_in_use(s: Session, type_id: str, verb: str) -> None:
        in_use = s.scalar(select(Volume.id).where(Volume.volume_type_id == type_id,
                                                  Volume.status != states.DELETED).limit(1))
        if in_use is not None:
            raise BadRequest(f"Cannot {verb} encryption specs. Volume type in use.")

    def encrypted_types(self) -> frozenset[str]:
        with self.db.session() as s:
            return encrypted_type_ids(s)

    def show(self, type_id: str) -> dict[str, Any]:
        """The spec, or ``{}`` when the type has none (404 when there is no such type)."""
        with self.db.session() as s:
            self._type(s, type_id)
            spec = s.get(VolumeTypeEncryption, type_id)
            return spec_view(spec) if spec is not None else {}

    def item(self, type_id: str, key: str) -> dict[str, Any]:
        """``{key: value}`` of one field of the spec (404 for an unknown key or no spec)."""
        shown = self.show(type_id)
        if key not in shown:
            raise NotFound(f"Volume type encryption for type {type_id} does not exist.")
        return {key: shown[key]}

    def create(self, type_id: str, values: dict[str, Any]) -> dict[str, Any]:
        """Give the type its spec; 400 when it has one or volumes of it exist."""
        fields = _key_size(values)
        with self.db.session() as s:
            self._refuse_in_use(s, type_id, "create")
            self._type(s, type_id)
            if s.get(VolumeTypeEncryption, type_id) is not None:
                raise BadRequest(f"Volume type encryption for type {type_id} already "
                                 f"exists.")
            spec = VolumeTypeEncryption(volume_type_id=type_id, encryption_id=new_uuid(),
                                        **{"cipher": None, "key_size": None, **fields})
            s.add(spec)
            s.flush()
            return {k: getattr(spec, k) for k in ("volume_type_id", "encryption_id", *FIELDS)}

    def update(self, type_id: str, values: dict[str, Any]) -> dict[str, Any]:
        """Change some fields of the spec (400 while volumes of the type exist); returns the
        fields changed, as Cinder's answer."""
        fields = _key_size(values)
        with self.db.session() as s:
            self._type(s, type_id)
            self._refuse_in_use(s, type_id, "update")
            spec = s.get(VolumeTypeEncryption, type_id)
            if spec is None:
                raise NotFound(f"Volume type encryption for type {type_id} does not exist.")
            for key, value in fields.items():
                setattr(spec, key, value)
            spec.updated_at = utcnow()
        return fields

    def delete(self, type_id: str) -> None:
        """Remove the spec (400 while volumes of the type exist, 404 when there is none)."""
        with self.db.session() as s:
            self._refuse_in_use(s, type_id, "delete")
            spec = s.get(VolumeTypeEncryption, type_id)
            if spec is None:
                raise NotFound(f"Volume type encryption for type {type_id} does not exist.")
            s.delete(spec)

