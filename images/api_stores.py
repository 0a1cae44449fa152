"""Glance's store routes: ``GET /v2/info/stores``, ``GET /v2/info/stores/detail`` (admin) and
``DELETE /v2/stores/{store_id}/{image_id}`` (one copy of an image's data).

Bodies as Glance's ``InfoController``: each store ``{"id", "description"}`` (description only
when one is configured), ``"default": "true"`` on the default store and ``"read-only":
"true"`` on a read-only one - strings, as Glance sends them. The detail adds ``type``,
``weight`` (0: minicloud has no store weights) and the file store's ``properties``
(``data_dir``, ``chunk_size``, ``thin_provisioning``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Flask, Response

from images import access
from images.stores import StoreInfo, delete_copy
from minicloud.errors import Conflict
from minicloud.wsgi import auth, json_response

if TYPE_CHECKING:
    from images.api import ImageAPI


def store_json(info: StoreInfo) -> dict[str, Any]:
    body: dict[str, Any] = {"id": info.id}
    if info.description:
        body["description"] = info.description
    if info.default:
        body["default"] = "true"
    if info.read_only:
        body["read-only"] = "true"
    return body


def store_detail_json(info: StoreInfo, chunk_size: int) -> dict[str, Any]:
    return {**store_json(info), "type": info.type, "weight": 0, "properties": {
        "data_dir": str(info.data_dir) if info.data_dir else None,
        "chunk_size": chunk_size, "thin_provisioning": False}}


def register(app: Flask, api: ImageAPI) -> None:
    deps = api.data.deps
    stores = deps.store

    @app.get("/v2/info/stores")
    def list_stores() -> Response:
        auth()
        return json_response({"stores": [store_json(i) for i in stores.infos.values()]})

    @app.get("/v2/info/stores/detail")
    def list_stores_detail() -> Response:
        ctx = auth()
        deps.policy.enforce("stores_info_detail", ctx.credentials(), {
            "project_id": ctx.project_id, "user_id": ctx.user_id})
        chunk = deps.conf.image.chunk_size
        return json_response({"stores": [store_detail_json(i, chunk)
                                         for i in stores.infos.values()]})

    @app.delete("/v2/stores/<store_id>/<image_id>")
    def delete_from_store(store_id: str, image_id: str) -> Response:
        ctx = auth()
        if store_id not in stores.infos:
            raise Conflict(f"The selected store {store_id} is not available on this node.")
        with deps.db.session() as s:
            image = deps.find(s, ctx, image_id, "get_image_location")
            access.authorize(deps.policy, "delete_image_location", ctx, image)
            # Every session is BEGIN IMMEDIATE (minicloud.db): two requests deleting the
            # last two copies, or one racing an image delete, run one after the other, so
            # "not the last copy" still holds when the file goes.
            delete_copy(stores, store_id, image.id, image.status)
        return Response(status=204)
