"""``/v3/users`` and ``/v3/groups``: users (with their password, groups and projects),
groups and group membership."""
from __future__ import annotations

from flask import Blueprint, Response

from minicloud.errors import NotFound
from minicloud.identity import schema, views
from minicloud.identity.context import arg, bool_arg, enforce, identity
from minicloud.identity.resource import DEFAULT_DOMAIN_ID, ProjectQuery
from minicloud.identity.users import CORE_USER_FIELDS, UserRecord
from minicloud.wsgi import auth, body_schema, json_body, json_response, public

blueprint = Blueprint("identity_users", __name__)


def _user_target(u: UserRecord) -> dict:
    return {"id": u.id, "domain_id": u.domain_id}


def _default_domain() -> str:
    ctx = auth()
    return ctx.scope_domain_id or ctx.domain_id or DEFAULT_DOMAIN_ID


# -- users ---------------------------------------------------------------------------------
@blueprint.get("/v3/users")
def list_users() -> Response:
    ctx = auth()
    domain_id = arg("domain_id")
    if ctx.scope_domain_id and not ctx.is_admin:
        domain_id = domain_id or ctx.scope_domain_id
    enforce("list_users", extra={"target.domain_id": domain_id})
    rows = identity().users.list_users(arg("name"), domain_id, bool_arg("enabled"))
    return json_response(views.collection("users", [views.user(u) for u in rows]))


@blueprint.post("/v3/users")
@body_schema(schema.USER_CREATE)
def create_user() -> Response:
    body = dict(json_body()["user"])
    domain_id = body.get("domain_id") or _default_domain()
    enforce("create_user", user={"domain_id": domain_id})
    extra = {k: v for k, v in body.items() if k not in CORE_USER_FIELDS}
    user = identity().users.create_user(body["name"], body.get("password"), domain_id,
                                        body.get("enabled", True),
                                        body.get("default_project_id"), extra)
    return json_response({"user": views.user(user)}, 201)


@blueprint.get("/v3/users/<user_id>")
def show_user(user_id: str) -> Response:
    user = identity().users.get_user(user_id)
    enforce("get_user", user=_user_target(user))
    return json_response({"user": views.user(user)})


@blueprint.patch("/v3/users/<user_id>")
@body_schema(schema.USER_UPDATE)
def update_user(user_id: str) -> Response:
    users = identity().users
    enforce("update_user", user=_user_target(users.get_user(user_id)))
    return json_response({"user": views.user(users.update_user(user_id,
                                                               json_body()["user"]))})


@blueprint.delete("/v3/users/<user_id>")
def delete_user(user_id: str) -> Response:
    users = identity().users
    enforce("delete_user", user=_user_target(users.get_user(user_id)))
    users.delete_user(user_id)
    return Response(status=204)


@blueprint.post("/v3/users/<user_id>/password")
@public
@body_schema(schema.PASSWORD_CHANGE)
def change_password(user_id: str) -> Response:
    """A user changes its own password: no token needed, the original password is the
    proof (as in Keystone); 401 when it does not match."""
    body = json_body()["user"]
    identity().users.change_password(user_id, body["original_password"], body["password"])
    return Response(status=204)


@blueprint.get("/v3/users/<user_id>/groups")
def user_groups(user_id: str) -> Response:
    user = identity().users.get_user(user_id)
    enforce("list_groups_for_user", extra={"user_id": user.id}, user=_user_target(user))
    rows = identity().users.list_groups(arg("name"), arg("domain_id"), user_id=user.id)
    return json_response(views.collection("groups", [views.group(g) for g in rows],
                                          f"users/{user_id}/groups"))


@blueprint.get("/v3/users/<user_id>/projects")
def user_projects(user_id: str) -> Response:
    """The projects the user holds a role on (directly or through a group)."""
    user = identity().users.get_user(user_id)
    enforce("list_user_projects", user=_user_target(user))
    ids = identity().assignments.scope_targets(user.id, "Project")
    query = ProjectQuery(arg("name"), arg("domain_id"), bool_arg("enabled"))
    rows = identity().resource.list_projects(query, ids=ids)
    return json_response(views.collection("projects", [views.project(p) for p in rows],
                                          f"users/{user_id}/projects"))


# -- groups --------------------------------------------------------------------------------
def _group_target(group_id: str) -> dict:
    g = identity().users.get_group(group_id)
    return {"id": g.id, "domain_id": g.domain_id}


@blueprint.get("/v3/groups")
def list_groups() -> Response:
    ctx = auth()
    domain_id = arg("domain_id")
    if ctx.scope_domain_id and not ctx.is_admin:
        domain_id = domain_id or ctx.scope_domain_id
    enforce("list_groups", group={"domain_id": domain_id})
    rows = identity().users.list_groups(arg("name"), domain_id)
    return json_response(views.collection("groups", [views.group(g) for g in rows]))


@blueprint.post("/v3/groups")
@body_schema(schema.GROUP_CREATE)
def create_group() -> Response:
    body = json_body()["group"]
    domain_id = body.get("domain_id") or _default_domain()
    enforce("create_group", group={"domain_id": domain_id})
    group = identity().users.create_group(body["name"], domain_id,
                                          body.get("description") or "")
    return json_response({"group": views.group(group)}, 201)


@blueprint.get("/v3/groups/<group_id>")
def show_group(group_id: str) -> Response:
    enforce("get_group", group=_group_target(group_id))
    return json_response({"group": views.group(identity().users.get_group(group_id))})


@blueprint.patch("/v3/groups/<group_id>")
@body_schema(schema.GROUP_UPDATE)
def update_group(group_id: str) -> Response:
    enforce("update_group", group=_group_target(group_id))
    group = identity().users.update_group(group_id, json_body()["group"])
    return json_response({"group": views.group(group)})


@blueprint.delete("/v3/groups/<group_id>")
def delete_group(group_id: str) -> Response:
    enforce("delete_group", group=_group_target(group_id))
    identity().users.delete_group(group_id)
    return Response(status=204)


@blueprint.get("/v3/groups/<group_id>/users")
def group_users(group_id: str) -> Response:
    enforce("list_users_in_group", group=_group_target(group_id))
    rows = identity().users.list_users(arg("name"), arg("domain_id"), bool_arg("enabled"),
                                       group_id=group_id)
    return json_response(views.collection("users", [views.user(u) for u in rows],
                                          f"groups/{group_id}/users"))


def _membership_target(group_id: str, user_id: str) -> dict:
    return {"group": _group_target(group_id),
            "user": _user_target(identity().users.get_user(user_id))}


@blueprint.put("/v3/groups/<group_id>/users/<user_id>")
def add_member(group_id: str, user_id: str) -> Response:
    enforce("add_user_to_group", **_membership_target(group_id, user_id))
    identity().users.add_member(group_id, user_id)
    return Response(status=204)


@blueprint.get("/v3/groups/<group_id>/users/<user_id>")
def check_member(group_id: str, user_id: str) -> Response:
    enforce("check_user_in_group", **_membership_target(group_id, user_id))
    if not identity().users.is_member(group_id, user_id):
        raise NotFound(f"User {user_id} is not a member of group {group_id}.")
    return Response(status=204)


@blueprint.delete("/v3/groups/<group_id>/users/<user_id>")
def remove_member(group_id: str, user_id: str) -> Response:
    enforce("remove_user_from_group", **_membership_target(group_id, user_id))
    identity().users.remove_member(group_id, user_id)
    return Response(status=204)
