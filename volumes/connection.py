"""The connection info handed to compute: how to reach one exported volume (a shared structure).

This is the one thing the volume and compute services share besides HTTP (STYLE.md 1). The
volume API returns it as JSON from ``PUT /v3/{project_id}/attachments/{id}`` (to the compute
service user or an admin only, since it carries the CHAP secret)::

    {"driver_volume_type": "iscsi",
     "data": {"target_iqn": "iqn.2010-10.org.openstack:volume-<volume uuid>",
              "target_portal": "127.0.0.1:3260",
              "target_lun": 1,
              "auth_method": "CHAP",
              "auth_username": "<20 hex chars>",
              "auth_password": "<24 hex chars>",
              "volume_id": "<volume uuid>",
              "target_discovered": false,
              "access_mode": "rw",
              "encrypted": false,
              "qos_specs": null}}

``access_mode`` is ``ro`` for a read-only volume (``os-update_readonly_flag``) or a ``ro``
attachment; ``qos_specs`` holds the front-end qos-specs of the volume's type (consumer
``front-end`` or ``both``; ``null`` without), which compute applies as libvirt ``<iotune>``,
as Cinder and Nova do.

Compute parses it with :meth:`ConnectionInfo.from_dict` and connects with QEMU's own iSCSI
initiator (libiscsi): ``iscsi://<user>%<password>@<portal>/<iqn>/<lun>``, or a libvirt
``<disk type='network'><source protocol='iscsi' name='<iqn>/<lun>'>`` with a CHAP secret.
The password must never be logged nor shown to users: ``repr`` hides it.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from minicloud.errors import BadRequest

#: Every volume target is named ``IQN_PREFIX + <volume uuid>`` (Cinder's default naming).
IQN_PREFIX = "iqn.2010-10.org.openstack:volume-"
LUN = 1


def iqn_for(volume_id: str) -> str:
    return f"{IQN_PREFIX}{volume_id}"


def volume_id_of(iqn: str) -> str | None:
    """The volume uuid a target name embeds, or None for targets not named by this scheme."""
    return iqn[len(IQN_PREFIX):] if iqn.startswith(IQN_PREFIX) else None


@dataclass(frozen=True)
class Chap:
    """Per-export CHAP credentials, from a secure random source (hardening.md 3)."""

    username: str
    password: str = field(repr=False)

    @classmethod
    def generate(cls) -> Chap:
        return cls(secrets.token_hex(10), secrets.token_hex(12))


@dataclass(frozen=True)
class IscsiData:
    target_iqn: str
    target_portal: str          # "HOST:PORT"
    target_lun: int
    volume_id: str
    auth_username: str
    auth_password: str = field(repr=False)
    auth_method: str = "CHAP"
    target_discovered: bool = False
    access_mode: str = "rw"
    encrypted: bool = False
    qos_specs: dict[str, str] | None = None

    @property
    def host(self) -> str:
        return self.target_portal.rsplit(":", 1)[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.target_portal.rsplit(":", 1)[1])


@dataclass(frozen=True)
class ConnectionInfo:
    """``{"driver_volume_type": "iscsi", "data": {...}}``: see the module docstring."""

    data: IscsiData
    driver_volume_type: str = "iscsi"

    @classmethod
    def for_export(cls, volume_id: str, portal_ip: str, portal_port: int, chap: Chap,
                   access_mode: str = "rw", qos_specs: dict[str, str] | None = None
                   ) -> ConnectionInfo:
        host = f"[{portal_ip}]" if ":" in portal_ip else portal_ip
        return cls(IscsiData(target_iqn=iqn_for(volume_id), target_portal=f"{host}:{portal_port}",
                             target_lun=LUN, volume_id=volume_id, auth_username=chap.username,
                             auth_password=chap.password, access_mode=access_mode,
                             qos_specs=qos_specs))

    def to_dict(self) -> dict[str, Any]:
        d = self.data
        return {"driver_volume_type": self.driver_volume_type, "data": {
            "target_iqn": d.target_iqn, "target_portal": d.target_portal,
            "target_lun": d.target_lun, "auth_method": d.auth_method,
            "auth_username": d.auth_username, "auth_password": d.auth_password,
            "volume_id": d.volume_id, "target_discovered": d.target_discovered,
            "access_mode": d.access_mode, "encrypted": d.encrypted,
            "qos_specs": dict(d.qos_specs) if d.qos_specs is not None else None}}

    @classmethod
    def from_dict(cls, body: Any) -> ConnectionInfo:
        """Parse the JSON form; a missing or mistyped field is a :class:`BadRequest`."""
        if not isinstance(body, dict) or body.get("driver_volume_type") != "iscsi" \
                or not isinstance(body.get("data"), dict):
            raise BadRequest("connection_info must be {'driver_volume_type': 'iscsi', "
                             "'data': {...}}")
        data = body["data"]
        wanted = {"target_iqn": str, "target_portal": str, "target_lun": int,
                  "volume_id": str, "auth_username": str, "auth_password": str}
        for key, kind in wanted.items():
            if not isinstance(data.get(key), kind) or isinstance(data.get(key), bool):
                raise BadRequest(f"connection_info data.{key} must be a {kind.__name__}")
        if data.get("auth_method", "CHAP") != "CHAP":
            raise BadRequest("connection_info data.auth_method must be CHAP")
        access_mode = data.get("access_mode") or "rw"
        if access_mode not in ("rw", "ro"):  # Nova's InvalidVolumeAccessMode
            raise BadRequest("connection_info data.access_mode must be 'rw' or 'ro'")
        qos = data.get("qos_specs")
        if qos is not None and (not isinstance(qos, dict) or not all(
                isinstance(k, str) and isinstance(v, (str, int)) and not isinstance(v, bool)
                for k, v in qos.items())):
            raise BadRequest("connection_info data.qos_specs must be an object of strings")
        return cls(IscsiData(**{k: data[k] for k in wanted}, access_mode=access_mode,
                             target_discovered=bool(data.get("target_discovered", False)),
                             encrypted=bool(data.get("encrypted", False)),
                             qos_specs={k: str(v) for k, v in qos.items()}
                             if qos is not None else None))
