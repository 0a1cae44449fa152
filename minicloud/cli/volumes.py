"""``minicloud volume ...``: Cinder v3 volumes, shaped like ``openstack volume``.

The commands are a client of the volume REST API (section 6 of the CLI contract), plus the
image API to resolve ``--image`` names and the compute API to name the servers volumes are
attached to. Every volume call carries ``OpenStack-API-Version: volume 3.70``. Names are
resolved as the ``openstack`` CLI resolves them (GET by id, then ``?name=``, matched exactly
on the client). Errors are :class:`MinicloudError`; ``main`` prints them.
"""
from __future__ import annotations

import urllib.parse
from collections.abc import Iterable
from typing import Any

import click

from minicloud import errors
from minicloud.cli.context import CliContext, pass_ctx
from minicloud.cli.images import ImageApi, parse_properties
from minicloud.cli.output import emit_list, emit_one, for_each, output_options
from minicloud.cli.poll import Poll
from minicloud.cli.rest import Response, RestClient

MICROVERSION = "3.70"
LIST_COLUMNS = ("ID", "Name", "Status", "Size", "Attached to")
LONG_COLUMNS = (*LIST_COLUMNS, "Type", "Bootable", "Properties")
# Volume keys `volume show` replaces by fields of its own (see show_record).
REPLACED_KEYS = frozenset({"links", "metadata", "volume_type"})
SETTLED = frozenset({"available", "in-use", "error", "error_extending", "error_deleting"})


class VolumeApi:
    """The Cinder calls the commands make; the only code in this module that knows URLs."""

    HEADERS = {"OpenStack-API-Version": f"volume {MICROVERSION}"}

    def __init__(self, client: RestClient) -> None:
        self.client = client

    def _call(self, method: str, path: str, **kwargs: Any) -> Response:
        headers = {**self.HEADERS, **(kwargs.pop("headers", None) or {})}
        return self.client.request("volumev3", method, path, headers=headers, **kwargs)

    @staticmethod
    def _path(volume_id: str, *rest: str) -> str:
        return "/volumes/" + "/".join(urllib.parse.quote(p, safe="") for p in (volume_id, *rest))

    def get(self, volume_id: str) -> dict:
        return self._call("GET", self._path(volume_id)).json()["volume"]

    def list(self, params: dict[str, str] | None = None) -> list[dict]:
        """Every volume (following ``volumes_links`` to the last page)."""
        path, query, out = "/volumes/detail", dict(params or {}), []
        while True:
            body = self._call("GET", path, params=query).json()
            out += body.get("volumes", [])
            nxt = [link for link in body.get("volumes_links", []) if link.get("rel") == "next"]
            if not nxt:
                return out
            parsed = urllib.parse.parse_qs(urllib.parse.urlsplit(nxt[0]["href"]).query)
            if parsed.get("marker", [None])[0] == query.get("marker"):
                raise errors.MinicloudError("endless pagination loop in volume list")
            query.update({k: v[0] for k, v in parsed.items()})

    def create(self, body: dict) -> dict:
        return self._call("POST", "/volumes", json={"volume": body}).json()["volume"]

    def update(self, volume_id: str, body: dict) -> dict:
        return self._call("PUT", self._path(volume_id), json={"volume": body}).json()["volume"]

    def delete(self, volume_id: str) -> None:
        self._call("DELETE", self._path(volume_id),
                   params={"cascade": "False", "force": "False"})

    def action(self, volume_id: str, name: str, params: Any) -> None:
        self._call("POST", self._path(volume_id, "action"), json={name: params})

    def set_metadata(self, volume_id: str, items: dict[str, str]) -> dict:
        return self._call("POST", self._path(volume_id, "metadata"),
                          json={"metadata": items}).json()["metadata"]

    def delete_metadata(self, volume_id: str, key: str) -> None:
        self._call("DELETE", self._path(volume_id, "metadata", key))

    def find(self, ref: str) -> dict:
        """The volume whose id or name is ``ref``, looked up as the openstack CLI does it."""
        try:
            return self.get(ref)
        except (errors.NotFound, errors.BadRequest, errors.Forbidden):
            pass  # not an id we may see: try it as a name
        found = [v for v in self.list({"name": ref}) if ref in (v.get("id"), v.get("name"))]
        if not found:
            raise errors.NotFound(f"No Volume found for {ref}")
        if len(found) > 1:
            raise errors.Conflict(f"More than one volume exists with the name '{ref}'.")
        return found[0]


def _api(obj: CliContext) -> VolumeApi:
    return VolumeApi(obj.client())


# --- records for display --------------------------------------------------------------------

def server_names(obj: CliContext, volumes: Iterable[dict]) -> dict[str, str]:
    """Server id -> name for attached volumes; {} when compute cannot tell (as openstack)."""
    if not any(v.get("attachments") for v in volumes):
        return {}
    try:
        from minicloud.cli.compute import ComputeApi

        return {s["id"]: s.get("name") or s["id"]
                for s in ComputeApi(obj.client()).list_servers()}
    except errors.MinicloudError:
        return {}


def attached_to(volume: dict, names: dict[str, str]) -> str:
    return "\n".join(f"Attached to {names.get(a.get('server_id'), a.get('server_id'))} on "
                     f"{a.get('device')}" for a in volume.get("attachments") or [])


def list_row(volume: dict, names: dict[str, str]) -> dict:
    return {"ID": volume.get("id"), "Name": volume.get("name"),
            "Status": volume.get("status"), "Size": volume.get("size"),
            "Attached to": attached_to(volume, names), "Type": volume.get("volume_type"),
            "Bootable": volume.get("bootable"), "Properties": volume.get("metadata") or {}}


