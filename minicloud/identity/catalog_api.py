"""Keystone v3 HTTP API of the catalog: regions, services, endpoints, endpoint groups
(OS-EP-FILTER), policy blobs (``/v3/policies``) and OAuth1 consumers (OS-OAUTH1).

These are administrators' resources with the same five routes each (list with filters,
show, create, update with PATCH, delete), so each is declared once as a :class:`Resource`
and its views are made from that declaration; the logic lives in
:class:`~minicloud.identity.catalog.Catalog` and
:class:`~minicloud.identity.credentials.Credentials`. Register :data:`blueprint` on the
identity app; its rules are :data:`minicloud.identity.catalog_policies.RULES`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, request

from minicloud.errors import BadRequest
from minicloud.identity import catalog_schema as schema
from minicloud.identity.catalog import Catalog
from minicloud.identity.credentials import Credentials, credential_key
from minicloud.wsgi import authorize, body_schema, current_service, json_body, json_response

blueprint = Blueprint("identity_catalog", __name__)


def base_url() -> str:
    return request.host_url.rstrip("/")


def linked(record: dict, path: str) -> dict:
    """``record`` with Keystone's ``links.self`` (``path`` under the identity URL)."""
    return {**record, "links": {"self": f"{base_url()}{path}"}}


def collection(key: str, records: list[dict]) -> Response:
    return json_response({key: records, "links": {"self": base_url() + request.path,
                                                  "previous": None, "next": None}})


def catalog() -> Catalog:
    return Catalog(current_service().db)


def credentials() -> Credentials:
    svc = current_service()
    return Credentials(svc.db, credential_key(svc.conf.state_dir))


@dataclass(frozen=True)
class Resource:
    """An admin-managed resource: ``store()`` has ``list_<plural>(**filters)``,
    ``get_<key>(id)``, ``create_<key>(body)``, ``update_<key>(id, body)`` and
    ``delete_<key>(id)``; ``filters`` map query parameters to ``list_<plural>`` arguments."""

    key: str
    plural: str
    path: str
    store: Callable[[], Any]
    create_schema: dict
    update_schema: dict
    filters: dict[str, str] = field(default_factory=dict)
    #: Shape a record for the response (e.g. drop what only the create response shows).
    view: Callable[[dict], dict] | None = None

    def rule(self, action: str) -> str:
        name = self.plural if action == "list" else self.key
        return f"identity:{action}_{name}"

    def shown(self, record: dict) -> dict:
        shaped = self.view(record) if self.view is not None else record
        return linked(shaped, f"{self.path}/{record['id']}")

    def call(self, action: str, *args: Any, **kwargs: Any) -> Any:
        name = self.plural if action == "list" else self.key
        return getattr(self.store(), f"{action}_{name}")(*args, **kwargs)


def _hide_secret(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "secret"}


def _validate_group_filters(body: dict) -> None:
    if "filters" in body and not body["filters"]:
        raise BadRequest("An endpoint group needs at least one filter (interface, "
                         "service_id or region_id).")


RESOURCES = (
    Resource("region", "regions", "/v3/regions", catalog, schema.REGION_CREATE,
             schema.REGION_UPDATE, {"parent_region_id": "parent_region_id"}),
    Resource("service", "services", "/v3/services", catalog, schema.SERVICE_CREATE,
             schema.SERVICE_UPDATE, {"type": "type_", "name": "name"}),
    Resource("endpoint", "endpoints", "/v3/endpoints", catalog, schema.ENDPOINT_CREATE,
             schema.ENDPOINT_UPDATE,
             {"service_id": "service_id", "interface": "interface", "region_id": "region_id"}),
    Resource("endpoint_group", "endpoint_groups", "/v3/OS-EP-FILTER/endpoint_groups",
             catalog, schema.ENDPOINT_GROUP_CREATE, schema.ENDPOINT_GROUP_UPDATE,
             {"name": "name"}),
    Resource("policy", "policies", "/v3/policies", catalog, schema.POLICY_CREATE,
             schema.POLICY_UPDATE, {"type": "type_"}),
    Resource("consumer", "consumers", "/v3/OS-OAUTH1/consumers", credentials,
             schema.CONSUMER_CREATE, schema.CONSUMER_UPDATE, view=_hide_secret),
)


def _add_views(res: Resource) -> None:
    item = f"{res.path}/<item_id>"

    def list_view() -> Response:
        authorize(res.rule("list"))
        args = {arg: request.args[q] for q, arg in res.filters.items() if q in request.args}
        return collection(res.plural, [res.shown(r) for r in res.call("list", **args)])

    def show_view(item_id: str) -> Response:
        authorize(res.rule("get"))
        return json_response({res.key: res.shown(res.call("get", item_id))})

    def create_view() -> Response:
        authorize(res.rule("create"))
        body = json_body()[res.key]
        if res.key == "endpoint_group":
            _validate_group_filters(body)
        record = res.call("create", body)
        # The create response alone shows a generated secret (consumers).
        return json_response({res.key: linked(record, f"{res.path}/{record['id']}")}, 201)

    def update_view(item_id: str) -> Response:
        authorize(res.rule("update"))
        body = json_body()[res.key]
        if res.key == "endpoint_group":
            _validate_group_filters(body)
        return json_response({res.key: res.shown(res.call("update", item_id, body))})

    def delete_view(item_id: str) -> Response:
        authorize(res.rule("delete"))
        res.call("delete", item_id)
        return Response(status=204)

    views = (("list", res.path, ["GET"], list_view),
             ("show", item, ["GET"], show_view),
             ("create", res.path, ["POST"], body_schema(res.create_schema)(create_view)),
             ("update", item, ["PATCH"], body_schema(res.update_schema)(update_view)),
             ("delete", item, ["DELETE"], delete_view))
    for action, rule, methods, view in views:
        blueprint.add_url_rule(rule, endpoint=f"{res.plural}_{action}", view_func=view,
                               methods=methods)


for _res in RESOURCES:
    _add_views(_res)


@blueprint.put("/v3/regions/<region_id>")
@body_schema(schema.REGION_CREATE)
def create_region_with_id(region_id: str) -> Response:
    """Create a region with the id in the URL (``PUT``, Keystone's way to choose it)."""
    authorize("identity:create_region")
    record = catalog().create_region(json_body()["region"], region_id)
    return json_response({"region": linked(record, f"/v3/regions/{record['id']}")}, 201)


@blueprint.route("/v3/OS-EP-FILTER/endpoint_groups/<group_id>/endpoints", methods=["GET"])
def list_endpoints_in_group(group_id: str) -> Response:
    authorize("identity:list_endpoints_associated_with_endpoint_group")
    return collection("endpoints", [linked(e, f"/v3/endpoints/{e['id']}")
                                    for e in catalog().endpoints_in_group(group_id)])
