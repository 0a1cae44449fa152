"""Block device mapping v2: what a new server boots from and which volumes it gets.

The subset of Nova's rules minicloud implements (anything else is a 400):

============  ===========  ==========  =====================================================
source_type   destination  boot_index  meaning
============  ===========  ==========  =====================================================
image         local        0           boot from the image, copied to local disk (vda)
volume        volume       0           boot from that volume over iSCSI (vda); no imageRef
image         volume       0           create a ``volume_size`` GB volume from the image,
                                       then boot from it
volume        volume       none, >= 1  a data volume (vdc, vdd... after the ephemeral vdb)
============  ===========  ==========  =====================================================

``delete_on_termination`` on a volume deletes it with the server; by default it survives.
The openstack CLI sends ``imageRef: ""`` with a boot volume, and ``volume_size`` and
``boot_index`` as strings from ``--block-device``: both are accepted.
"""
from __future__ import annotations

from dataclasses import dataclass

from minicloud.errors import BadRequest

_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


@dataclass(frozen=True)
class VolumeRequest:
    """A data volume to attach at create time."""

    volume_id: str
    delete_on_termination: bool = False


@dataclass(frozen=True)
class RootVolume:
    """The volume a server boots from: an existing one, or one made from an image."""

    volume_id: str | None = None   # boot from this volume...
    image_id: str | None = None    # ...or from a new volume made from this image
    snapshot_id: str | None = None  # ...or from one made from this volume snapshot
    size: int = 0                  # GB of that new volume
    delete_on_termination: bool = False


@dataclass(frozen=True)
class BootRequest:
    image_ref: str | None          # boot from this image on local disk (None: a volume)
    root_volume: RootVolume | None
    volumes: tuple[VolumeRequest, ...]
    #: data volumes to make from volume snapshots (image BDMs of a volume-backed server's
    #: snapshot image: compute.volume_snapshot)
    snapshots: tuple[dict, ...] = ()


def _flag(bdm: dict, key: str) -> bool:
    value = bdm.get(key)
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
        return value.lower() in _TRUE
    raise BadRequest(f"Invalid input for field '{key}': a boolean is required.")


def _int(bdm: dict, key: str) -> int | None:
    value = bdm.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise BadRequest(f"Invalid input for field '{key}': an integer is required.")
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"Invalid input for field '{key}': an integer is required."
                         ) from None


def _uuid(bdm: dict) -> str:
    value = bdm.get("uuid")
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"Invalid input: a {bdm.get('source_type')} block device needs a "
                         "'uuid'.")
    return value.strip()


def parse(image_ref: str, bdms: object) -> BootRequest:
    """Validate ``imageRef`` and ``block_device_mapping_v2`` into one :class:`BootRequest`."""
    if not isinstance(bdms, list) or not all(isinstance(b, dict) for b in bdms):
        raise BadRequest("Invalid input for field 'block_device_mapping_v2': a list of "
                         "objects is required.")
    root: RootVolume | None = None
    boot_image: str | None = None
    volumes: list[VolumeRequest] = []
    for bdm in bdms:
        source = bdm.get("source_type")
        dest = bdm.get("destination_type") or ("local" if source == "image" else "volume")
        boot_index = _int(bdm, "boot_index")
        is_boot = boot_index == 0
        if is_boot and (root is not None or boot_image is not None):
            raise BadRequest("Block Device Mapping is Invalid: only one device may have "
                             "boot_index 0.")
        if source == "image" and dest == "local":
            if boot_index not in (0, None):
                raise BadRequest("Block Device Mapping is Invalid: a local image disk must "
                                 "be the boot disk.")
            boot_image = _uuid(bdm)
        elif source == "volume" and dest == "volume":
            if is_boot:
                root = RootVolume(volume_id=_uuid(bdm),
                                  delete_on_termination=_flag(bdm, "delete_on_termination"))
            else:
                volumes.append(VolumeRequest(_uuid(bdm), _flag(bdm, "delete_on_termination")))
        elif source == "image" and dest == "volume":
            if not is_boot:
                raise BadRequest("Block Device Mapping is Invalid: a volume made from an "
                                 "image must be the boot disk (boot_index 0).")
            size = _int(bdm, "volume_size")
            if size is None or size < 1:
                raise BadRequest("Block Device Mapping is Invalid: a volume made from an "
                                 "image needs a volume_size of at least 1 (GB).")
            root = RootVolume(image_id=_uuid(bdm), size=size,
                              delete_on_termination=_flag(bdm, "delete_on_termination"))
        else:
            raise BadRequest(f"Block device mapping from {source} to {dest} is not "
                             "supported.")
    if root is not None:
        if image_ref and image_ref != root.image_id:
            raise BadRequest("Give either imageRef or a boot volume (block device with "
                             "boot_index 0), not both.")
        return BootRequest(None, root, tuple(volumes))
    image = image_ref or boot_image
    if not image:
        raise BadRequest("Missing imageRef attribute: give an image, or a volume to boot "
                         "from (block_device_mapping_v2 with boot_index 0).")
    return BootRequest(image, None, tuple(volumes))
