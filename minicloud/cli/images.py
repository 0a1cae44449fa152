"""``minicloud image ...``: Glance v2 images, shaped like ``openstack image``.

The commands are a client of the image REST API only (section 4 of the CLI contract): names
are resolved as the ``openstack`` CLI resolves them, and image data is streamed both ways,
never held in memory, with progress on a terminal (:mod:`minicloud.cli.transfer`). Errors
are :class:`MinicloudError`; ``main`` prints them.
"""
from __future__ import annotations

import contextlib
import json
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

import click

from minicloud import errors
from minicloud.cli.context import CliContext, pass_ctx
from minicloud.cli.output import emit_list, emit_one, for_each, output_options
from minicloud.cli.poll import Poll
from minicloud.cli.rest import Response, RestClient
from minicloud.cli.transfer import save_data, send_data

PATCH_CONTENT_TYPE = "application/openstack-images-v2.1-json-patch"
DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso",
                "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
VISIBILITIES = ("public", "private", "shared", "community")

# What `openstack image show` displays as fields of their own; every other key of the image
# (custom properties, os_hidden, os_hash_*) is folded into one `properties` field.
SHOW_FIELDS = ("checksum", "container_format", "created_at", "disk_format", "file", "id",
               "min_disk", "min_ram", "name", "owner", "protected", "schema", "size", "status",
               "tags", "updated_at", "virtual_size", "visibility")
NEVER_SHOWN = frozenset({"self", "locations"})
LIST_COLUMNS = ("ID", "Name", "Status")
LONG_COLUMNS = ("ID", "Name", "Disk Format", "Container Format", "Size", "Checksum", "Status",
                "Visibility", "Protected", "Project", "Tags")
MEMBER_COLUMNS = ("Image ID", "Member ID", "Status")


# --- the REST boundary ---------------------------------------------------------------------

class ImageApi:
    """The Glance v2 calls the commands make; the only code in this module that knows URLs."""

    def __init__(self, client: RestClient) -> None:
        self.client = client

    def _call(self, method: str, path: str, **kwargs: Any) -> Response:
        return self.client.request("image", method, path, **kwargs)

    @staticmethod
    def _path(image_id: str, *rest: str) -> str:
        return "/v2/images/" + "/".join(urllib.parse.quote(p, safe="") for p in (image_id, *rest))

    def get(self, image_id: str) -> dict:
        return self._call("GET", self._path(image_id)).json()

    def list(self, params: dict[str, Any]) -> Iterator[dict]:
        """Every image matching ``params``, following ``next`` links to the last page."""
        path, query = "/v2/images", dict(params)
        seen: set[tuple] = set()
        while True:
            body = self._call("GET", path, params=query).json()
            yield from body.get("images", [])
            if not body.get("next"):
                return
            path, extra = self._next_page(body["next"])
            # As openstacksdk does: the link's query overrides ours, our filters stay.
            query.update(extra)
            page = (path, tuple(sorted((k, tuple(v)) for k, v in extra.items())))
            if page in seen:
                raise errors.MinicloudError(f"endless pagination loop at {body['next']}")
            seen.add(page)

    def _next_page(self, link: str) -> tuple[str, dict[str, list[str]]]:
        """Turn a ``next`` link (``/v2/images?marker=...``, maybe absolute) into path + query."""
        parts = urllib.parse.urlsplit(link)
        path = parts.path
        prefix = urllib.parse.urlsplit(self.client.endpoint("image")).path.rstrip("/")
        if prefix and path.startswith(prefix + "/"):
            path = path[len(prefix):]
        if not path.startswith("/v2/"):
            path = "/v2" + path
        return path, urllib.parse.parse_qs(parts.query)

    def find(self, ref: str) -> dict:
        """The image whose id or name is ``ref``, looked up as the openstack CLI does it."""
        try:
            return self.get(ref)
        except (errors.NotFound, errors.BadRequest, errors.Forbidden):
            pass  # not an id we may see: try it as a name

        def matching(images: Iterable[dict]) -> list[dict]:
            return [i for i in images if ref in (i.get("id"), i.get("name"))]

        found = matching(self.list({"name": ref}))
        if not found:  # hidden images are left out of every list that does not ask for them
            found = matching(self.list({"os_hidden": "true"}))
        if not found:
            raise errors.NotFound(f"No Image found for {ref}")
        if len(found) > 1:
            raise errors.Conflict(f"More than one Image exists with the name '{ref}'.")
        return found[0]

    def create(self, body: dict) -> tuple[dict, list[str]]:
        """Create an image record; returns it and the import methods the service offers."""
        resp = self._call("POST", "/v2/images", json=body)
        header = resp.headers.get("OpenStack-image-import-methods", "")
        return resp.json(), [m.strip() for m in header.split(",") if m.strip()]

    def update(self, image_id: str, ops: list[dict]) -> dict:
        return self._call("PATCH", self._path(image_id), data=json.dumps(ops),
                          headers={"Content-Type": PATCH_CONTENT_TYPE}).json()

    def delete(self, image_id: str) -> None:
        self._call("DELETE", self._path(image_id))

    def upload(self, image_id: str, data: Any, size: int | None, target: str = "file") -> None:
        """PUT the data to ``file`` (plain upload) or ``stage`` (glance-direct import)."""
        headers = {"Content-Type": "application/octet-stream"}
        if size is not None:
            headers["X-OpenStack-Image-Size"] = str(size)
        try:
            self._call("PUT", self._path(image_id, target), data=data, headers=headers)
        except errors.MinicloudError:
            # A refusal may come before the body is read (format inspection), and the server
            # then drops the connection: never reuse it for the next request (the cleanup).
            self.client.close()
            raise

    def download(self, image_id: str) -> Response:
        """The streamed response of ``GET .../file``; the caller closes it."""
        return self._call("GET", self._path(image_id, "file"), stream=True)

    def action(self, image_id: str, name: str) -> None:
        self._call("POST", self._path(image_id, "actions", name))

    def import_image(self, image_id: str, method: dict) -> None:
        self._call("POST", self._path(image_id, "import"), json={"method": method})

    def delete_tag(self, image_id: str, tag: str) -> None:
        self._call("DELETE", self._path(image_id, "tags", tag))

    def members(self, image_id: str) -> list[dict]:
        return self._call("GET", self._path(image_id, "members")).json().get("members", [])

    def add_member(self, image_id: str, member_id: str) -> dict:
        return self._call("POST", self._path(image_id, "members"),
                          json={"member": member_id}).json()

    def remove_member(self, image_id: str, member_id: str) -> None:
        self._call("DELETE", self._path(image_id, "members", member_id))


