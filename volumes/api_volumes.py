"""Cinder v3 volumes: list (filters, sorting, pages), summary, create, show, update, delete,
actions and metadata. Bodies are checked by :mod:`volumes.schema` before a view runs;
every view enforces its Cinder policy against the volume's project
(:func:`volumes.context.volume`)."""
from __future__ import annotations

from flask import Blueprint, Response, request

from minicloud.errors import BadRequest, NotFound
from minicloud.microversion import Version
from minicloud.paging import Page, next_href
from minicloud.validation import to_bool
from minicloud.wsgi import auth, body_schema, json_body, json_response
from volumes import api_upload, context, query, schema, views
from volumes.service import VolumeRequest
from volumes.types import Caller

bp = Blueprint("volumes", __name__)

#: Sources minicloud has none of (and the minor version each is read from): a volume made
#: from one is Cinder's 404 for the missing source.
MISSING_SOURCES = {"consistencygroup_id": ("ConsistencyGroup", 0)}
GROUP_MEMBER = 13  # group_id in a volume create (volumes.groups)
BACKUP_SOURCE = 47  # backup_id in a volume create (volumes.backups)
SUMMARY, SUMMARY_METADATA, FORCE_DELETE = 12, 36, 23


# -- lists -------------------------------------------------------------------------------------
@bp.get("/volumes", endpoint="list")
@bp.get("/volumes/detail", endpoint="list_detail")
def list_volumes(project_id: str | None) -> Response:
    context.authorize_project("volume:get_all")
    q = query.parse(request.args, context.version(), context.is_admin(),
                    context.allowed("volume:get_all_tenants"))
    page = Page.from_args(request.args)
    rows = context.volumes().list(auth(), q)
    shown = page.apply(rows, lambda v: v.id)
    viewer = context.viewer()
    detail = request.path.endswith("/detail")
    body: dict = {"volumes": [views.volume_view(v, viewer) if detail
                              else views.volume_summary(v, viewer) for v in shown]}
    marker = page.next_marker(shown, lambda v: v.id)
    if marker is not None:
        body["volumes_links"] = [{"rel": "next", "href": next_href(
            request.base_url, request.args, marker)}]
    if q.with_count:
        body["count"] = len(rows)
    return json_response(body)


@bp.get("/volumes/summary", endpoint="summary")
def volume_summary(project_id: str | None) -> Response:
    """3.12+: how many volumes, how many GB, and (3.36+) their metadata keys and values."""
    if not context.version().at_least(SUMMARY):
        raise NotFound("Volume summary could not be found.")
    context.authorize_project("volume:get_all")
    everyone = context.flag("all_tenants") and context.allowed("volume:get_all_tenants")
    count, size, metadata = context.volumes().summary(auth(), everyone)
    body = {"total_count": count, "total_size": size}
    if context.version().at_least(SUMMARY_METADATA):
        body["metadata"] = metadata
    return json_response({"volume-summary": body})


# -- create, show, update, delete ---------------------------------------------------------------
def _size(value: int | str | None) -> int | None:
    """A size that passed the schema (digits or an integer) as an int of at least 1."""
    if value is None:
        return None
    size = int(value)
    if not 1 <= size <= schema.DB_MAX_INT:
        raise BadRequest(f"Invalid input received: Volume size '{str(value)[:20]}' must be an "
                         f"integer and greater than 0 (at most {schema.DB_MAX_INT}).")
    return size


def parse_create(vol: dict, version: Version) -> VolumeRequest:
    """The volume of a create body that passed the schema (nulls mean absent)."""
    vol = {k: v for k, v in vol.items() if v is not None}
    for key, (kind, since) in MISSING_SOURCES.items():
        if key in vol and version.at_least(since):
            raise NotFound(f"{kind} {vol[key]} could not be found.")
    if "multiattach" in vol and to_bool(vol["multiattach"]):
        raise BadRequest("The multiattach argument is no longer supported; use a multiattach "
                         "volume type (minicloud has none).")
    zone = vol.get("availability_zone")
    if zone is not None and zone != context.volumes().settings.zone:
        raise BadRequest(f"Invalid input received: Availability zone '{zone}' is invalid.")
    image_ref = vol.get("imageRef", vol.get("image_id"))
    if image_ref is not None:
        image_ref = image_ref.rstrip("/").rsplit("/", 1)[-1] or None
    size = _size(vol.get("size"))
    sources = [k for k in ("snapshot_id", "source_volid") if k in vol] + \
        (["imageRef"] if image_ref is not None else []) + \
        (["backup_id"] if "backup_id" in vol and version.at_least(BACKUP_SOURCE) else [])
    if len(sources) > 1:
        raise BadRequest(f"Invalid input received: a volume is made from one source; got "
                         f"{', '.join(sources)}.")
    if size is None and not sources:
        raise BadRequest("Invalid input received: 'size' is a required property.")
    return VolumeRequest(size=size, name=vol.get("name", vol.get("display_name")),
                         description=vol.get("description", vol.get("display_description")),
                         metadata=dict(vol.get("metadata") or {}), image_ref=image_ref,
                         source_volid=vol.get("source_volid"),
                         snapshot_id=vol.get("snapshot_id"),
                         group_id=vol.get("group_id") if version.at_least(GROUP_MEMBER)
                         else None,
                         volume_type_id=context.types().for_volume(
                             Caller(auth().project_id, context.is_admin()),
                             vol.get("volume_type")).id)


