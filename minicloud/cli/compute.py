"""``minicloud server ...`` and ``minicloud flavor ...``: Nova v2.1, shaped like ``openstack``.

The commands are a client of the compute REST API (section 5 of the CLI contract), plus the
image API for image names and snapshots. Every compute call carries the 2.96 microversion, so
servers come back with the embedded flavor (``original_name``) and ``createImage`` answers with
``{"image_id"}``. Names are resolved as the ``openstack`` CLI resolves them. ``--wait`` polls
as :mod:`minicloud.cli.poll` does (0.1 s at first, backing off to 1 s), reports status changes
on stderr only when it is a terminal, and always gives up after ``--timeout`` seconds.
Errors are :class:`MinicloudError`; ``main`` prints them.
"""
from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Iterable
from typing import Any, BinaryIO

import click

from minicloud import errors
from minicloud.cli.context import CliContext, pass_ctx
from minicloud.cli.images import ImageApi, parse_properties, unset_property_option
from minicloud.cli.images import show_record as image_record
from minicloud.cli.output import emit_list, emit_one, for_each, output_options
from minicloud.cli.poll import Poll
from minicloud.cli.rest import Response, RestClient

MICROVERSION = "2.96"
DEFAULT_TIMEOUT = 600

POWER_STATES = {0: "NOSTATE", 1: "Running", 3: "Paused", 4: "Shutdown", 6: "Crashed",
                7: "Suspended"}
FLAVOR_COLUMNS = ("ID", "Name", "RAM", "Disk", "Ephemeral", "VCPUs", "Is Public")
FLAVOR_LONG_COLUMNS = (*FLAVOR_COLUMNS, "Swap", "RXTX Factor", "Properties")
SERVER_COLUMNS = ("ID", "Name", "Status", "Image", "Flavor")
SERVER_LONG_COLUMNS = (*SERVER_COLUMNS, "Task State", "Power State", "Host",
                       "Availability Zone")
# Server keys `server show` replaces by a flattened field of its own (see server_record).
REPLACED_KEYS = frozenset({"links", "tenant_id", "metadata", "flavor", "image",
                           "security_groups", "os-extended-volumes:volumes_attached"})
# Image states a snapshot never leaves: waiting for `active` after them is pointless.
IMAGE_FAILED = frozenset({"killed", "deleted", "pending_delete"})


# --- the REST boundary ---------------------------------------------------------------------

def _quote(ref: str) -> str:
    return urllib.parse.quote(ref, safe="")


