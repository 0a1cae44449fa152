"""Config drives: a server's metadata on a small read-only drive, in OpenStack's layout.

A guest without a metadata service (minicloud has no network) finds its identity, its
public keys, its metadata and its user data on a file system labelled ``config-2``:

- ``openstack/latest/meta_data.json`` (and the same under ``openstack/2012-08-10/``, the
  first dated version cloud-init knows): ``uuid``, ``name``, ``hostname``,
  ``launch_index`` 0, ``availability_zone``, ``project_id``, ``public_keys``
  ``{name: key}``, ``keys`` ``[{name, type, data}]``, ``meta`` (the server's metadata) and
  ``devices`` ``[]``;
- ``openstack/latest/user_data``: the decoded user data, when the server was given some.

:func:`contents` decides what goes on it (pure; the agent calls it), :func:`build` writes
the image, ``iso9660`` (pycdlib, Rock Ridge and Joliet names as ``genisoimage -J -r``
makes them for Nova) or ``vfat`` (``mkfs.vfat`` and mtools). The image is 0600: it holds
the user data, which may carry secrets.
"""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from minicloud.errors import MinicloudError
from minicloud.process import run

LABEL = "config-2"
FILE_NAME = "disk.config"
FORMATS = ("iso9660", "vfat")
VERSIONS = ("2012-08-10", "latest")
#: Size of a vfat config drive (Nova's): room for 64 KiB of user data many times over.
VFAT_MIB = 64


@dataclass(frozen=True)
class ConfigDrive:
    """What goes on one config drive: file contents by path, and the file system."""

    files: Mapping[str, bytes] = field(default_factory=dict)  # "openstack/latest/..."
    format: str = "iso9660"


def key_type(public_key: str) -> str:
    """``x509`` for a PEM certificate, else ``ssh`` (what a server's key copy holds)."""
    return "x509" if public_key.lstrip().startswith("-----BEGIN CERTIFICATE") else "ssh"


def contents(*, uuid: str, name: str, hostname: str, project_id: str,
             availability_zone: str | None, metadata: Mapping[str, str],
             key_name: str | None = None, key_data: str | None = None,
             user_data: str | None = None, fmt: str = "iso9660") -> ConfigDrive:
    """The config drive of one server; ``user_data`` is the base64 text the API kept."""
    if fmt not in FORMATS:
        raise MinicloudError(f"[compute] config_drive_format = {fmt!r}: one of "
                             f"{', '.join(FORMATS)} is required")
    keys = ([{"name": key_name, "type": key_type(key_data), "data": key_data}]
            if key_name and key_data else [])
    meta = {"uuid": uuid, "name": name, "hostname": hostname, "launch_index": 0,
            "availability_zone": availability_zone or "nova", "project_id": project_id,
            "public_keys": {k["name"]: k["data"] for k in keys}, "keys": keys,
            "meta": dict(metadata), "devices": []}
    files: dict[str, bytes] = {}
    for version in VERSIONS:
        files[f"openstack/{version}/meta_data.json"] = json.dumps(meta).encode()
        if user_data:
            files[f"openstack/{version}/user_data"] = base64.b64decode(user_data)
    return ConfigDrive(files, fmt)


def build(drive: ConfigDrive, dest: Path) -> None:
    """Write ``drive`` as an image at ``dest`` (mode 0600; replaced if present)."""
    dest = Path(dest)
    dest.unlink(missing_ok=True)
    # Created 0600 before a byte is written: user data never sits in a readable file.
    os.close(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        if drive.format == "vfat":
            _build_vfat(drive, dest)
        elif drive.format == "iso9660":
            _build_iso(drive, dest)
        else:
            raise MinicloudError(f"config drive format {drive.format!r}: one of "
                                 f"{', '.join(FORMATS)} is required")
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    dest.chmod(0o600)


def _iso_name(name: str, directory: bool) -> str:
    """An ISO 9660 level-3 name (d-characters only; files carry ``;1``): the guest reads
    the Rock Ridge name, this one only has to be valid and unique."""
    stem, dot, ext = name.upper().partition(".") if not directory else (name.upper(), "", "")
    stem, ext = re.sub(r"[^A-Z0-9_]", "_", stem), re.sub(r"[^A-Z0-9_]", "_", ext)
    return stem if directory else f"{stem}.{ext};1" if dot else f"{stem}.;1"


def _build_iso(drive: ConfigDrive, dest: Path) -> None:
    import io

    import pycdlib  # imported here: only agents that build config drives need it

    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, vol_ident=LABEL, joliet=3, rock_ridge="1.09")
    made: set[PurePosixPath] = set()
    try:
        for path, data in sorted(drive.files.items()):
            parts = PurePosixPath(path).parts
            for depth in range(1, len(parts)):
                directory = PurePosixPath(*parts[:depth])
                if directory in made:
                    continue
                iso.add_directory(
                    "/" + "/".join(_iso_name(p, True) for p in directory.parts),
                    rr_name=parts[depth - 1], joliet_path=f"/{directory}")
                made.add(directory)
            iso_path = "/" + "/".join([*(_iso_name(p, True) for p in parts[:-1]),
                                       _iso_name(parts[-1], False)])
            iso.add_fp(io.BytesIO(data), len(data), iso_path, rr_name=parts[-1],
                       joliet_path=f"/{path}")
        with dest.open("r+b") as out:
            iso.write_fp(out)
    finally:
        iso.close()


def _sbin(name: str) -> str:
    """``name`` found on PATH or in the sbin directories (not on every user's PATH)."""
    found = shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    if found is None:
        raise MinicloudError(f"{name} not found: install the Debian package dosfstools")
    return found


def _build_vfat(drive: ConfigDrive, dest: Path) -> None:
    with dest.open("r+b") as f:
        f.truncate(VFAT_MIB << 20)
    run([_sbin("mkfs.vfat"), "-n", LABEL, dest], timeout=60)
    with tempfile.TemporaryDirectory(prefix="config-drive-") as staging:
        root = Path(staging)
        for path, data in drive.files.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        run(["mcopy", "-s", "-i", dest, root / "openstack", "::"], timeout=60)