def show_record(volume: dict) -> dict:
    """The volume as ``volume show`` prints it: the API's fields, metadata as properties."""
    record = {k: v for k, v in volume.items() if k not in REPLACED_KEYS}
    record["properties"] = volume.get("metadata") or {}
    record["type"] = volume.get("volume_type")
    return record


def wait_settled(api: VolumeApi, volume: dict, timeout: float) -> dict:
    """Poll until the volume leaves its transient status; an error status is raised."""
    poll = Poll(f"volume {volume.get('name') or volume['id']}", timeout)
    poll.report(str(volume.get("status")))
    while volume.get("status") not in SETTLED:
        poll.sleep(str(volume.get("status")))
        volume = api.get(volume["id"])
        poll.report(str(volume.get("status")))
    if volume["status"].startswith("error"):
        raise errors.MinicloudError(f"{poll.what} went to {volume['status']}")
    return volume


# --- commands -------------------------------------------------------------------------------

_property_option = click.option(
    "--property", "properties", multiple=True, callback=parse_properties, metavar="KEY=VALUE",
    help="A property (metadata) to set (repeatable).")


@click.group()
def volume() -> None:
    """Volumes (Cinder): persistent block storage exported over iSCSI."""


@volume.command("create")
@click.argument("name")
@click.option("--size", type=click.IntRange(min=1), help="Size in GB (default with --image: "
              "the image's size).")
@click.option("--image", help="Make the volume from this image (name or id).")
@click.option("--description", help="Description.")
@_property_option
@click.option("--wait", is_flag=True, help="Wait until the volume is available.")
@click.option("--timeout", type=click.FloatRange(min=0), default=600, show_default=True,
              help="With --wait: seconds to wait.")
@output_options
@pass_ctx
def volume_create(obj: CliContext, name: str, size: int | None, image: str | None,
                  description: str | None, properties: dict[str, str], wait: bool,
                  timeout: float, fmt: str, columns: tuple[str, ...]) -> None:
    """Create a volume, blank or from an image (then bootable)."""
    if size is None and image is None:
        raise click.UsageError("--size is required unless --image is given")
    api = _api(obj)
    body: dict[str, Any] = {"name": name, "size": size, "description": description,
                            "metadata": properties or None}
    if image is not None:
        body["imageRef"] = ImageApi(obj.client()).find(image)["id"]
    created = api.create({k: v for k, v in body.items() if v is not None})
    if wait:
        created = wait_settled(api, created, timeout)
    emit_one(show_record(created), fmt, columns)


@volume.command("list")
@click.option("--long", "long_", is_flag=True, help="Show more columns.")
@click.option("--all-projects", is_flag=True, help="Every project's volumes (admin).")
@click.option("--name", help="Only volumes with this name.")
@click.option("--status", help="Only volumes in this status.")
@output_options
@pass_ctx
def volume_list(obj: CliContext, long_: bool, all_projects: bool, name: str | None,
                status: str | None, fmt: str, columns: tuple[str, ...]) -> None:
    """List volumes."""
    params = {k: v for k, v in (("name", name), ("status", status)) if v}
    if all_projects:
        params["all_tenants"] = "True"
    volumes = _api(obj).list(params)
    names = server_names(obj, volumes)
    emit_list([list_row(v, names) for v in volumes], LONG_COLUMNS if long_ else LIST_COLUMNS,
              fmt, columns)


@volume.command("show")
@click.argument("ref", metavar="VOLUME")
@output_options
@pass_ctx
def volume_show(obj: CliContext, ref: str, fmt: str, columns: tuple[str, ...]) -> None:
    """Show one volume (by name or id)."""
    emit_one(show_record(_api(obj).find(ref)), fmt, columns)


@volume.command("set")
@click.argument("ref", metavar="VOLUME")
@click.option("--name", help="New name.")
@click.option("--description", help="New description.")
@_property_option
@click.option("--size", type=click.IntRange(min=1), help="Extend to this size in GB.")
@click.option("--bootable/--non-bootable", default=None, help="Mark (un)bootable.")
@pass_ctx
def volume_set(obj: CliContext, ref: str, name: str | None, description: str | None,
               properties: dict[str, str], size: int | None, bootable: bool | None) -> None:
    """Change a volume, in the openstack CLI's order: size, properties, bootable, name."""
    api = _api(obj)
    vol = api.find(ref)
    if size is not None:
        api.action(vol["id"], "os-extend", {"new_size": size})
    if properties:
        api.set_metadata(vol["id"], properties)
    if bootable is not None:
        api.action(vol["id"], "os-set_bootable", {"bootable": bootable})
    changes = {k: v for k, v in (("name", name), ("description", description)) if v is not None}
    if changes:
        api.update(vol["id"], changes)


@volume.command("unset")
@click.argument("ref", metavar="VOLUME")
@click.option("--property", "keys", multiple=True, required=True, metavar="KEY",
              help="A property to remove (repeatable).")
@pass_ctx
def volume_unset(obj: CliContext, ref: str, keys: tuple[str, ...]) -> None:
    """Remove properties (metadata) of a volume."""
    api = _api(obj)
    vol = api.find(ref)
    for key in keys:
        api.delete_metadata(vol["id"], key)


@volume.command("delete")
@click.argument("refs", nargs=-1, required=True, metavar="VOLUME...")
@pass_ctx
def volume_delete(obj: CliContext, refs: tuple[str, ...]) -> None:
    """Delete volumes; all are attempted, and any failure makes the exit status 1."""
    api = _api(obj)
    api.client.endpoint("volumev3")  # fail once, not once per volume, without credentials
    for_each(refs, "delete volume", lambda ref: api.delete(api.find(ref)["id"]))


COMMANDS = (volume,)