class ComputeApi:
    """The Nova calls the commands make; the only code in this module that knows their URLs.

    minicloud's API answers every list in one page, so ``*_links`` are not followed.
    """

    HEADERS = {"OpenStack-API-Version": f"compute {MICROVERSION}",
               "X-OpenStack-Nova-API-Version": MICROVERSION}

    def __init__(self, client: RestClient) -> None:
        self.client = client

    def _call(self, method: str, path: str, **kwargs: Any) -> Response:
        headers = {**self.HEADERS, **(kwargs.pop("headers", None) or {})}
        return self.client.request("compute", method, path, headers=headers, **kwargs)

    # flavors
    def get_flavor(self, flavor_id: str) -> dict:
        return self._call("GET", f"/flavors/{_quote(flavor_id)}").json()["flavor"]

    def list_flavors(self, is_public: str = "True") -> list[dict]:
        return self._call("GET", "/flavors/detail",
                          params={"is_public": is_public}).json()["flavors"]

    def create_flavor(self, body: dict) -> dict:
        return self._call("POST", "/flavors", json={"flavor": body}).json()["flavor"]

    def delete_flavor(self, flavor_id: str) -> None:
        self._call("DELETE", f"/flavors/{_quote(flavor_id)}")

    def extra_specs(self, flavor_id: str) -> dict[str, str]:
        return self._call("GET", f"/flavors/{_quote(flavor_id)}/os-extra_specs"
                          ).json()["extra_specs"]

    def set_extra_specs(self, flavor_id: str, specs: dict[str, str]) -> dict[str, str]:
        return self._call("POST", f"/flavors/{_quote(flavor_id)}/os-extra_specs",
                          json={"extra_specs": specs}).json()["extra_specs"]

    # servers
    def get_server(self, server_id: str) -> dict:
        return self._call("GET", f"/servers/{_quote(server_id)}").json()["server"]

    def list_servers(self, params: dict[str, str] | None = None) -> list[dict]:
        return self._call("GET", "/servers/detail", params=params or {}).json()["servers"]

    def create_server(self, body: dict) -> str:
        return self._call("POST", "/servers", json={"server": body}).json()["server"]["id"]

    def delete_server(self, server_id: str) -> None:
        self._call("DELETE", f"/servers/{_quote(server_id)}")

    def update_server(self, server_id: str, changes: dict) -> dict:
        return self._call("PUT", f"/servers/{_quote(server_id)}",
                          json={"server": changes}).json()["server"]

    def set_metadata(self, server_id: str, items: dict[str, str]) -> dict[str, str]:
        return self._call("POST", f"/servers/{_quote(server_id)}/metadata",
                          json={"metadata": items}).json()["metadata"]

    def delete_metadata(self, server_id: str, key: str) -> None:
        self._call("DELETE", f"/servers/{_quote(server_id)}/metadata/{_quote(key)}")

    def action(self, server_id: str, name: str, params: Any = None) -> Response:
        return self._call("POST", f"/servers/{_quote(server_id)}/action", json={name: params})

    # name-or-id resolution, as the openstack CLI does it (contract section 1.4)
    def find_flavor(self, ref: str) -> dict:
        try:
            return self.get_flavor(ref)
        except (errors.NotFound, errors.BadRequest, errors.Forbidden):
            pass  # not an id we may see: try it as a name
        found = [f for f in self.list_flavors("None") if ref in (f.get("id"), f.get("name"))]
        if not found:
            raise errors.NotFound(f"No Flavor found for {ref}")
        if len(found) > 1:
            raise errors.Conflict(f"More than one Flavor exists with the name '{ref}'.")
        return found[0]

    def attach_volume(self, server_id: str, volume_id: str) -> dict:
        body = {"volumeAttachment": {"volumeId": volume_id, "device": None}}
        return self._call("POST", f"/servers/{_quote(server_id)}/os-volume_attachments",
                          json=body).json()["volumeAttachment"]

    def detach_volume(self, server_id: str, volume_id: str) -> None:
        self._call("DELETE", f"/servers/{_quote(server_id)}/os-volume_attachments/"
                   f"{_quote(volume_id)}")

    def find_server(self, ref: str) -> dict:
        try:
            return self.get_server(ref)
        except (errors.NotFound, errors.BadRequest, errors.Forbidden):
            pass
        # The server's name filter is a regular expression: match exactly here.
        found = [s for s in self.list_servers({"name": ref})
                 if ref in (s.get("id"), s.get("name"))]
        if not found:
            raise errors.NotFound(f"No server with a name or ID of '{ref}' exists.")
        if len(found) > 1:
            raise errors.Conflict(f"More than one server exists with the name '{ref}'.")
        return found[0]


def _apis(obj: CliContext) -> tuple[ComputeApi, ImageApi]:
    client = obj.client()
    return ComputeApi(client), ImageApi(client)


# --- records for display --------------------------------------------------------------------

def flavor_row(flavor: dict) -> dict:
    return {"ID": flavor.get("id"), "Name": flavor.get("name"), "RAM": flavor.get("ram"),
            "Disk": flavor.get("disk"), "Ephemeral": flavor.get("OS-FLV-EXT-DATA:ephemeral"),
            "VCPUs": flavor.get("vcpus"), "Is Public": flavor.get("os-flavor-access:is_public"),
            "Swap": flavor.get("swap") or 0, "RXTX Factor": flavor.get("rxtx_factor"),
            "Properties": flavor.get("extra_specs") or {}}


def flavor_record(flavor: dict) -> dict:
    """A flavor as ``flavor show`` prints it (the openstack CLI's field names)."""
    keys = ("id", "name", "vcpus", "ram", "disk", "swap", "rxtx_factor", "description",
            "OS-FLV-EXT-DATA:ephemeral", "OS-FLV-DISABLED:disabled",
            "os-flavor-access:is_public")
    record = {k: flavor.get(k) for k in keys}
    record["properties"] = flavor.get("extra_specs") or {}
    return record