def _api(obj: CliContext) -> ImageApi:
    return ImageApi(obj.client())


# --- records for display --------------------------------------------------------------------

def show_record(img: dict) -> dict:
    """The image as ``image show`` prints it: fixed fields plus a ``properties`` mapping."""
    record = {k: img.get(k) for k in SHOW_FIELDS}
    record["properties"] = {k: v for k, v in img.items()
                            if k not in SHOW_FIELDS and k not in NEVER_SHOWN}
    return record


def list_row(img: dict) -> dict:
    return {"ID": img.get("id"), "Name": img.get("name"), "Status": img.get("status"),
            "Disk Format": img.get("disk_format"),
            "Container Format": img.get("container_format"), "Size": img.get("size"),
            "Checksum": img.get("checksum"), "Visibility": img.get("visibility"),
            "Protected": img.get("protected"), "Project": img.get("owner"),
            "Tags": img.get("tags") or []}


# --- option parsing -------------------------------------------------------------------------

def parse_properties(ctx: click.Context | None, param: click.Parameter | None,
                     values: Iterable[str]) -> dict[str, str]:
    """``k=v`` items (the value may hold '=') as a dict; a malformed one is a usage error."""
    props: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", ctx=ctx, param=param)
        props[key.strip()] = value
    return props


#: ``--property KEY`` (repeatable) of the ``unset`` commands, into ``keys``.
unset_property_option = click.option("--property", "keys", multiple=True, metavar="KEY",
                                     help="A property to remove (repeatable).")


