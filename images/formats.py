"""The disk and container formats an operator allows (the seeds' ``GlanceDiskFormats``).

``[image] disk_formats`` and ``[image] container_formats`` mirror Glance's
``[image_format] disk_formats`` and ``container_formats``: comma-separated lists whose
defaults are Glance's own (:data:`images.schemas_doc.DISK_FORMATS`, ``CONTAINER_FORMATS``).
They may only narrow Glance's vocabulary: a name outside it (a format nothing here can
inspect) stops the image service from starting.

Three places follow the configured lists:

- an image create (``POST /v2/images``, ``POST /v2/tasks``) or update (JSON patch) naming
  another format is refused 400 with Glance's message (its schema's ``enum`` failing:
  ``Provided object does not match schema 'image': 'qcow2' is not one of [...]``);
- ``GET /v2/schemas/image`` (and ``images``) enumerate exactly the configured lists, so
  glanceclient's own validation refuses them before sending;
- image data (upload, import) whose disk format QEMU cannot open is refused, whatever the
  lists say (:func:`check_usable`): the catalog never holds an image a server then fails on.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from images.schemas_doc import CONTAINER_FORMATS, DISK_FORMATS
from minicloud.errors import BadRequest, ConfigError

#: Disk formats Glance knows that QEMU cannot open as a guest disk. ``ploop`` is Virtuozzo's
#: container disk: QEMU's ``parallels`` driver reads Parallels images, not ploop deltas.
UNUSABLE_BY_QEMU = {"ploop": "QEMU has no driver for Virtuozzo ploop images"}


def _names(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))


def allowed(image_conf: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(disk_formats, container_formats)`` configured; ConfigError for names outside
    Glance's vocabulary or an empty list."""
    lists = []
    for key, known in (("disk_formats", DISK_FORMATS),
                       ("container_formats", CONTAINER_FORMATS)):
        names = _names(getattr(image_conf, key))
        unknown = [n for n in names if n not in known]
        if unknown or not names:
            raise ConfigError(f"[image] {key} = {getattr(image_conf, key)!r}: a comma-"
                              f"separated list of some of {', '.join(known)} is required"
                              + (f" ({unknown[0]!r} is not one)." if unknown else "."))
        lists.append(names)
    return lists[0], lists[1]


def check(image_conf: Any, attrs: Mapping[str, Any]) -> None:
    """Refuse (400, Glance's schema message) a ``disk_format`` or ``container_format`` in
    ``attrs`` that the operator does not allow. None (not set) is always allowed."""
    disk, container = allowed(image_conf)
    for key, names in (("disk_format", disk), ("container_format", container)):
        value = attrs.get(key)
        if value is not None and value not in names:
            listed = ", ".join(repr(n) for n in (None, *names))
            raise BadRequest(f"Provided object does not match schema 'image': {value!r} is "
                             f"not one of [{listed}]")


def publish(document: dict[str, Any], image_conf: Any) -> dict[str, Any]:
    """``document`` (the ``image`` or ``images`` schema) with its format enumerations set
    to the configured lists."""
    disk, container = allowed(image_conf)
    props = document["properties"]
    if "images" in props:
        props = props["images"]["items"]["properties"]
    props["disk_format"]["enum"] = [None, *disk]
    props["container_format"]["enum"] = [None, *container]
    return document


def check_usable(disk_format: str | None) -> None:
    """Refuse (400) data of a disk format QEMU cannot open, before anything is stored."""
    reason = UNUSABLE_BY_QEMU.get(disk_format or "")
    if reason is not None:
        raise BadRequest(f"Image data of disk_format '{disk_format}' is refused: this cloud "
                         f"boots images with QEMU, and {reason}.")