def _with_specs(api: ComputeApi, flavor: dict) -> dict:
    # As the openstack CLI does: extra specs are fetched only when the flavor lacks them.
    if "extra_specs" not in flavor:
        flavor = {**flavor, "extra_specs": api.extra_specs(flavor["id"])}
    return flavor


def flavor_label(flavor: dict) -> str:
    """The embedded flavor as one line: ``name (1 vCPU, 256 MiB RAM, 1 GB disk, ...)``."""
    name = flavor.get("original_name") or flavor.get("id") or ""
    if "vcpus" not in flavor:
        return name
    return (f"{name} ({flavor.get('vcpus')} vCPU, {flavor.get('ram')} MiB RAM, "
            f"{flavor.get('disk')} GB disk, {flavor.get('ephemeral') or 0} GB ephemeral)")


def _image_id(server: dict) -> str | None:
    image = server.get("image")
    return image.get("id") if isinstance(image, dict) else None


def image_label(images: ImageApi, server: dict) -> str:
    """``name (id)``, or just the id when the image is gone or hidden from the caller."""
    image_id = _image_id(server)
    if not image_id:
        return "N/A (booted from volume)"
    try:
        return f"{images.get(image_id).get('name')} ({image_id})"
    except errors.MinicloudError:
        return image_id


def image_names(images: ImageApi, servers: Iterable[dict]) -> dict[str, str]:
    """Image id -> name for these servers, in one ``id=in:`` call; {} when that fails."""
    ids = sorted({i for i in map(_image_id, servers) if i})
    if not ids:
        return {}
    try:
        return {i["id"]: i.get("name") or i["id"]
                for i in images.list({"id": "in:" + ",".join(ids)})}
    except errors.MinicloudError:
        return {}  # as the openstack CLI: the list still shows, with image ids


def server_row(server: dict, names: dict[str, str]) -> dict:
    image_id = _image_id(server)
    flavor = server.get("flavor") or {}
    return {"ID": server.get("id"), "Name": server.get("name"), "Status": server.get("status"),
            "Image": names.get(image_id, image_id) if image_id else "N/A (booted from volume)",
            "Flavor": flavor.get("original_name") or flavor.get("id"),
            "Task State": server.get("OS-EXT-STS:task_state"),
            "Power State": POWER_STATES.get(server.get("OS-EXT-STS:power_state"), "NOSTATE"),
            "Host": server.get("OS-EXT-SRV-ATTR:host"),
            "Availability Zone": server.get("OS-EXT-AZ:availability_zone")}


def server_record(server: dict, image: str) -> dict:
    """A server as ``server show`` prints it: the API's fields with a few flattened."""
    record = {k: v for k, v in server.items() if k not in REPLACED_KEYS}
    volumes = server.get("os-extended-volumes:volumes_attached") or []
    record.update({
        "project_id": server.get("tenant_id"),
        "flavor": flavor_label(server.get("flavor") or {}),
        "image": image,
        "properties": server.get("metadata") or {},
        "security_groups": [g.get("name") for g in server.get("security_groups") or []],
        "volumes_attached": [f"id='{v.get('id')}'" for v in volumes],
        "OS-EXT-STS:power_state": POWER_STATES.get(server.get("OS-EXT-STS:power_state"),
                                                   "NOSTATE"),
    })
    return record


def _show_server(images: ImageApi, server: dict, fmt: str, columns: tuple[str, ...]) -> None:
    emit_one(server_record(server, image_label(images, server)), fmt, columns)


# --- waiting --------------------------------------------------------------------------------

def status_label(server: dict) -> str:
    """``BUILD (spawning)`` while a task runs, else just the status."""
    task = server.get("OS-EXT-STS:task_state")
    return f"{server.get('status')} ({task})" if task else str(server.get("status"))


def _fault(server: dict) -> str:
    fault = server.get("fault") or {}
    return fault.get("message") or "no fault was recorded"


def wait_for_server(api: ComputeApi, server: dict, timeout: float) -> dict:
    """Poll until the server is ACTIVE (returned) or ERROR (raised with its fault)."""
    poll = Poll(f"server {server.get('name') or server['id']}", timeout)
    while True:
        server = api.get_server(server["id"])
        label = status_label(server)
        poll.report(label)
        status = str(server.get("status")).upper()
        if status == "ACTIVE" and not server.get("OS-EXT-STS:task_state"):
            return server
        # ERROR with a task running is a hard reboot under way, which may end ACTIVE.
        if status == "ERROR" and not server.get("OS-EXT-STS:task_state"):
            raise errors.MinicloudError(f"{poll.what} went to ERROR: {_fault(server)}")
        poll.sleep(label)