@bp.post("/volumes", endpoint="create")
@body_schema(schema.CREATE, max_minor=12)
@body_schema(schema.CREATE_V313, min_minor=13, max_minor=46)
@body_schema(schema.CREATE_V347, min_minor=47, max_minor=52)
@body_schema(schema.CREATE_V353, min_minor=53)
def create_volume(project_id: str | None) -> Response:
    context.authorize_project("volume:create")
    body = json_body()["volume"]
    req = parse_create(body, context.version())
    if req.image_ref is not None:
        context.authorize_project("volume:create_from_image")
    backup_id = body.get("backup_id") if context.version().at_least(BACKUP_SOURCE) else None
    if backup_id is not None:  # 3.47: a new volume restored from the backup
        vol = context.backups().create_volume(auth(), backup_id, req)
    else:
        vol = context.volumes().create(auth(), req)
    return json_response({"volume": views.volume_view(vol, context.viewer(), False)}, 202)


@bp.get("/volumes/<volume_id>", endpoint="show")
def show_volume(project_id: str | None, volume_id: str) -> Response:
    vol = context.volume(volume_id, "volume:get")
    return json_response({"volume": views.volume_view(vol, context.viewer())})


@bp.put("/volumes/<volume_id>", endpoint="update")
@body_schema(schema.UPDATE, max_minor=52)
@body_schema(schema.UPDATE_V353, min_minor=53)
def update_volume(project_id: str | None, volume_id: str) -> Response:
    body = json_body()["volume"]
    context.volume(volume_id, "volume:update")
    changes: dict = {}
    for key in ("name", "description"):
        for name in (f"display_{key}", key):  # null clears the field, as in Cinder
            if name in body:
                changes[key] = body[name]
    if "metadata" in body:
        changes["metadata"] = body["metadata"]
    vol = context.volumes().update(auth(), volume_id, changes)
    return json_response({"volume": views.volume_view(vol, context.viewer(), False)})


@bp.delete("/volumes/<volume_id>", endpoint="delete")
def delete_volume(project_id: str | None, volume_id: str) -> Response:
    """``?force=True`` (3.23+, ``volume:force_delete``); ``?cascade=True`` deletes the
    volume's snapshots too (without it a volume with snapshots is a 400)."""
    context.volume(volume_id, "volume:delete")
    force = context.flag("force", FORCE_DELETE)
    if force:
        context.volume(volume_id, "volume:force_delete")
    context.volumes().delete(auth(), volume_id, force, context.flag("cascade"))
    return Response(status=202)


# -- actions -----------------------------------------------------------------------------------
def _extend(volume_id: str, params: dict) -> Response:
    context.volume(volume_id, "volume:extend")
    context.volumes().extend(auth(), volume_id, _size(params["new_size"]) or 0)
    return Response(status=202)


def _set_bootable(volume_id: str, params: dict) -> Response:
    context.volume(volume_id, "volume:update")
    context.volumes().set_bootable(auth(), volume_id, to_bool(params["bootable"]))
    return Response(status=200)


def _reset_status(volume_id: str, params: dict) -> Response:
    context.volume(volume_id, "volume_extension:volume_admin_actions:reset_status")
    if params.get("attach_status") or params.get("migration_status"):
        raise BadRequest("Invalid input received: minicloud resets 'status' only (attach "
                         "status follows the attachments; volumes never migrate).")
    if not params.get("status"):
        raise BadRequest("Must specify 'status', 'attach_status' or 'migration_status' for "
                         "update.")
    context.volumes().reset_status(auth(), volume_id, params["status"].lower())
    return Response(status=202)


def _force_delete(volume_id: str, params: dict) -> Response:
    context.volume(volume_id, "volume_extension:volume_admin_actions:force_delete")
    context.volumes().delete(auth(), volume_id, force=True)
    return Response(status=202)


def _show_image_metadata(volume_id: str, params: dict) -> Response:
    vol = context.volume(volume_id, "volume:get_volume_metadata")
    return json_response({"metadata": dict(vol.image_metadata or {})})


def _set_image_metadata(volume_id: str, params: dict) -> Response:
    context.volume(volume_id, "volume_extension:volume_image_metadata:set")
    merged = context.volumes().set_image_metadata(auth(), volume_id, params["metadata"])
    return json_response({"metadata": merged})


def _unset_image_metadata(volume_id: str, params: dict) -> Response:
    context.volume(volume_id, "volume_extension:volume_image_metadata:remove")
    context.volumes().delete_image_metadata(auth(), volume_id, params["key"])
    return Response(status=200)


def _update_readonly(volume_id: str, params: dict) -> Response:
    context.volume(volume_id, "volume:update_readonly_flag")
    context.actions().update_readonly(auth(), volume_id, to_bool(params["readonly"]))
    return Response(status=202)


