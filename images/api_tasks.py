"""Glance's task routes: ``/v2/tasks`` (list, create, show) and ``/v2/images/{id}/tasks``.

Routes only; the records and their policy live in ``images.tasks``, the import a task runs
in ``images.imports``. ``DELETE /v2/tasks/{id}`` is a 405 as in Glance (tasks expire).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, Response, request

from images import schema
from images.tasks import image_task_json, task_json
from minicloud.errors import MethodNotAllowed
from minicloud.validation import validate
from minicloud.wsgi import auth, body_schema, json_body, json_response, request_id

if TYPE_CHECKING:
    from images.api import ImageAPI


def register(app: Flask, api: ImageAPI) -> None:
    tasks = api.imports.tasks

    @app.get("/v2/tasks")
    def list_tasks() -> Response:
        page = tasks.list(auth(), request.args)
        body = {"tasks": [task_json(t, full=False) for t in page.tasks],
                "first": page.first, "schema": "/v2/schemas/tasks"}
        if page.next is not None:
            body["next"] = page.next
        return json_response(body)

    @app.post("/v2/tasks")
    @body_schema(schema.TASK_CREATE)
    def create_task() -> Response:
        ctx = auth()
        tasks.authorize(ctx, "add_task")
        task_input = json_body(dict)["input"]
        image_body = {"container_format": "bare",
                      "disk_format": task_input["import_from_format"],
                      **task_input["image_properties"]}
        image = api.images.create(ctx, validate(image_body, schema.CREATE))
        task_id = api.imports.start_task(ctx, image.id, task_input, request_id())
        return json_response(task_json(tasks.get(ctx, task_id)), 201,
                             {"Location": f"/v2/tasks/{task_id}"})

    @app.get("/v2/tasks/<task_id>")
    def show_task(task_id: str) -> Response:
        return json_response(task_json(tasks.get(auth(), task_id)))

    @app.delete("/v2/tasks/<task_id>")
    def delete_task(task_id: str) -> Response:
        tasks.authorize(auth(), "modify_task")
        exc = MethodNotAllowed("This operation is currently not permitted on Glance Tasks. "
                               "They are auto deleted after reaching the time based on "
                               "their expires_at property.")
        return json_response(exc.to_dict(), exc.status, {"Allow": "GET"})

    @app.get("/v2/images/<image_id>/tasks")
    def image_tasks(image_id: str) -> Response:
        return json_response({"tasks": [image_task_json(t)
                                        for t in tasks.for_image(auth(), image_id)]})
