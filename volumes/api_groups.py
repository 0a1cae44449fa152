"""Cinder v3 generic volume groups (3.13) and group snapshots (3.14): list, create (also from
a source, 3.14), show, update, delete, reset status (groups 3.20, group snapshots 3.19).
Logic in :mod:`volumes.groups` and :mod:`volumes.group_snapshots`.

Every view enforces its Cinder policy against the group's (or group snapshot's) project: one
the caller cannot see is a 404 before any policy is asked, as for volumes. Below the
microversion that introduced a route it is a 404, as Cinder's. Status codes as Tempest's
schemas: create 202 (``{"group": {"id", "name"}}``), update 202, the actions 202; group
snapshot create 202, delete 202.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from minicloud.errors import BadRequest
from minicloud.paging import Page, next_href
from minicloud.validation import query_bool, to_bool
from minicloud.wsgi import auth, authorize, body_schema, json_body, json_response
from volumes import context, group_schema, group_snapshots, groups, query, views
from volumes.group_snapshots import GroupSnapshotService
from volumes.groups import GroupRequest, GroupService
from volumes.models import GroupSnapshot, VolumeGroup
from volumes.types import Caller

bp = Blueprint("groups", __name__)
GROUPS, GROUP_SNAPSHOTS, SNAPSHOT_RESET, GROUP_RESET, LIST_VOLUME = 13, 14, 19, 20, 25


def service() -> GroupService:
    return current_app.extensions["volume_groups"]


def snapshot_service() -> GroupSnapshotService:
    return current_app.extensions["volume_group_snapshots"]


def _group(group_id: str, rule: str) -> VolumeGroup:
    group = service().get(auth(), group_id)
    authorize(rule, context.owner_target(group.project_id, group.user_id))
    return group


def _group_snapshot(group_snapshot_id: str, rule: str) -> GroupSnapshot:
    gsnap = snapshot_service().get(auth(), group_snapshot_id)
    authorize(rule, context.owner_target(gsnap.project_id, gsnap.user_id))
    return gsnap


def _view(group: VolumeGroup, detail: bool = True) -> dict:
    volume_ids = None
    if detail and context.version().at_least(LIST_VOLUME) and \
            query_bool(request.args, "list_volume", False):
        volume_ids = service().member_ids(group.id)
    return views.group_view(group, context.viewer(), detail, volume_ids, detail and context.allowed(
        "group:group_project_attribute", group.project_id))


def _everyone() -> bool:
    everyone = request.args.get("all_tenants")
    return context.is_admin() and everyone is not None and \
        (everyone == "" or query.loose_bool(everyone))


def _page(items: list, key: str, render) -> dict:
    page = Page.from_args(request.args)
    shown = page.apply(items, lambda x: x.id)
    body: dict = {key: [render(x) for x in shown]}
    marker = page.next_marker(shown, lambda x: x.id)
    if marker is not None:
        body[f"{key}_links"] = [{"rel": "next", "href": next_href(
            request.base_url, request.args, marker)}]
    return body


def _listing(key: str, kind, found_by, render) -> Response:
    """A list view's answer: ``kind``'s (:mod:`volumes.groups` or
    :mod:`volumes.group_snapshots`) filters and sort keys read from the query, every
    project's rows for an admin's ``all_tenants``, listed by ``found_by`` (its service) and
    paged."""
    conditions = kind.list_conditions(request.args, context.version(), context.is_admin())
    found = found_by.list(auth(), conditions, _everyone(),
                          query.sort_params(request.args, kind.SORT_COLUMNS))
    detail = request.path.endswith("/detail")
    return json_response(_page(found, key, lambda x: render(x, detail)))


# -- groups ------------------------------------------------------------------------------------
@bp.get("/groups", endpoint="list")
@bp.get("/groups/detail", endpoint="list_detail")
def list_groups(project_id: str | None) -> Response:
    context.need(GROUPS, "groups")
    context.authorize_project("group:get_all")
    return _listing("groups", groups, service(), _view)


@bp.post("/groups", endpoint="create")
@body_schema(group_schema.GROUP_CREATE)
def create_group(project_id: str | None) -> Response:
    context.need(GROUPS, "groups")
    context.authorize_project("group:create")
    body = json_body()["group"]
    zone = body.get("availability_zone")
    if zone is not None and zone != context.volumes().settings.zone:
        raise BadRequest(f"Invalid input received: Availability zone '{zone}' is invalid.")
    gtype = current_app.extensions["volume_group_types"].get(context.is_admin(),
                                                            body["group_type"])
    caller = Caller(auth().project_id, context.is_admin())
    type_ids = [context.types().for_volume(caller, t).id for t in body["volume_types"]]
    group = service().create(auth(), GroupRequest(
        name=body.get("name"), description=body.get("description"),
        group_type_id=gtype.id, volume_type_ids=list(dict.fromkeys(type_ids))))
    return json_response({"group": _view(group, detail=False)}, 202)


@bp.post("/groups/action", endpoint="create_from_source")
@body_schema(group_schema.GROUP_FROM_SOURCE)
def create_from_source(project_id: str | None) -> Response:
    """3.14 ``create-from-src``: exactly one of ``group_snapshot_id``, ``source_group_id``."""
    context.need(GROUP_SNAPSHOTS, "create-from-src")
    context.authorize_project("group:create")
    body = json_body()["create-from-src"]
    snapshot_id, source_id = body.get("group_snapshot_id"), body.get("source_group_id")
    if (snapshot_id is None) == (source_id is None):
        raise BadRequest("Invalid input received: Either 'group_snapshot_id' or "
                         "'source_group_id' must be provided to create group "
                         f"{body.get('name')} from source, but not both.")
    group = service().create_from_source(auth(), GroupRequest(
        name=body.get("name"), description=body.get("description"),
        group_snapshot_id=snapshot_id, source_group_id=source_id))
    return json_response({"group": _view(group, detail=False)}, 202)


@bp.get("/groups/<group_id>", endpoint="show")
def show_group(project_id: str | None, group_id: str) -> Response:
    context.need(GROUPS, "groups")
    return json_response({"group": _view(_group(group_id, "group:get"))})


def _ids(value: str | None) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in (value or "").split(",") if v.strip()))


@bp.put("/groups/<group_id>", endpoint="update")
@body_schema(group_schema.GROUP_UPDATE)
def update_group(project_id: str | None, group_id: str) -> Response:
    context.need(GROUPS, "groups")
    body = json_body()["group"]
    _group(group_id, "group:update")
    changes = {k: body[k] for k in ("name", "description") if k in body}
    add, remove = _ids(body.get("add_volumes")), _ids(body.get("remove_volumes"))
    if not changes and not add and not remove:
        raise BadRequest("Name, description, add_volumes, and remove_volumes can not be all "
                         "empty in the request body.")
    if set(add) & set(remove):
        raise BadRequest("Invalid volume: a volume cannot be added to and removed from a "
                         "group in one request.")
    service().update(auth(), group_id, changes, add, remove)
    return Response(status=202)


@bp.post("/groups/<group_id>/action", endpoint="action")
@body_schema(group_schema.GROUP_ACTION)
def group_action(project_id: str | None, group_id: str) -> Response:
    """``delete`` (``delete-volumes``) or, from 3.20, ``reset_status`` (admins)."""
    context.need(GROUPS, "groups")
    name, params = next(iter(json_body().items()))
    if name == "delete":
        _group(group_id, "group:delete")
        service().delete(auth(), group_id, to_bool((params or {}).get("delete-volumes",
                                                                      False)))
    else:
        context.need(GROUP_RESET, "reset_status of a group")
        _group(group_id, "group:reset_status")
        service().reset_status(auth(), group_id, params["status"].lower())
    return Response(status=202)


# -- group snapshots ---------------------------------------------------------------------------
def _snapshot_view(gsnap: GroupSnapshot, detail: bool = True) -> dict:
    return views.group_snapshot_view(gsnap, context.viewer(), detail, detail and context.allowed(
        "group:group_snapshot_project_attribute", gsnap.project_id))


@bp.get("/group_snapshots", endpoint="list_snapshots")
@bp.get("/group_snapshots/detail", endpoint="list_snapshots_detail")
def list_group_snapshots(project_id: str | None) -> Response:
    context.need(GROUP_SNAPSHOTS, "group snapshots")
    context.authorize_project("group:get_all_group_snapshots")
    return _listing("group_snapshots", group_snapshots, snapshot_service(), _snapshot_view)


@bp.post("/group_snapshots", endpoint="create_snapshot")
@body_schema(group_schema.GROUP_SNAPSHOT_CREATE)
def create_group_snapshot(project_id: str | None) -> Response:
    """202 with ``id``, ``name``, ``group_type_id`` (the group snapshot is ``creating``)."""
    context.need(GROUP_SNAPSHOTS, "group snapshots")
    body = json_body()["group_snapshot"]
    _group(body["group_id"], "group:create_group_snapshot")
    gsnap = snapshot_service().create(auth(), body["group_id"], body.get("name"),
                                      body.get("description"))
    return json_response({"group_snapshot": {"id": gsnap.id, "name": gsnap.name,
                                             "group_type_id": gsnap.group_type_id}}, 202)


@bp.get("/group_snapshots/<group_snapshot_id>", endpoint="show_snapshot")
def show_group_snapshot(project_id: str | None, group_snapshot_id: str) -> Response:
    context.need(GROUP_SNAPSHOTS, "group snapshots")
    gsnap = _group_snapshot(group_snapshot_id, "group:get_group_snapshot")
    return json_response({"group_snapshot": _snapshot_view(gsnap)})


@bp.delete("/group_snapshots/<group_snapshot_id>", endpoint="delete_snapshot")
def delete_group_snapshot(project_id: str | None, group_snapshot_id: str) -> Response:
    context.need(GROUP_SNAPSHOTS, "group snapshots")
    _group_snapshot(group_snapshot_id, "group:delete_group_snapshot")
    snapshot_service().delete(auth(), group_snapshot_id)
    return Response(status=202)


@bp.post("/group_snapshots/<group_snapshot_id>/action", endpoint="snapshot_action")
@body_schema(group_schema.GROUP_SNAPSHOT_ACTION)
def group_snapshot_action(project_id: str | None, group_snapshot_id: str) -> Response:
    """3.19 ``reset_status`` (admins)."""
    context.need(SNAPSHOT_RESET, "reset_status of a group snapshot")
    _group_snapshot(group_snapshot_id, "group:reset_group_snapshot_status")
    snapshot_service().reset_status(auth(), group_snapshot_id,
                                    json_body()["reset_status"]["status"].lower())
    return Response(status=202)

