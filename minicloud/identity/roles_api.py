"""``/v3/roles`` (with implied roles), ``/v3/role_inferences``, grants on projects, domains
and the system, and ``/v3/role_assignments``."""
from __future__ import annotations

from flask import Blueprint, Response, request

from minicloud.errors import BadRequest, NotFound
from minicloud.identity import schema, views
from minicloud.identity.assignments import AssignmentQuery, AssignmentRecord
from minicloud.identity.context import arg, bool_arg, enforce, identity
from minicloud.identity.models import Role
from minicloud.wsgi import body_schema, json_body, json_response

blueprint = Blueprint("identity_roles", __name__)


# -- roles ---------------------------------------------------------------------------------
def _role_rule(action: str, role: Role | None = None, domain_id: str | None = None) -> None:
    """Keystone checks ``identity:<action>_domain_role`` for domain-specific roles."""
    domain_id = role.domain_id if role is not None else domain_id
    name = f"{action}_domain_role" if domain_id else f"{action}_role"
    role_target = {"id": role.id if role else None, "name": role.name if role else None,
                   "domain_id": domain_id}
    enforce(name, role=role_target)


@blueprint.get("/v3/roles")
def list_roles() -> Response:
    domain_id = arg("domain_id")
    if domain_id:
        enforce("list_domain_roles", role={"domain_id": domain_id})
    else:
        enforce("list_roles")
    rows = identity().assignments.list_roles(arg("name"), domain_id)
    return json_response(views.collection("roles", [views.role(r) for r in rows]))


@blueprint.post("/v3/roles")
@body_schema(schema.ROLE_CREATE)
def create_role() -> Response:
    body = json_body()["role"]
    _role_rule("create", domain_id=body.get("domain_id"))
    role = identity().assignments.create_role(body["name"], body.get("domain_id"),
                                              body.get("description"))
    return json_response({"role": views.role(role)}, 201)


@blueprint.get("/v3/roles/<role_id>")
def show_role(role_id: str) -> Response:
    role = identity().assignments.get_role(role_id)
    _role_rule("get", role)
    return json_response({"role": views.role(role)})


@blueprint.patch("/v3/roles/<role_id>")
@body_schema(schema.ROLE_UPDATE)
def update_role(role_id: str) -> Response:
    roles = identity().assignments
    _role_rule("update", roles.get_role(role_id))
    return json_response({"role": views.role(roles.update_role(role_id,
                                                               json_body()["role"]))})


@blueprint.delete("/v3/roles/<role_id>")
def delete_role(role_id: str) -> Response:
    roles = identity().assignments
    _role_rule("delete", roles.get_role(role_id))
    roles.delete_role(role_id)
    return Response(status=204)


# -- implied roles -------------------------------------------------------------------------
@blueprint.get("/v3/roles/<prior_id>/implies")
def list_implied(prior_id: str) -> Response:
    enforce("list_implied_roles")
    prior, implied = identity().assignments.implied_by(prior_id)
    return json_response({"role_inference": views.inferences_of(prior, implied),
                          "links": {"self": f"{views.base()}/roles/{prior_id}/implies"}})


@blueprint.put("/v3/roles/<prior_id>/implies/<implied_id>")
def create_implied(prior_id: str, implied_id: str) -> Response:
    enforce("create_implied_role")
    prior, implied = identity().assignments.create_implied(prior_id, implied_id)
    return json_response(views.inference(prior, implied), 201)


@blueprint.get("/v3/roles/<prior_id>/implies/<implied_id>")
def show_implied(prior_id: str, implied_id: str) -> Response:
    if request.method == "HEAD":
        enforce("check_implied_role")
        identity().assignments.get_implied(prior_id, implied_id)
        return Response(status=204)
    enforce("get_implied_role")
    prior, implied = identity().assignments.get_implied(prior_id, implied_id)
    return json_response(views.inference(prior, implied))


@blueprint.delete("/v3/roles/<prior_id>/implies/<implied_id>")
def delete_implied(prior_id: str, implied_id: str) -> Response:
    enforce("delete_implied_role")
    identity().assignments.delete_implied(prior_id, implied_id)
    return Response(status=204)


@blueprint.get("/v3/role_inferences")
def list_inferences() -> Response:
    enforce("list_role_inference_rules")
    rules = [views.inferences_of(p, i) for p, i in identity().assignments.inferences()]
    return json_response({"role_inferences": rules,
                          "links": {"self": f"{views.base()}/role_inferences"}})


# -- grants --------------------------------------------------------------------------------
_ACTORS = {"users": "User", "groups": "Group"}
_TARGETS = {"projects": "Project", "domains": "Domain"}


def _grant_target(target: str, target_id: str, actor: str, actor_id: str,
                  role_id: str | None = None) -> dict:
    """The Keystone target of a grant call: the actor's, the target's and the role's
    domains (missing things are left out: the service answers 404 for them)."""
    ident = identity()
    parts: dict = {}
    try:
        if actor == "User":
            parts["user"] = {"id": actor_id,
                             "domain_id": ident.users.get_user(actor_id).domain_id}
        else:
            parts["group"] = {"id": actor_id,
                              "domain_id": ident.users.get_group(actor_id).domain_id}
        if target == "Project":
            parts["project"] = {"id": target_id,
                                "domain_id": ident.resource.get_project(target_id).domain_id}
        elif target == "Domain":
            parts["domain"] = {"id": target_id}
        if role_id is not None:
            role = ident.assignments.get_role(role_id)
            parts["role"] = {"id": role.id, "name": role.name, "domain_id": role.domain_id}
    except NotFound:
        pass
    return parts