def wait_for_delete(api: ComputeApi, server: dict, timeout: float) -> None:
    """Poll until the server is gone (404 or DELETED); ERROR is raised with its fault."""
    poll = Poll(f"server {server.get('name') or server['id']}", timeout)
    while True:
        try:
            current = api.get_server(server["id"])
        except errors.NotFound:
            poll.report("deleted")
            return
        label = status_label(current)
        poll.report(label)
        status = str(current.get("status")).upper()
        if status == "DELETED":
            return
        if status == "ERROR" and not current.get("OS-EXT-STS:task_state"):
            raise errors.MinicloudError(f"{poll.what} went to ERROR while deleting: "
                                        f"{_fault(current)}")
        poll.sleep(label)


def wait_for_image(images: ImageApi, image_id: str, timeout: float) -> dict:
    """Poll a snapshot image until active; killed, deleted or gone is an error."""
    poll = Poll(f"image {image_id}", timeout)
    while True:
        try:
            image = images.get(image_id)
        except errors.NotFound:
            raise errors.MinicloudError(f"snapshot image {image_id} was deleted: the "
                                        "snapshot failed") from None
        status = str(image.get("status"))
        poll.report(status)
        if status == "active":
            return image
        if status in IMAGE_FAILED:
            raise errors.MinicloudError(f"snapshot image {image_id} failed (status {status})")
        poll.sleep(status)


# --- options --------------------------------------------------------------------------------

_property_option = click.option(
    "--property", "properties", multiple=True, callback=parse_properties, metavar="KEY=VALUE",
    help="A property (repeatable).")
_wait_option = click.option("--wait", is_flag=True, help="Wait for the operation to finish.")
_timeout_option = click.option(
    "--timeout", type=click.FloatRange(min=0), default=DEFAULT_TIMEOUT, show_default=True,
    help="With --wait: seconds to wait before giving up.")


# --- flavor commands ------------------------------------------------------------------------

@click.group()
def flavor() -> None:
    """Flavors (Nova): the sizes servers come in."""


@flavor.command("list")
@click.option("--long", "long_", is_flag=True, help="Show more columns.")
@click.option("--all", "all_", is_flag=True, help="Private flavors too (admin).")
@output_options
@pass_ctx
def flavor_list(obj: CliContext, long_: bool, all_: bool, fmt: str,
                columns: tuple[str, ...]) -> None:
    """List flavors."""
    api, _ = _apis(obj)
    flavors = api.list_flavors("None" if all_ else "True")
    if long_:
        flavors = [_with_specs(api, f) for f in flavors]
    emit_list([flavor_row(f) for f in flavors], FLAVOR_LONG_COLUMNS if long_ else
              FLAVOR_COLUMNS, fmt, columns)


@flavor.command("show")
@click.argument("ref", metavar="FLAVOR")
@output_options
@pass_ctx
def flavor_show(obj: CliContext, ref: str, fmt: str, columns: tuple[str, ...]) -> None:
    """Show a flavor (by name or id)."""
    api, _ = _apis(obj)
    emit_one(flavor_record(_with_specs(api, api.find_flavor(ref))), fmt, columns)


@flavor.command("create")
@click.argument("name")
@click.option("--vcpus", type=click.IntRange(min=1), required=True, help="Virtual CPUs.")
@click.option("--ram", type=click.IntRange(min=1), required=True, help="Memory in MiB.")
@click.option("--disk", type=click.IntRange(min=0), required=True, help="Root disk in GB.")
@click.option("--ephemeral", type=click.IntRange(min=0), default=0, show_default=True,
              help="Ephemeral disk in GB.")