def _check_sort(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    for item in (value.split(",") if value else ()):
        key, _, direction = item.partition(":")
        if not key or direction not in ("", "asc", "desc"):
            raise click.BadParameter(f"{item!r} is not KEY[:asc|desc]", ctx=ctx, param=param)
    return value


def _visibility_options(func: Callable) -> Callable:
    for flag in reversed(VISIBILITIES):
        func = click.option(f"--{flag}", "visibility", flag_value=flag, default=None,
                            help=f"Visibility {flag}.")(func)
    return func


_property_option = click.option(
    "--property", "properties", multiple=True, callback=parse_properties, metavar="KEY=VALUE",
    help="A custom property (repeatable).")
_protected_option = click.option(
    "--protected/--unprotected", default=None, help="Forbid (or allow) deleting the image.")


def _pointer(key: str) -> str:
    """The JSON-pointer path of a top-level key (RFC 6901 escaping)."""
    return "/" + key.replace("~", "~0").replace("/", "~1")


def _add(key: str, value: Any) -> dict:
    # Glance's own clients send `add` even for existing keys: it upserts.
    return {"op": "add", "path": _pointer(key), "value": value}


# --- creating and waiting ------------------------------------------------------------------

@contextlib.contextmanager
def _discarded_on_failure(api: ImageApi, img: dict) -> Iterator[None]:
    """Delete a just-created image when filling it fails, so a failed create leaves nothing."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(errors.MinicloudError):
            if img.get("protected"):
                api.update(img["id"], [_add("protected", False)])
            api.delete(img["id"])
        raise


def wait_active(api: ImageApi, image_id: str, timeout: float) -> dict:
    """Poll an importing image until it is active; status changes go to a terminal's stderr."""
    poll = Poll(f"image {image_id}", timeout)
    while True:
        img = api.get(image_id)
        status = str(img.get("status"))
        poll.report(status)
        if status == "active":
            return img
        if status in ("killed", "deleted") or img.get("os_glance_failed_import"):
            raise errors.MinicloudError(f"import of image {image_id} failed (status {status})")
        poll.sleep(status)


# --- commands -------------------------------------------------------------------------------

@click.group()
def image() -> None:
    """Images (Glance v2)."""


@image.command("create")
@click.argument("name")
@click.option("--file", "source", type=click.Path(exists=True, dir_okay=False, allow_dash=True),
              help="Upload the data of this file ('-': stdin); without it, metadata only.")
@click.option("--disk-format", type=click.Choice(DISK_FORMATS), default="raw",
              show_default=True)
@click.option("--container-format", type=click.Choice(CONTAINER_FORMATS), default="bare",
              show_default=True)
@_property_option
@_visibility_options
@_protected_option
@click.option("--min-disk", type=click.IntRange(min=0), help="Minimum disk size (GiB).")
@click.option("--min-ram", type=click.IntRange(min=0), help="Minimum RAM (MiB).")
@click.option("--tag", "tags", multiple=True, help="A tag (repeatable).")
@click.option("--id", "image_id", help="The image's id (a UUID).")
@click.option("--import", "use_import", is_flag=True,
              help="Upload through the glance-direct import (stage, import, wait for active).")
@click.option("--timeout", type=click.FloatRange(min=0), default=600, show_default=True,
              help="With --import: seconds to wait for the image to become active.")
@output_options
@pass_ctx
def image_create(obj: CliContext, name: str, source: str | None, disk_format: str,
                 container_format: str, properties: dict[str, str], visibility: str | None,
                 protected: bool | None, min_disk: int | None, min_ram: int | None,
                 tags: tuple[str, ...], image_id: str | None, use_import: bool, timeout: float,
                 fmt: str, columns: tuple[str, ...]) -> None:
    """Create an image, and upload its data from --file."""
    if use_import and not source:
        raise click.UsageError("--import needs --file")
    body: dict[str, Any] = {"name": name, "disk_format": disk_format,
                            "container_format": container_format, **properties}
    optional = {"visibility": visibility, "protected": protected, "min_disk": min_disk,
                "min_ram": min_ram, "id": image_id, "tags": list(tags) or None}
    body.update({k: v for k, v in optional.items() if v is not None})
    api = _api(obj)
    img, methods = api.create(body)
    if source:
        with _discarded_on_failure(api, img):
            if use_import:
                if methods and "glance-direct" not in methods:
                    raise errors.BadRequest("the image service does not offer the "
                                            f"glance-direct import (only {', '.join(methods)})")
                send_data(api, img["id"], source, "stage")
                api.import_image(img["id"], {"name": "glance-direct"})
                img = wait_active(api, img["id"], timeout)
            else:
                send_data(api, img["id"], source, "file")
                img = api.get(img["id"])
    emit_one(show_record(img), fmt, columns)


@image.command("list")
@click.option("--long", "long_", is_flag=True, help="Show more columns.")
@_visibility_options
@click.option("--property", "properties", multiple=True, callback=parse_properties,
              metavar="KEY=VALUE", help="Only images with this property (repeatable).")
@click.option("--tag", "tags", multiple=True, help="Only images with this tag (repeatable).")
@click.option("--name", help="Only images with this name.")
@click.option("--status", help="Only images in this status.")
@click.option("--hidden", is_flag=True, help="List the hidden images instead.")
@click.option("--limit", type=click.IntRange(min=1), help="Show at most this many images.")
@click.option("--sort", callback=_check_sort, metavar="KEY[:DIR][,...]",
              help="Sort keys and directions (asc|desc), e.g. name:asc,size:desc.")
@output_options
@pass_ctx
def image_list(obj: CliContext, long_: bool, visibility: str | None,
               properties: dict[str, str], tags: tuple[str, ...], name: str | None,
               status: str | None, hidden: bool, limit: int | None, sort: str | None,
               fmt: str, columns: tuple[str, ...]) -> None:
    """List images (every page)."""
    params: dict[str, Any] = {"visibility": visibility, "name": name, "status": status,
                              "tag": list(tags) or None, "sort": sort, "limit": limit,
                              "os_hidden": "true" if hidden else None}
    images: Iterable[dict] = _api(obj).list({k: v for k, v in params.items() if v is not None})
    if properties:  # filtered here, as the openstack CLI does
        images = (i for i in images
                  if all(k in i and str(i[k]) == v for k, v in properties.items()))
    if limit:
        images = islice(images, limit)
    emit_list([list_row(i) for i in images], LONG_COLUMNS if long_ else LIST_COLUMNS, fmt,
              columns)


@image.command("show")
@click.argument("ref", metavar="IMAGE")
@output_options
@pass_ctx
def image_show(obj: CliContext, ref: str, fmt: str, columns: tuple[str, ...]) -> None:
    """Show an image (by name or id)."""
    emit_one(show_record(_api(obj).find(ref)), fmt, columns)


@image.command("set")
@click.argument("ref", metavar="IMAGE")
@click.option("--name", help="New name.")
@_property_option
@click.option("--tag", "tags", multiple=True, help="A tag to add (repeatable).")
@click.option("--min-disk", type=click.IntRange(min=0), help="Minimum disk size (GiB).")
@click.option("--min-ram", type=click.IntRange(min=0), help="Minimum RAM (MiB).")
@_visibility_options
@_protected_option
@click.option("--hidden/--unhidden", default=None, help="Hide the image from default lists.")
@click.option("--deactivate", "state", flag_value="deactivate", default=None,
              help="Deactivate the image (its data can no longer be downloaded).")
@click.option("--activate", "state", flag_value="reactivate", help="Reactivate the image.")
@click.option("--disk-format", type=click.Choice(DISK_FORMATS))
@click.option("--container-format", type=click.Choice(CONTAINER_FORMATS))
@output_options
@pass_ctx
def image_set(obj: CliContext, ref: str, name: str | None, properties: dict[str, str],
              tags: tuple[str, ...], min_disk: int | None, min_ram: int | None,
              visibility: str | None, protected: bool | None, hidden: bool | None,
              state: str | None, disk_format: str | None, container_format: str | None,
              fmt: str, columns: tuple[str, ...]) -> None:
    """Change an image's attributes, properties, tags or state; show the result."""
    api = _api(obj)
    img = api.find(ref)
    if state:
        api.action(img["id"], state)
    attrs = {"name": name, "min_disk": min_disk, "min_ram": min_ram, "visibility": visibility,
             "protected": protected, "os_hidden": hidden, "disk_format": disk_format,
             "container_format": container_format, **properties}
    ops = [_add(k, v) for k, v in attrs.items() if v is not None]
    if tags:  # the whole list goes out, so existing tags are kept
        ops.append(_add("tags", list(dict.fromkeys([*(img.get("tags") or []), *tags]))))
    img = api.update(img["id"], ops) if ops else api.get(img["id"])
    emit_one(show_record(img), fmt, columns)


@image.command("unset")
@click.argument("ref", metavar="IMAGE")
@unset_property_option
@click.option("--tag", "tags", multiple=True, help="A tag to remove (repeatable).")
@output_options
@pass_ctx
def image_unset(obj: CliContext, ref: str, keys: tuple[str, ...], tags: tuple[str, ...],
                fmt: str, columns: tuple[str, ...]) -> None:
    """Remove properties or tags from an image; show the result."""
    api = _api(obj)
    img = api.find(ref)
    missing = [f"property '{k}'" for k in keys if k not in img]
    missing += [f"tag '{t}'" for t in tags if t not in (img.get("tags") or [])]
    if missing:  # checked first, so nothing changes when the request is wrong
        raise errors.NotFound(f"image {ref} has no {', '.join(missing)}")
    if keys:
        api.update(img["id"], [{"op": "remove", "path": _pointer(k)} for k in keys])
    for tag in tags:
        api.delete_tag(img["id"], tag)
    emit_one(show_record(api.get(img["id"])), fmt, columns)


@image.command("delete")
@click.argument("refs", nargs=-1, required=True, metavar="IMAGE...")
@pass_ctx
def image_delete(obj: CliContext, refs: tuple[str, ...]) -> None:
    """Delete images; all are attempted, and any failure makes the exit status 1."""
    api = _api(obj)
    api.client.endpoint("image")  # fail once, not once per image, without credentials
    for_each(refs, "delete image", lambda ref: api.delete(api.find(ref)["id"]))


@image.command("save")
@click.argument("ref", metavar="IMAGE")
@click.option("--file", "out", required=True,
              type=click.Path(dir_okay=False, allow_dash=True),
              help="Where to write the data ('-': stdout).")
@pass_ctx
def image_save(obj: CliContext, ref: str, out: str) -> None:
    """Download an image's data, verified against its checksum."""
    api = _api(obj)
    save_data(api, api.find(ref), out)


@image.command("import")
@click.argument("ref", metavar="IMAGE")
@click.option("--method", type=click.Choice(["glance-direct", "web-download"]),
              default="glance-direct", show_default=True,
              help="glance-direct imports data staged before; web-download fetches --uri.")
@click.option("--uri", help="With web-download: the URL of the data.")
@click.option("--wait", is_flag=True, help="Wait until the image is active.")
@click.option("--timeout", type=click.FloatRange(min=0), default=600, show_default=True,
              help="With --wait: seconds to wait.")
@output_options
@pass_ctx
def image_import(obj: CliContext, ref: str, method: str, uri: str | None, wait: bool,
                 timeout: float, fmt: str, columns: tuple[str, ...]) -> None:
    """Start importing an image's data."""
    if (method == "web-download") != bool(uri):
        raise click.UsageError("--uri goes with --method web-download, and only with it")
    api = _api(obj)
    img = api.find(ref)
    api.import_image(img["id"], {"name": method, **({"uri": uri} if uri else {})})
    img = wait_active(api, img["id"], timeout) if wait else api.get(img["id"])
    emit_one(show_record(img), fmt, columns)


def _project_id(obj: CliContext, ref: str) -> str:
    try:
        return obj.identity_id("projects", ref)
    except errors.Forbidden:
        return ref  # only admins may look projects up; Glance takes any project id


@image.group("add")
def image_add() -> None:
    """Share an image."""


@image_add.command("project")
@click.argument("ref", metavar="IMAGE")
@click.argument("project", metavar="PROJECT")
@output_options
@pass_ctx
def image_add_project(obj: CliContext, ref: str, project: str, fmt: str,
                      columns: tuple[str, ...]) -> None:
    """Share IMAGE with PROJECT (name or id)."""
    api = _api(obj)
    emit_one(api.add_member(api.find(ref)["id"], _project_id(obj, project)), fmt, columns)


@image.group("remove")
def image_remove() -> None:
    """Stop sharing an image."""


@image_remove.command("project")
@click.argument("ref", metavar="IMAGE")
@click.argument("project", metavar="PROJECT")
@pass_ctx
def image_remove_project(obj: CliContext, ref: str, project: str) -> None:
    """Stop sharing IMAGE with PROJECT (name or id)."""
    api = _api(obj)
    api.remove_member(api.find(ref)["id"], _project_id(obj, project))


@image.group("member")
def image_member() -> None:
    """The projects an image is shared with."""


@image_member.command("list")
@click.argument("ref", metavar="IMAGE")
@output_options
@pass_ctx
def image_member_list(obj: CliContext, ref: str, fmt: str, columns: tuple[str, ...]) -> None:
    """List the projects IMAGE is shared with."""
    api = _api(obj)
    rows = [{"Image ID": m.get("image_id"), "Member ID": m.get("member_id"),
             "Status": m.get("status")} for m in api.members(api.find(ref)["id"])]
    emit_list(rows, MEMBER_COLUMNS, fmt, columns)


COMMANDS = (image,)