def _simple(rule: str, method: str):
    """An action without parameters: ``rule``, then ``VolumeActions.<method>`` (202)."""
    def handler(volume_id: str, params: dict) -> Response:
        context.volume(volume_id, rule)
        getattr(context.actions(), method)(auth(), volume_id)
        return Response(status=202)
    return handler


def _attach(volume_id: str, params: dict) -> Response:
    context.volume(volume_id, "volume_extension:volume_actions:attach")
    if not params.get("instance_uuid"):
        raise BadRequest("Invalid request to attach volume to an invalid target: minicloud "
                         "records attachments to instances ('instance_uuid').")
    context.actions().attach(auth(), volume_id, params["instance_uuid"],
                             params["mountpoint"], params.get("mode", "rw"),
                             params.get("host_name"))
    return Response(status=202)


def _detach(volume_id: str, params: dict) -> Response:
    context.volume(volume_id, "volume_extension:volume_actions:detach")
    context.actions().detach(auth(), volume_id, params.get("attachment_id"))
    return Response(status=202)


def _force_detach(volume_id: str, params: dict) -> Response:
    context.volume(volume_id, "volume_extension:volume_admin_actions:force_detach")
    context.actions().force_detach(auth(), volume_id, params.get("attachment_id"))
    return Response(status=202)


ACTIONS = {"os-extend": _extend, "os-set_bootable": _set_bootable,
           "os-reset_status": _reset_status, "os-force_delete": _force_delete,
           "os-show_image_metadata": _show_image_metadata,
           "os-set_image_metadata": _set_image_metadata,
           "os-unset_image_metadata": _unset_image_metadata,
           "os-update_readonly_flag": _update_readonly,
           "os-reserve": _simple("volume_extension:volume_actions:reserve", "reserve"),
           "os-unreserve": _simple("volume_extension:volume_actions:unreserve", "unreserve"),
           "os-begin_detaching": _simple("volume_extension:volume_actions:begin_detaching",
                                         "begin_detaching"),
           "os-roll_detaching": _simple("volume_extension:volume_actions:roll_detaching",
                                        "roll_detaching"),
           "os-attach": _attach, "os-detach": _detach, "os-force_detach": _force_detach,
           "os-volume_upload_image": api_upload.upload_image, "os-retype": api_upload.retype,
           "revert": api_upload.revert}
assert set(ACTIONS) == set(schema.ACTIONS), "every action has a schema and a handler"


@bp.post("/volumes/<volume_id>/action", endpoint="action")
@body_schema(schema.ACTION)
def volume_action(project_id: str | None, volume_id: str) -> Response:
    name, params = next(iter(json_body().items()))
    if name not in ACTIONS:
        raise BadRequest(f"There is no such action: {name[:100]}. Verify the request body "
                         f"and Content-Type header and try again.")
    return ACTIONS[name](volume_id, params if isinstance(params, dict) else {})


# -- metadata ----------------------------------------------------------------------------------
@bp.get("/volumes/<volume_id>/metadata", endpoint="show_metadata")
def show_metadata(project_id: str | None, volume_id: str) -> Response:
    vol = context.volume(volume_id, "volume:get_volume_metadata")
    return json_response({"metadata": dict(vol.metadata_ or {})})


@bp.route("/volumes/<volume_id>/metadata", methods=["POST", "PUT"], endpoint="set_metadata")
@body_schema(schema.METADATA_BODY)
def set_metadata(project_id: str | None, volume_id: str) -> Response:
    """POST merges (``volume:create_volume_metadata``), PUT replaces
    (``volume:update_volume_metadata``)."""
    replace = request.method == "PUT"
    context.volume(volume_id, "volume:update_volume_metadata" if replace
                   else "volume:create_volume_metadata")
    merged = context.volumes().set_metadata(auth(), volume_id, json_body()["metadata"],
                                            replace=replace)
    return json_response({"metadata": merged})


@bp.get("/volumes/<volume_id>/metadata/<key>", endpoint="show_meta")
def show_meta(project_id: str | None, volume_id: str, key: str) -> Response:
    meta = context.volume(volume_id, "volume:get_volume_metadata").metadata_ or {}
    if key not in meta:
        raise NotFound(f"Metadata item was not found: {key}")
    return json_response({"meta": {key: meta[key]}})


@bp.put("/volumes/<volume_id>/metadata/<key>", endpoint="set_meta")
@body_schema(schema.META_ITEM)
def set_meta(project_id: str | None, volume_id: str, key: str) -> Response:
    meta = json_body()["meta"]
    if list(meta) != [key]:
        raise BadRequest("Request body and URI mismatch")
    context.volume(volume_id, "volume:update_volume_metadata")
    context.volumes().set_metadata(auth(), volume_id, meta)
    return json_response({"meta": meta})


@bp.delete("/volumes/<volume_id>/metadata/<key>", endpoint="delete_meta")
def delete_meta(project_id: str | None, volume_id: str, key: str) -> Response:
    context.volume(volume_id, "volume:delete_volume_metadata")
    context.volumes().delete_metadata(auth(), volume_id, key)
    return Response(status=200)