@click.option("--id", "flavor_id", help="The flavor's id (generated when omitted).")
@click.option("--private", is_flag=True, help="Only projects given access may use it.")
@_property_option
@output_options
@pass_ctx
def flavor_create(obj: CliContext, name: str, vcpus: int, ram: int, disk: int, ephemeral: int,
                  flavor_id: str | None, private: bool, properties: dict[str, str], fmt: str,
                  columns: tuple[str, ...]) -> None:
    """Create a flavor (admin)."""
    api, _ = _apis(obj)
    created = api.create_flavor({
        "name": name, "vcpus": vcpus, "ram": ram, "disk": disk, "swap": 0,
        "OS-FLV-EXT-DATA:ephemeral": ephemeral, "os-flavor-access:is_public": not private,
        "id": flavor_id})
    if properties:
        try:
            created["extra_specs"] = api.set_extra_specs(created["id"], properties)
        except errors.MinicloudError:
            # Undo: a flavor without the properties asked for is not what was created.
            api.delete_flavor(created["id"])
            raise
    emit_one(flavor_record(_with_specs(api, created)), fmt, columns)


@flavor.command("delete")
@click.argument("refs", nargs=-1, required=True, metavar="FLAVOR...")
@pass_ctx
def flavor_delete(obj: CliContext, refs: tuple[str, ...]) -> None:
    """Delete flavors (admin).

    Every flavor given is attempted; any failure makes the exit status 1.
    """
    api, _ = _apis(obj)
    api.client.endpoint("compute")  # fail once, not once per flavor, without credentials
    for_each(refs, "delete flavor", lambda ref: api.delete_flavor(api.find_flavor(ref)["id"]))


# --- server commands ------------------------------------------------------------------------

@click.group()
def server() -> None:
    """Servers (Nova): virtual machines."""


@server.command("create")
@click.argument("name")
@click.option("--image", help="Image to boot (name or id), copied to local disk as vda.")
@click.option("--volume", "boot_volume", metavar="VOLUME",
              help="Boot from this bootable volume instead (vda over iSCSI).")
@click.option("--boot-from-volume", "boot_size", type=click.IntRange(min=1), metavar="GB",
              help="With --image: copy the image into a new GB volume and boot from it.")
@click.option("--flavor", "flavor_ref", required=True, help="Flavor (name or id).")
@_property_option
@click.option("--availability-zone", "zone", metavar="ZONE[:HOST]",
              help="Zone to boot in; ZONE:HOST forces a host (admin).")
@click.option("--attach-volume", "volume_refs", multiple=True, metavar="VOLUME",
              help="A data volume to attach at boot (repeatable; vdc first).")
@click.option("--key-name", help="Keypair whose public key the guest gets.")
@click.option("--user-data", type=click.File("rb"), metavar="FILE",
              help="File the guest gets as its user data (on its config drive).")
@click.option("--config-drive", is_flag=True,
              help="Give the guest a config drive (label config-2): its metadata, key and "
                   "user data.")
@_wait_option
@_timeout_option
@output_options
@pass_ctx
def server_create(obj: CliContext, name: str, image: str | None, boot_volume: str | None,
                  boot_size: int | None, flavor_ref: str, properties: dict[str, str],
                  zone: str | None, volume_refs: tuple[str, ...], key_name: str | None,
                  user_data: BinaryIO | None, config_drive: bool, wait: bool, timeout: float,
                  fmt: str, columns: tuple[str, ...]) -> None:
    """Boot a server from an image (--image) or from a volume (--volume)."""
    if (image is None) == (boot_volume is None):
        raise click.UsageError("Give either --image or --volume.")
    if boot_size is not None and image is None:
        raise click.UsageError("--boot-from-volume needs --image (the image to copy).")
    api, images = _apis(obj)
    flavor_id = api.find_flavor(flavor_ref)["id"]
    volume_api = None
    if boot_volume or volume_refs:
        from minicloud.cli.volumes import VolumeApi

        volume_api = VolumeApi(obj.client())
    image_id = images.find(image)["id"] if image else ""
    bdms = []
    if boot_volume:
        bdms.append({"uuid": volume_api.find(boot_volume)["id"], "source_type": "volume",
                     "destination_type": "volume", "boot_index": 0,
                     "delete_on_termination": False})
    elif boot_size:
        bdms.append({"uuid": image_id, "source_type": "image", "destination_type": "volume",
                     "volume_size": boot_size, "boot_index": 0,
                     "delete_on_termination": False})
        image_id = ""
    bdms += [{"uuid": volume_api.find(ref)["id"], "source_type": "volume",
              "destination_type": "volume", "boot_index": -1,
              "delete_on_termination": False} for ref in volume_refs]
    body: dict[str, Any] = {"name": name, "imageRef": image_id, "flavorRef": flavor_id,
                            "networks": "none"}
    if properties:
        body["metadata"] = properties
    if zone:
        body["availability_zone"] = zone
    if bdms:
        body["block_device_mapping_v2"] = bdms
    if key_name:
        body["key_name"] = key_name
    if user_data is not None:
        body["user_data"] = base64.b64encode(user_data.read()).decode()
    if config_drive:
        body["config_drive"] = True
    created = {"id": api.create_server(body), "name": name}
    found = wait_for_server(api, created, timeout) if wait else api.get_server(created["id"])
    _show_server(images, found, fmt, columns)


