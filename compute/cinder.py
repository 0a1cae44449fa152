"""The compute side's client of the volume API's attachments flow (Cinder v3.27+ style).

Users reserve (their token: the volume must be theirs); the compute agent connects,
completes and deletes (the service user's token: only it receives the CHAP secret and may
tear down a live attachment, CVE-2023-2088).
"""
from __future__ import annotations

from collections.abc import Callable

from minicloud import errors
from minicloud.client import ServiceClient
from volumes.connection import ConnectionInfo


class VolumeClient(ServiceClient):
    service, headers = "volume", {"OpenStack-API-Version": "volume 3.70"}

    def __init__(self, base_url: str, token: Callable[[], str], timeout: float = 120,
                 initiator_ip: str | None = None) -> None:
        """``initiator_ip``: this host's address as the iSCSI portal sees it (os-brick's
        connector ``ip``); the volume service admits only it to the volume's target."""
        super().__init__(base_url.rstrip("/") + "/v3", token, timeout)
        self.initiator_ip = initiator_ip

    def get(self, volume_id: str) -> dict:
        try:
            return self._call("GET", f"/volumes/{volume_id}").json()["volume"]
        except errors.NotFound:
            raise errors.NotFound(f"Volume {volume_id} could not be found.") from None

    def reserve(self, volume_id: str, instance_id: str) -> str:
        body = {"attachment": {"volume_uuid": volume_id, "instance_uuid": instance_id}}
        return self._call("POST", "/attachments", json=body).json()["attachment"]["id"]

    def connect(self, attachment_id: str, host: str, device: str) -> ConnectionInfo:
        connector = {"host": host, "initiator": f"iqn.2010-10.org.openstack:minicloud-{host}",
                     "mountpoint": device}
        if self.initiator_ip:
            connector["ip"] = self.initiator_ip
        body = self._call("PUT", f"/attachments/{attachment_id}",
                          json={"attachment": {"connector": connector}}).json()
        return ConnectionInfo.from_dict(body["attachment"]["connection_info"])

    def complete(self, attachment_id: str) -> None:
        self._call("POST", f"/attachments/{attachment_id}/action", json={"os-complete": None})

    def delete_attachment(self, attachment_id: str) -> None:
        """Remove an attachment; one already gone is fine (an interrupted detach re-runs)."""
        try:
            self._call("DELETE", f"/attachments/{attachment_id}")
        except errors.NotFound:
            pass

    def create(self, body: dict) -> dict:
        """Create a volume (``size``, ``imageRef``, ``name``...); it starts ``creating``."""
        return self._call("POST", "/volumes", json={"volume": body}).json()["volume"]

    def delete(self, volume_id: str) -> None:
        """Delete a volume; one already gone is fine."""
        try:
            self._call("DELETE", f"/volumes/{volume_id}")
        except errors.NotFound:
            pass

    def list_detail(self) -> list[dict]:
        """Every volume the caller may list, detailed, in the volume API's order."""
        return self._all("volumes")

    def _all(self, kind: str) -> list[dict]:
        """Every ``kind`` (``volumes``, ``snapshots``) the caller may list, from
        ``/{kind}/detail`` in the volume API's order, following its ``{kind}_links``."""
        items: list[dict] = []
        marker: str | None = None
        while True:
            params = {"marker": marker} if marker else {}
            body = self._call("GET", f"/{kind}/detail", params=params).json()
            items.extend(body.get(kind, []))
            if not body.get(f"{kind}_links") or not body.get(kind):
                return items
            marker = body[kind][-1]["id"]

    def delete_volume(self, volume_id: str) -> None:
        """Delete a volume as the caller; unlike :meth:`delete`, a missing one is a 404."""
        try:
            self._call("DELETE", f"/volumes/{volume_id}")
        except errors.NotFound:
            raise errors.NotFound(f"Volume {volume_id} could not be found.") from None

    # -- snapshots (a volume-backed server's createImage, Nova's os-snapshots proxy) -----------
    def create_snapshot(self, volume_id: str, name: str | None,
                        description: str | None = None, force: bool = True) -> dict:
        """Snapshot a volume as the caller; it starts ``creating``. ``force`` (Nova's
        ``create_snapshot_force``) snapshots an ``in-use`` volume too, as createImage of a
        volume-backed server needs; without it the request is made at 3.65, the last
        microversion at which ``force: false`` refuses an ``in-use`` volume (from 3.66
        ``false`` is itself refused), as Nova's non-forced snapshot is."""
        body = {"volume_id": volume_id, "force": force, "name": name,
                "description": description}
        headers = None if force else {"OpenStack-API-Version": "volume 3.65"}
        return self._call("POST", "/snapshots", json={"snapshot": body},
                          headers=headers).json()["snapshot"]

    def get_snapshot(self, snapshot_id: str) -> dict:
        try:
            return self._call("GET", f"/snapshots/{snapshot_id}").json()["snapshot"]
        except errors.NotFound:
            raise errors.NotFound(f"Snapshot {snapshot_id} could not be found.") from None

    def list_snapshots(self) -> list[dict]:
        """Every snapshot the caller may list, detailed, in the volume API's order."""
        return self._all("snapshots")

    def delete_snapshot(self, snapshot_id: str, missing_ok: bool = True) -> None:
        """Delete a snapshot; one already gone is fine unless not ``missing_ok`` (a cleanup
        may run twice; a user's delete of a missing one is a 404)."""
        try:
            self._call("DELETE", f"/snapshots/{snapshot_id}")
        except errors.NotFound:
            if not missing_ok:
                raise errors.NotFound(
                    f"Snapshot {snapshot_id} could not be found.") from None
