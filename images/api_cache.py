"""Glance's cache API (2.14, admin only): ``/v2/cache`` and ``/v2/cache/{image_id}``.

Routes only, registered when ``[image] cache_enabled`` (as Glance serves them only with the
cache-management middleware in its pipeline; otherwise they are 404); the logic is in
``images.cache_service``. Bodies are Glance's:
``GET /v2/cache`` -> ``{"cached_images": [{"image_id", "hits", "last_accessed",
"last_modified", "size"}], "queued_images": [ids]}`` (times in epoch seconds, minicloud adds
``misses``); ``PUT /v2/cache/{id}`` -> 202; the deletes -> 204.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, Response, request

from images.cache_service import CLEAR_TARGET_HEADER
from minicloud.wsgi import auth, json_response

if TYPE_CHECKING:
    from images.api import ImageAPI


def register(app: Flask, api: ImageAPI) -> None:
    cache = api.cache
    if cache is None:
        return
    prefetcher = api.prefetcher

    if prefetcher is not None:
        @app.before_request
        def _start_prefetcher() -> None:
            # Here rather than in create_app: gunicorn forks its workers after the app is
            # built, and a thread does not survive the fork.
            prefetcher.ensure_started()

    @app.get("/v2/cache")
    def list_cache() -> Response:
        return json_response(cache.list(auth()))

    @app.put("/v2/cache/<image_id>")
    def queue_image(image_id: str) -> Response:
        cache.queue(auth(), image_id)
        return Response(status=202)

    @app.delete("/v2/cache/<image_id>")
    def delete_cached_image(image_id: str) -> Response:
        cache.delete(auth(), image_id)
        return Response(status=204)

    @app.delete("/v2/cache")
    def clear_cache() -> Response:
        cache.clear(auth(), request.headers.get(CLEAR_TARGET_HEADER))
        return Response(status=204)