@server.command("list")
@click.option("--long", "long_", is_flag=True, help="Show more columns.")
@click.option("--all-projects", is_flag=True, help="Servers of every project (admin).")
@click.option("--name", help="Only servers whose name matches this regular expression.")
@click.option("--status", help="Only servers in this status (ACTIVE, SHUTOFF, ERROR...).")
@output_options
@pass_ctx
def server_list(obj: CliContext, long_: bool, all_projects: bool, name: str | None,
                status: str | None, fmt: str, columns: tuple[str, ...]) -> None:
    """List servers."""
    api, images = _apis(obj)
    params = {"all_tenants": "True" if all_projects else None, "name": name,
              "status": status.upper() if status else None}
    servers = api.list_servers({k: v for k, v in params.items() if v is not None})
    names = image_names(images, servers)
    emit_list([server_row(s, names) for s in servers],
              SERVER_LONG_COLUMNS if long_ else SERVER_COLUMNS, fmt, columns)


@server.command("show")
@click.argument("ref", metavar="SERVER")
@output_options
@pass_ctx
def server_show(obj: CliContext, ref: str, fmt: str, columns: tuple[str, ...]) -> None:
    """Show a server (by name or id)."""
    api, images = _apis(obj)
    _show_server(images, api.find_server(ref), fmt, columns)


@server.command("set")
@click.argument("ref", metavar="SERVER")
@click.option("--name", help="New name.")
@click.option("--description", help="New description.")
@_property_option
@pass_ctx
def server_set(obj: CliContext, ref: str, name: str | None, description: str | None,
               properties: dict[str, str]) -> None:
    """Rename a server, change its description, or add or change properties."""
    api, _ = _apis(obj)
    found = api.find_server(ref)
    changes = {k: v for k, v in (("name", name), ("description", description)) if v is not None}
    if changes:
        api.update_server(found["id"], changes)
    if properties:
        api.set_metadata(found["id"], properties)


@server.command("unset")
@click.argument("ref", metavar="SERVER")
@unset_property_option
@click.option("--description", "no_description", is_flag=True, help="Clear the description.")
@pass_ctx
def server_unset(obj: CliContext, ref: str, keys: tuple[str, ...],
                 no_description: bool) -> None:
    """Remove properties or the description of a server."""
    api, _ = _apis(obj)
    found = api.find_server(ref)
    if no_description:
        api.update_server(found["id"], {"description": None})
    for key in keys:
        api.delete_metadata(found["id"], key)


@server.command("delete")
@click.argument("refs", nargs=-1, required=True, metavar="SERVER...")
@_wait_option
@_timeout_option
@pass_ctx
def server_delete(obj: CliContext, refs: tuple[str, ...], wait: bool, timeout: float) -> None:
    """Delete servers.

    Every server given is attempted; any failure makes the exit status 1.
    """
    api, _ = _apis(obj)
    api.client.endpoint("compute")

    def delete(ref: str) -> None:
        found = api.find_server(ref)
        api.delete_server(found["id"])
        if wait:
            wait_for_delete(api, found, timeout)

    for_each(refs, "delete server", delete)


def _power(obj: CliContext, refs: tuple[str, ...], action: str, verb: str) -> None:
    api, _ = _apis(obj)
    api.client.endpoint("compute")
    for_each(refs, f"{verb} server", lambda ref: api.action(api.find_server(ref)["id"], action))


@server.command("stop")
@click.argument("refs", nargs=-1, required=True, metavar="SERVER...")
@pass_ctx
def server_stop(obj: CliContext, refs: tuple[str, ...]) -> None:
    """Stop (power off) servers.

    The status becomes SHUTOFF once the host has powered the server off.
    """
    _power(obj, refs, "os-stop", "stop")


