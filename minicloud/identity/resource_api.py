"""``/v3/domains`` and ``/v3/projects`` (with ``/tags``): Keystone's resource API."""
from __future__ import annotations

from flask import Blueprint, Response, request

from minicloud.errors import BadRequest, NotFound
from minicloud.identity import schema, views
from minicloud.identity.context import arg, bool_arg, enforce, identity
from minicloud.identity.resource import DEFAULT_DOMAIN_ID, ProjectQuery, ProjectRecord
from minicloud.wsgi import auth, body_schema, json_body, json_response

blueprint = Blueprint("identity_resource", __name__)


# -- domains -------------------------------------------------------------------------------
@blueprint.get("/v3/domains")
def list_domains() -> Response:
    ctx = auth()
    enforce("list_domains", domain={"id": ctx.scope_domain_id})
    ids = [ctx.scope_domain_id] if ctx.scope_domain_id and not ctx.is_admin else None
    rows = identity().resource.list_domains(arg("name"), bool_arg("enabled"), ids)
    return json_response(views.collection("domains", [views.domain(d) for d in rows]))


@blueprint.post("/v3/domains")
@body_schema(schema.DOMAIN_CREATE)
def create_domain() -> Response:
    enforce("create_domain")
    body = json_body()["domain"]
    domain = identity().resource.create_domain(
        body["name"], body.get("description") or "", body.get("enabled", True),
        body.get("explicit_domain_id"))
    return json_response({"domain": views.domain(domain)}, 201)


@blueprint.get("/v3/domains/<domain_id>")
def show_domain(domain_id: str) -> Response:
    domain = identity().resource.get_domain(domain_id)
    enforce("get_domain", domain={"id": domain.id})
    return json_response({"domain": views.domain(domain)})


@blueprint.patch("/v3/domains/<domain_id>")
@body_schema(schema.DOMAIN_UPDATE)
def update_domain(domain_id: str) -> Response:
    enforce("update_domain", domain={"id": domain_id})
    domain = identity().resource.update_domain(domain_id, json_body()["domain"])
    return json_response({"domain": views.domain(domain)})


@blueprint.delete("/v3/domains/<domain_id>")
def delete_domain(domain_id: str) -> Response:
    enforce("delete_domain", domain={"id": domain_id})
    identity().resource.delete_domain(domain_id)
    return Response(status=204)


# -- projects ------------------------------------------------------------------------------
def _tags(name: str) -> tuple[str, ...]:
    raw = request.args.get(name)
    return tuple(t for t in raw.split(",") if t) if raw else ()


def _project_target(p: ProjectRecord) -> dict:
    return {"id": p.id, "domain_id": p.domain_id}


@blueprint.get("/v3/projects")
def list_projects() -> Response:
    """Projects, filtered by ``name``, ``domain_id``, ``enabled``, ``parent_id``,
    ``is_domain`` and the tag filters; a domain-scoped reader sees its domain's."""
    ctx = auth()
    domain_id = arg("domain_id")
    if ctx.scope_domain_id and not ctx.is_admin:
        domain_id = domain_id or ctx.scope_domain_id
    enforce("list_projects", extra={"target.domain_id": domain_id})
    query = ProjectQuery(arg("name"), domain_id, bool_arg("enabled"), arg("parent_id"),
                         bool(bool_arg("is_domain")), _tags("tags"), _tags("tags-any"),
                         _tags("not-tags"), _tags("not-tags-any"))
    rows = identity().resource.list_projects(query)
    return json_response(views.collection("projects", [views.project(p) for p in rows]))


