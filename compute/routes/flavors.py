"""Flavors (list with filters, sorting and pages; show, create, describe, delete), their
extra specs and their access lists (``os-flavor-access``, ``addTenantAccess`` /
``removeTenantAccess``). Listing and showing need no policy (as in Nova); a private flavor is
seen by admins and by the projects on its access list."""
from __future__ import annotations

from flask import Blueprint, Response, request

from compute import flavors, schema
from compute.flavors import FlavorQuery
from compute.models import Flavor
from compute.routes import PREFIX, allowed, base_url, compute, mv, paged
from compute.views import Viewer, extra_specs, flavor_view
from minicloud.errors import BadRequest, NotFound
from minicloud.validation import query_bool
from minicloud.wsgi import auth, authorize, body_schema, json_body, json_response

bp = Blueprint("flavors", __name__, url_prefix=PREFIX)
MANAGE = "os_compute_api:os-flavor-manage:%s"
SPECS = "os_compute_api:os-flavor-extra-specs:%s"
ACCESS = "os_compute_api:os-flavor-access"
QUERY = frozenset({"limit", "marker", "is_public", "minRam", "minDisk", "sort_key",
                   "sort_dir"})


def _viewer() -> Viewer:
    return Viewer(mv(), base_url(), flavor_extra_specs=allowed(SPECS % "index"))


def _visible(flavor_id: str) -> Flavor:
    flavor = compute().service.flavors.get(flavor_id)
    if not flavors.visible_to(flavor, auth().project_id, auth().is_admin):
        raise NotFound(f"Flavor {flavor_id} could not be found.")
    return flavor


def _minimum(name: str) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return 0
    if not raw.isascii() or not raw.isdigit():
        raise BadRequest(f"Invalid {name} filter [{raw[:50]}]")
    return int(raw)


def _query() -> FlavorQuery:
    """Nova's flavor list parameters; from 2.75 any other parameter is a 400."""
    args = request.args
    if mv().at_least(75):
        unknown = sorted(set(args) - QUERY)
        if unknown:
            raise BadRequest(f"Invalid input for query parameters {unknown[0][:50]}. "
                             "Additional properties are not allowed.")
    public: bool | None = True
    raw = args.get("is_public")
    if auth().is_admin and raw is not None:
        public = None if raw.lower() == "none" else query_bool(args, "is_public")
    sort_key, sort_dir = args.get("sort_key", "flavorid"), args.get("sort_dir", "asc")
    if sort_key not in flavors.SORT_KEYS:
        raise BadRequest(f"Invalid input for query parameters sort_key. Value: "
                         f"{sort_key[:50]}. It is not a flavor sort key.")
    if sort_dir not in ("asc", "desc"):
        raise BadRequest(f"Invalid input for query parameters sort_dir. Value: "
                         f"{sort_dir[:50]}. Must be 'asc' or 'desc'.")
    return FlavorQuery(public, auth().project_id, _minimum("minRam"), _minimum("minDisk"),
                       sort_key, sort_dir)


@bp.get("/flavors")
@bp.get("/flavors/detail")
def list_flavors() -> Response:
    detail = request.path.endswith("/detail")
    rows = compute().service.flavors.list(_query())
    page, links = paged(rows, lambda f: f.id, "flavors",
                        "/flavors/detail" if detail else "/flavors")
    see = _viewer()
    return json_response({"flavors": [flavor_view(f, see, detail) for f in page], **links})


@bp.get("/flavors/<flavor_id>")
def show_flavor(flavor_id: str) -> Response:
    return json_response({"flavor": flavor_view(_visible(flavor_id), _viewer())})


@bp.post("/flavors")
@body_schema(schema.CREATE_FLAVOR, max_minor=54)
@body_schema(schema.CREATE_FLAVOR_V255, min_minor=55)
def create_flavor() -> Response:
    authorize(MANAGE % "create")
    spec = flavors.spec_from_request(json_body()["flavor"], mv().at_least(55))
    return json_response({"flavor": flavor_view(compute().service.flavors.create(spec),
                                                _viewer())})