def list_grants(target: str, actor: str, target_id: str, actor_id: str) -> Response:
    enforce("list_grants", **_grant_target(target, target_id, actor, actor_id))
    rows = identity().assignments.granted_roles(actor, actor_id, target, target_id)
    return json_response(views.collection("roles", [views.role(r) for r in rows],
                                          request.path.removeprefix("/v3/")))


def grant(target: str, actor: str, target_id: str, actor_id: str, role_id: str) -> Response:
    """``PUT`` grants, ``GET``/``HEAD`` check (204 or 404), ``DELETE`` revokes."""
    rule = {"PUT": "create_grant", "DELETE": "revoke_grant"}.get(request.method,
                                                                   "check_grant")
    enforce(rule, **_grant_target(target, target_id, actor, actor_id, role_id))
    return _apply(actor, actor_id, target, target_id, role_id)


def _apply(actor: str, actor_id: str, target: str, target_id: str, role_id: str) -> Response:
    grants = identity().assignments
    if request.method == "PUT":
        grants.grant(actor, actor_id, target, target_id, role_id)
    elif request.method == "DELETE":
        grants.revoke(actor, actor_id, target, target_id, role_id)
    elif not grants.has_grant(actor, actor_id, target, target_id, role_id):
        raise NotFound(f"Could not find role assignment with role: {role_id}, "
                       f"{actor.lower()}: {actor_id}, on: {target_id}.")
    return Response(status=204)


def list_system_grants(actor: str, actor_id: str) -> Response:
    enforce(f"list_system_grants_for_{actor.lower()}")
    rows = identity().assignments.granted_roles(actor, actor_id, "System", "system")
    return json_response(views.collection("roles", [views.role(r) for r in rows],
                                          request.path.removeprefix("/v3/")))


def system_grant(actor: str, actor_id: str, role_id: str) -> Response:
    action = {"PUT": "create", "DELETE": "revoke"}.get(request.method, "check")
    enforce(f"{action}_system_grant_for_{actor.lower()}")
    return _apply(actor, actor_id, "System", "system", role_id)


# One rule per target and actor kind, as Keystone's API reference lists them.
for _targets, _target in _TARGETS.items():
    for _actors, _actor in _ACTORS.items():
        _base = f"/v3/{_targets}/<target_id>/{_actors}/<actor_id>/roles"
        _kinds = {"target": _target, "actor": _actor}
        blueprint.add_url_rule(_base, f"list_grants_{_targets}_{_actors}", list_grants,
                               defaults=_kinds, methods=["GET"])
        blueprint.add_url_rule(f"{_base}/<role_id>", f"grant_{_targets}_{_actors}", grant,
                               defaults=_kinds, methods=["GET", "PUT", "DELETE"])
for _actors, _actor in _ACTORS.items():
    _base = f"/v3/system/{_actors}/<actor_id>/roles"
    blueprint.add_url_rule(_base, f"list_system_grants_{_actors}", list_system_grants,
                           defaults={"actor": _actor}, methods=["GET"])
    blueprint.add_url_rule(f"{_base}/<role_id>", f"system_grant_{_actors}", system_grant,
                           defaults={"actor": _actor}, methods=["GET", "PUT", "DELETE"])


# -- role assignments ----------------------------------------------------------------------
def _assignment_query() -> AssignmentQuery:
    system = arg("scope.system")
    if system not in (None, "all"):
        raise BadRequest("scope.system only takes the value 'all'.")
    q = AssignmentQuery(arg("user.id"), arg("group.id"), arg("role.id"),
                        arg("scope.project.id"), arg("scope.domain.id"), system == "all",
                        bool_arg("effective") or False, bool_arg("include_subtree") or False)
    if q.include_subtree and not q.project_id:
        raise BadRequest("include_subtree requires scope.project.id.")
    if sum(map(bool, (q.project_id, q.domain_id, q.system))) > 1:
        raise BadRequest("Specify at most one of scope.project.id, scope.domain.id and "
                         "scope.system.")
    return q


@blueprint.get("/v3/role_assignments")
def list_assignments() -> Response:
    """Role assignments filtered as ``openstack role assignment list`` asks: ``user.id``,
    ``group.id``, ``role.id``, ``scope.project.id``, ``scope.domain.id``,
    ``scope.system``, ``effective``, ``include_names``, ``include_subtree``."""
    q = _assignment_query()
    domain_id = q.domain_id
    if q.project_id:
        try:
            domain_id = identity().resource.get_project(q.project_id).domain_id
        except NotFound:
            domain_id = None
    enforce("list_role_assignments_for_tree" if q.include_subtree else
            "list_role_assignments", extra={"target.domain_id": domain_id})
    rows = identity().assignments.list_assignments(q)
    names = _names(rows) if bool_arg("include_names") else None
    return json_response(views.collection(
        "role_assignments", [views.assignment(r, names) for r in rows]))


def _names(rows: list[AssignmentRecord]) -> dict[str, dict]:
    """id -> name (and domain) of every role, actor and target in ``rows``."""
    return identity().assignments.names(
        {r.role_id for r in rows}, {r.actor_id for r in rows if r.actor == "User"},
        {r.actor_id for r in rows if r.actor == "Group"},
        {r.target_id for r in rows if r.target == "Project"},
        {r.target_id for r in rows if r.target == "Domain"})