@blueprint.post("/v3/projects")
@body_schema(schema.PROJECT_CREATE)
def create_project() -> Response:
    ctx = auth()
    body = dict(json_body()["project"])
    res = identity().resource
    if body.pop("is_domain", False):
        if body.get("parent_id") or body.get("domain_id"):
            raise BadRequest("A project acting as a domain has no parent and no domain.")
        enforce("create_project", project={"domain_id": None})
        domain = res.create_domain(body["name"], body.get("description") or "",
                                   body.get("enabled", True))
        return json_response({"project": views.project(res.get_project(domain.id))}, 201)
    default_domain = ctx.domain_id or ctx.scope_domain_id or DEFAULT_DOMAIN_ID
    domain_id = body.pop("domain_id", None)
    parent_id = body.pop("parent_id", None)
    if domain_id is None and parent_id is None:
        domain_id = default_domain
    enforce("create_project", project={"domain_id": domain_id or default_domain})
    project = res.create_project(
        body.pop("name"), domain_id, parent_id, body.pop("description", "") or "",
        body.pop("enabled", True), body.pop("tags", ()),
        {k: v for k, v in body.items() if k != "options"})
    return json_response({"project": views.project(project)}, 201)


@blueprint.get("/v3/projects/<project_id>")
def show_project(project_id: str) -> Response:
    project = identity().resource.get_project(project_id)
    enforce("get_project", project=_project_target(project))
    return json_response({"project": views.project(project)})


@blueprint.patch("/v3/projects/<project_id>")
@body_schema(schema.PROJECT_UPDATE)
def update_project(project_id: str) -> Response:
    res = identity().resource
    current = res.get_project(project_id)
    enforce("update_project", project=_project_target(current))
    changes = dict(json_body()["project"])
    for key in ("domain_id", "parent_id", "is_domain"):
        if key in changes and changes[key] != getattr(current, key):
            raise BadRequest(f"The {key} of a project cannot be changed.")
    return json_response({"project": views.project(res.update_project(project_id, changes))})


@blueprint.delete("/v3/projects/<project_id>")
def delete_project(project_id: str) -> Response:
    res = identity().resource
    enforce("delete_project", project=_project_target(res.get_project(project_id)))
    res.delete_project(project_id)
    return Response(status=204)


# -- project tags --------------------------------------------------------------------------
def _tag_target(project_id: str, rule: str) -> None:
    enforce(rule, project=_project_target(identity().resource.get_project(project_id)))


@blueprint.get("/v3/projects/<project_id>/tags")
def list_tags(project_id: str) -> Response:
    _tag_target(project_id, "list_project_tags")
    return json_response({"tags": identity().resource.list_tags(project_id)})


@blueprint.put("/v3/projects/<project_id>/tags")
@body_schema(schema.PROJECT_TAGS)
def replace_tags(project_id: str) -> Response:
    _tag_target(project_id, "update_project_tags")
    tags = identity().resource.replace_tags(project_id, json_body()["tags"])
    return json_response({"tags": tags})


@blueprint.delete("/v3/projects/<project_id>/tags")
def delete_tags(project_id: str) -> Response:
    _tag_target(project_id, "delete_project_tags")
    identity().resource.replace_tags(project_id, [])
    return Response(status=204)


def _check_tag(tag: str) -> str:
    if not 1 <= len(tag) <= 255 or "," in tag or "/" in tag:
        raise BadRequest(f"Invalid tag {tag[:64]!r}: 1 to 255 characters, no ',' or '/'.")
    return tag


@blueprint.get("/v3/projects/<project_id>/tags/<tag>")
def check_tag(project_id: str, tag: str) -> Response:
    _tag_target(project_id, "get_project_tag")
    if not identity().resource.has_tag(project_id, tag):
        raise NotFound(f"Tag {tag} not found on project {project_id}.")
    return Response(status=204)


@blueprint.put("/v3/projects/<project_id>/tags/<tag>")
def add_tag(project_id: str, tag: str) -> Response:
    _tag_target(project_id, "create_project_tag")
    identity().resource.add_tag(project_id, _check_tag(tag))
    # 201 with no body, as the API-WG tags guideline (and Keystone) answer.
    return Response(status=201,
                    headers={"Location": f"{views.base()}/projects/{project_id}/tags/{tag}"})


@blueprint.delete("/v3/projects/<project_id>/tags/<tag>")
def delete_tag(project_id: str, tag: str) -> Response:
    _tag_target(project_id, "delete_project_tag")
    identity().resource.delete_tag(project_id, tag)
    return Response(status=204)