@bp.put("/flavors/<flavor_id>")
@body_schema(schema.UPDATE_FLAVOR, min_minor=55)
def update_flavor(flavor_id: str) -> Response:
    """Change the description (2.55+; before, the route does not exist: 404)."""
    if not mv().at_least(55):
        raise NotFound("The resource could not be found.")
    authorize(MANAGE % "update")
    flavor = compute().service.flavors.set_description(
        flavor_id, json_body()["flavor"]["description"])
    return json_response({"flavor": flavor_view(flavor, _viewer())})


@bp.delete("/flavors/<flavor_id>")
def delete_flavor(flavor_id: str) -> Response:
    authorize(MANAGE % "delete")
    compute().service.flavors.delete(flavor_id)
    return Response(status=202)


# -- extra specs ----------------------------------------------------------------------------------
@bp.get("/flavors/<flavor_id>/os-extra_specs")
def list_extra_specs(flavor_id: str) -> Response:
    authorize(SPECS % "index")
    return json_response({"extra_specs": extra_specs(_visible(flavor_id))})


@bp.get("/flavors/<flavor_id>/os-extra_specs/<key>")
def show_extra_spec(flavor_id: str, key: str) -> Response:
    authorize(SPECS % "show")
    specs = extra_specs(_visible(flavor_id))
    if key not in specs:
        raise NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")
    return json_response({key: specs[key]})


def _strings(specs: dict) -> dict[str, str]:
    return {k: v if isinstance(v, str) else str(v) for k, v in specs.items()}


@bp.post("/flavors/<flavor_id>/os-extra_specs")
@body_schema(schema.CREATE_EXTRA_SPECS)
def add_extra_specs(flavor_id: str) -> Response:
    authorize(SPECS % "create")
    specs = _strings(json_body()["extra_specs"])
    return json_response({"extra_specs": compute().service.flavors.set_extra_specs(
        flavor_id, specs)})


@bp.put("/flavors/<flavor_id>/os-extra_specs/<key>")
@body_schema(schema.UPDATE_EXTRA_SPEC)
def set_extra_spec(flavor_id: str, key: str) -> Response:
    authorize(SPECS % "update")
    spec = _strings(json_body())
    if list(spec) != [key]:
        raise BadRequest("Request body and URI mismatch")
    return json_response(compute().service.flavors.set_extra_specs(flavor_id, spec))


@bp.delete("/flavors/<flavor_id>/os-extra_specs/<key>")
def delete_extra_spec(flavor_id: str, key: str) -> Response:
    authorize(SPECS % "delete")
    compute().service.flavors.delete_extra_spec(flavor_id, key)
    return Response(status=200)


# -- access lists ---------------------------------------------------------------------------------
def _access_body(flavor_id: str, projects: list[str]) -> Response:
    return json_response({"flavor_access": [{"flavor_id": flavor_id, "tenant_id": p}
                                            for p in projects]})


@bp.get("/flavors/<flavor_id>/os-flavor-access")
def list_flavor_access(flavor_id: str) -> Response:
    """The projects that see a private flavor (a public one has no list: 404)."""
    authorize(ACCESS)
    flavor = compute().service.flavors.get(flavor_id)
    if flavor.is_public:
        raise NotFound("Access list not available for public flavors.")
    return _access_body(flavor.id, flavors.access_list(flavor))


@bp.post("/flavors/<flavor_id>/action")
@body_schema(schema.FLAVOR_ACTION)
def flavor_action(flavor_id: str) -> Response:
    """``addTenantAccess`` / ``removeTenantAccess`` (admins); the body names one of them.
    The project is not looked up in identity (Nova skips that check when keystone cannot
    answer; removing an unknown project is allowed there too)."""
    body = json_body()
    store = compute().service.flavors
    if "addTenantAccess" in body:
        authorize(f"{ACCESS}:add_tenant_access")
        projects = store.add_access(flavor_id, body["addTenantAccess"]["tenant"],
                                    refuse_public=mv().at_least(7))
    else:
        authorize(f"{ACCESS}:remove_tenant_access")
        projects = store.remove_access(flavor_id, body["removeTenantAccess"]["tenant"])
    return _access_body(flavor_id, projects)