@server.command("start")
@click.argument("refs", nargs=-1, required=True, metavar="SERVER...")
@pass_ctx
def server_start(obj: CliContext, refs: tuple[str, ...]) -> None:
    """Start (power on) stopped servers.

    The status becomes ACTIVE once the host has powered the server on.
    """
    _power(obj, refs, "os-start", "start")


@server.command("reboot")
@click.argument("ref", metavar="SERVER")
@click.option("--hard", is_flag=True, help="Hard reboot (power cycle), also from SHUTOFF "
                                            "or ERROR.")
@_wait_option
@_timeout_option
@pass_ctx
def server_reboot(obj: CliContext, ref: str, hard: bool, wait: bool, timeout: float) -> None:
    """Reboot a server (soft by default)."""
    api, _ = _apis(obj)
    found = api.find_server(ref)
    api.action(found["id"], "reboot", {"type": "HARD" if hard else "SOFT"})
    if wait:
        wait_for_server(api, found, timeout)


@server.command("console")
@click.argument("ref", metavar="SERVER")
@click.option("--lines", type=click.IntRange(min=0), help="Only the last N lines.")
@pass_ctx
def server_console(obj: CliContext, ref: str, lines: int | None) -> None:
    """Print a server's console log."""
    api, _ = _apis(obj)
    params = {} if lines is None else {"length": lines}
    output = api.action(api.find_server(ref)["id"], "os-getConsoleOutput", params).json()
    click.echo(output.get("output") or "", nl=False)


@server.group("add")
def server_add() -> None:
    """Add resources to a server."""


@server.group("remove")
def server_remove() -> None:
    """Remove resources from a server."""


def _server_and_volume(obj: CliContext, server_ref: str, volume_ref: str
                       ) -> tuple[ComputeApi, dict, dict]:
    from minicloud.cli.volumes import VolumeApi

    api, _ = _apis(obj)
    return api, api.find_server(server_ref), VolumeApi(obj.client()).find(volume_ref)


@server_add.command("volume")
@click.argument("server_ref", metavar="SERVER")
@click.argument("volume_ref", metavar="VOLUME")
@output_options
@pass_ctx
def server_add_volume(obj: CliContext, server_ref: str, volume_ref: str, fmt: str,
                      columns: tuple[str, ...]) -> None:
    """Attach a volume (hot-plugged into a running server; the first one is vdc when the
    flavor has an ephemeral disk)."""
    api, found, vol = _server_and_volume(obj, server_ref, volume_ref)
    view = api.attach_volume(found["id"], vol["id"])
    emit_one({"id": view["volumeId"], "server_id": view["serverId"],
              "device": view["device"], "attachment_id": view["attachment_id"]}, fmt, columns)


@server_remove.command("volume")
@click.argument("server_ref", metavar="SERVER")
@click.argument("volume_ref", metavar="VOLUME")
@pass_ctx
def server_remove_volume(obj: CliContext, server_ref: str, volume_ref: str) -> None:
    """Detach a volume: out of the guest, then the export; the volume becomes available."""
    api, found, vol = _server_and_volume(obj, server_ref, volume_ref)
    api.detach_volume(found["id"], vol["id"])


@server.group("image")
def server_image() -> None:
    """Images made from servers."""


@server_image.command("create")
@click.argument("ref", metavar="SERVER")
@click.option("--name", "image_name", required=True, help="Name of the new image.")
@_property_option
@_wait_option
@_timeout_option
@output_options
@pass_ctx
def server_image_create(obj: CliContext, ref: str, image_name: str,
                        properties: dict[str, str], wait: bool, timeout: float, fmt: str,
                        columns: tuple[str, ...]) -> None:
    """Snapshot a server into a new image, and show the image.

    With '-f value -c id' it prints just the new image's id.
    """
    api, images = _apis(obj)
    params: dict[str, Any] = {"name": image_name}
    if properties:
        params["metadata"] = properties
    resp = api.action(api.find_server(ref)["id"], "createImage", params)
    # The body holds the id from 2.45 on; the Location header always does.
    body = resp.json() if resp.content else {}
    image_id = body.get("image_id") or resp.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    image = wait_for_image(images, image_id, timeout) if wait else images.get(image_id)
    emit_one(image_record(image), fmt, columns)


COMMANDS = (server, flavor)
