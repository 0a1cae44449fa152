"""Glance tasks: every import recorded as a task (``/v2/images/{id}/tasks``, API 2.12), the
admin ``/v2/tasks`` API (list with filters, sort and paging; show; create an ``import``
task; delete refused), the published task schemas, and expiry after task_time_to_live."""
from __future__ import annotations

import datetime as dt
import time

import jsonschema
import pytest

from tests.images_fixtures import *  # noqa: F403 - the fixtures
from tests.images_fixtures import err

DATA = bytes(range(250)) * 400
pytestmark = pytest.mark.timeout(60)
OCTETS = {"Content-Type": "application/octet-stream"}


def _ts(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")


def _direct_import(env, user) -> tuple[str, str]:
    """A glance-direct import by ``user``: (image id, request id of the import call)."""
    img = user.create(name="imp", disk_format="raw", container_format="bare")
    assert user.put(f"/v2/images/{img['id']}/stage", data=DATA, headers=OCTETS
                    ).status_code == 204
    resp = user.post(f"/v2/images/{img['id']}/import",
                     json={"method": {"name": "glance-direct"}})
    assert resp.status_code == 202, resp.json
    env.wait_imports()
    return img["id"], resp.headers["X-OpenStack-Request-Id"]


def _web_import(env, user, uri: str) -> str:
    img = user.create(name="web", disk_format="raw", container_format="bare")
    resp = user.post(f"/v2/images/{img['id']}/import",
                     json={"method": {"name": "web-download", "uri": uri}})
    assert resp.status_code == 202, resp.json
    env.wait_imports()
    return img["id"]


def test_an_import_is_a_task_the_image_owner_reads(images_env):
    env = images_env
    image_id, request_id = _direct_import(env, env.alice)
    resp = env.alice.get(f"/v2/images/{image_id}/tasks")
    assert resp.status_code == 200
    [task] = resp.json["tasks"]
    assert task["status"] == "success" and task["type"] == "api_image_import"
    assert task["input"]["import_req"]["method"]["name"] == "glance-direct"
    assert task["input"]["image_id"] == image_id and task["input"]["backend"] == ["file"]
    assert task["request_id"] == request_id          # what Tempest compares
    assert task["result"] == {"image_id": image_id} and task["message"] == ""
    assert task["owner"] == env.alice.project_id and task["image_id"] == image_id
    assert task["deleted"] is False and task["deleted_at"] is None
    # finished: kept for task_time_to_live (48 h) from its last update
    ttl = _ts(task["expires_at"]) - _ts(task["updated_at"])
    assert dt.timedelta(hours=47, minutes=59) <= ttl <= dt.timedelta(hours=48, seconds=1)
    # another project cannot see the image, so not its tasks either
    err(env.bob.get(f"/v2/images/{image_id}/tasks"), 404, image_id)
    # a reader of the owner project reads them (get_image)
    assert env.reader.get(f"/v2/images/{image_id}/tasks").json["tasks"][0]["id"] == task["id"]


def test_a_failed_import_is_a_failed_task_with_its_reason(images_env, http_files):
    env = images_env
    base, _ = http_files
    image_id = _web_import(env, env.alice, f"{base}/missing.raw")
    [task] = env.alice.get(f"/v2/images/{image_id}/tasks").json["tasks"]
    assert task["status"] == "failure" and "HTTP 404" in task["message"]
    assert task["result"] is None and task["expires_at"] is not None
    assert env.alice.show(image_id)["status"] == "queued"


def test_task_api_is_admin_only_and_matches_its_schemas(images_env):
    env = images_env
    image_id, _ = _direct_import(env, env.alice)
    for user in (env.alice, env.reader, env.bob):
        err(user.get("/v2/tasks"), 403, "tasks_api_access")
    listing = env.admin.get("/v2/tasks")
    assert listing.status_code == 200
    body = listing.json
    jsonschema.validate(body, env.admin.get("/v2/schemas/tasks").json)
    assert body["first"] == "/v2/tasks" and body["schema"] == "/v2/schemas/tasks"
    [entry] = body["tasks"]
    assert not {"input", "result", "message"} & set(entry)   # the list form
    assert entry["self"] == f"/v2/tasks/{entry['id']}" and entry["image_id"] == image_id
    shown = env.admin.get(entry["self"])
    assert shown.status_code == 200
    task_schema = env.admin.get("/v2/schemas/task").json
    assert task_schema["name"] == "task" and "additionalProperties" not in task_schema
    jsonschema.validate(shown.json, task_schema)
    assert shown.json["input"]["import_req"]["method"]["name"] == "glance-direct"
    err(env.alice.get(entry["self"]), 403, "tasks_api_access")
    err(env.admin.get("/v2/tasks/00000000-0000-4000-8000-000000000000"), 404, "not found")
    resp = env.admin.delete(entry["self"])
    assert resp.status_code == 405 and resp.headers["Allow"] == "GET"
    assert env.admin.get(entry["self"]).status_code == 200


def test_task_list_filters_sorts_and_pages(images_env, http_files):
    env = images_env
    base, root = http_files
    (root / "d.raw").write_bytes(DATA)
    ok = [_direct_import(env, env.alice)[0] for _ in range(2)]
    ok.append(_web_import(env, env.bob, f"{base}/d.raw"))
    failed = _web_import(env, env.alice, f"{base}/nope.raw")

    def ids(query: str) -> list[str]:
        resp = env.admin.get(f"/v2/tasks{query}")
        assert resp.status_code == 200, resp.json
        return [t["image_id"] for t in resp.json["tasks"]]

    assert ids("?status=failure") == [failed]
    assert sorted(ids("?status=success")) == sorted(ok)
    assert ids("?type=import") == []
    assert len(ids("?type=api_image_import")) == 4
    assert ids("?sort_dir=asc") == list(reversed(ids("")))    # created_at, desc by default
    assert ids("?sort_key=status&sort_dir=asc")[0] == failed
    first = env.admin.get("/v2/tasks?limit=3&sort_dir=asc").json
    assert len(first["tasks"]) == 3 and "marker=" in first["next"]
    rest = env.admin.get(first["next"]).json
    assert [t["image_id"] for t in first["tasks"] + rest["tasks"]] == ids("?sort_dir=asc")
    assert "next" not in rest
    for query, text in (("?status=done", "Invalid status"), ("?type=export", "Invalid type"),
                        ("?sort_key=owner", "Invalid sort key"),
                        ("?sort_dir=up", "Invalid sort direction"),
                        ("?limit=x", "limit"), ("?limit=-1", "limit"),
                        ("?marker=00000000-0000-4000-8000-000000000000", "marker")):
        err(env.admin.get(f"/v2/tasks{query}"), 400, text)


def test_post_tasks_imports_into_a_new_image(images_env, http_files):
    env = images_env
    base, root = http_files
    (root / "d.raw").write_bytes(DATA)
    body = {"type": "import", "input": {
        "import_from": f"{base}/d.raw", "import_from_format": "raw",
        "image_properties": {"name": "from-task", "min_ram": 64}}}
    resp = env.admin.post("/v2/tasks", json=body)
    assert resp.status_code == 201, resp.json
    task = resp.json
    assert resp.headers["Location"] == f"/v2/tasks/{task['id']}"
    assert task["type"] == "import" and task["status"] in ("pending", "processing", "success")
    assert task["input"] == body["input"]
    env.wait_imports()
    done = env.admin.get(f"/v2/tasks/{task['id']}").json
    assert done["status"] == "success", done
    image = env.admin.show(done["result"]["image_id"])
    assert (image["name"], image["status"], image["size"]) == ("from-task", "active",
                                                                len(DATA))
    assert (image["disk_format"], image["container_format"], image["min_ram"]) == \
        ("raw", "bare", 64)


def test_a_failed_post_task_leaves_no_image(images_env, http_files):
    env = images_env
    base, _root = http_files
    before = {i["id"] for i in env.admin.get("/v2/images").json["images"]}
    body = {"type": "import", "input": {"import_from": f"{base}/missing.raw",
                                        "import_from_format": "raw",
                                        "image_properties": {"name": "t"}}}
    resp = env.admin.post("/v2/tasks", json=body)
    assert resp.status_code == 201, resp.json
    env.wait_imports()
    task = env.admin.get(f"/v2/tasks/{resp.json['id']}").json
    assert task["status"] == "failure" and "404" in task["message"], task
    assert env.admin.get(f"/v2/images/{resp.json['image_id']}").status_code == 404
    assert {i["id"] for i in env.admin.get("/v2/images").json["images"]} == before


def test_post_tasks_refusals(make_images_env):
    env = make_images_env(**{"image.web_download_allowed_ports": "80,443"})
    good = {"import_from": "http://127.0.0.1:9292/x", "import_from_format": "raw",
            "image_properties": {"name": "t"}}
    # a URL the import filter refuses: the task exists and failed; the image it made for
    # the task is removed (Glance's task flow reverts its image)
    resp = env.admin.post("/v2/tasks", json={"type": "import", "input": good})
    assert resp.status_code == 201 and resp.json["status"] == "failure"
    assert "port 9292 is not allowed" in resp.json["message"]
    assert env.admin.get(f"/v2/images/{resp.json['image_id']}").status_code == 404
    for body, text in (({"type": "import"}, "input"),
                       ({"type": "export", "input": good}, "type"),
                       ({"type": "import", "input": {**good, "import_from_format": "exe"}},
                        "import_from_format"),
                       ({"type": "import", "input": {k: v for k, v in good.items()
                                                     if k != "import_from"}}, "import_from"),
                       ({"type": "import", "input": {**good, "image_properties": {
                           "min_ram": -1}}}, "min_ram")):
        err(env.admin.post("/v2/tasks", json=body), 400, text)
    err(env.alice.post("/v2/tasks", json={"type": "import", "input": good}), 403,
        "tasks_api_access")


def test_finished_tasks_expire(make_images_env):
    env = make_images_env(**{"image.task_time_to_live": 0})
    image_id, _ = _direct_import(env, env.alice)
    time.sleep(1.1)   # expires_at is the finish time itself: past now
    assert env.alice.get(f"/v2/images/{image_id}/tasks").json["tasks"] == []
    assert env.admin.get("/v2/tasks").json["tasks"] == []


def test_unfinished_tasks_fail_when_the_service_restarts(images_env):
    """An import the previous process left running (image ``importing``, task
    ``processing``): at start-up the image is re-queued and its task fails."""
    from images.api import create_app
    from images.models import Image, ImageTask

    env = images_env
    img = env.alice.create(name="imp", disk_format="raw", container_format="bare")
    with env.db.session() as s:
        s.get(Image, img["id"]).status = "importing"
        s.add(ImageTask(id="7a5c0000-0000-4000-8000-000000000003", type="api_image_import",
                        status="processing", owner=env.alice.project_id,
                        image_id=img["id"], input={}, message=""))
    create_app(env.conf, env.db)
    [task] = env.alice.get(f"/v2/images/{img['id']}/tasks").json["tasks"]
    assert task["status"] == "failure" and "stopped" in task["message"]
    assert env.alice.show(img["id"])["status"] == "queued"


def test_a_legacy_tasks_image_goes_when_the_service_restarts(images_env):
    """A ``POST /v2/tasks`` import the previous process left unfinished fails at start-up,
    and the image made for it is removed, as when the task fails while running."""
    from images.api import create_app
    from images.models import Image, ImageTask

    env = images_env
    image = env.admin.create(name="legacy", disk_format="raw", container_format="bare")
    with env.db.session() as s:
        s.get(Image, image["id"]).status = "importing"
        s.add(ImageTask(id="7a5c0000-0000-4000-8000-000000000001", type="import",
                        status="processing", owner="p", image_id=image["id"], input={},
                        message=""))
    create_app(env.conf, env.db)
    task = env.admin.get("/v2/tasks/7a5c0000-0000-4000-8000-000000000001").json
    assert task["status"] == "failure" and "stopped" in task["message"]
    err(env.admin.get(f"/v2/images/{image['id']}"), 404, image["id"])


def test_a_legacy_task_whose_image_went_active_succeeds_at_restart(images_env):
    """The process died after the import's last step made the image active and before the
    task was marked: at start-up the task succeeds and the image, with its data, stays."""
    from images.api import create_app
    from images.models import ImageTask

    env = images_env
    image = env.admin.create(name="done", disk_format="raw", container_format="bare")
    assert env.admin.upload(image["id"], DATA).status_code == 204
    with env.db.session() as s:
        s.add(ImageTask(id="7a5c0000-0000-4000-8000-000000000002", type="import",
                        status="processing", owner="p", image_id=image["id"], input={},
                        message=""))
    create_app(env.conf, env.db)
    task = env.admin.get("/v2/tasks/7a5c0000-0000-4000-8000-000000000002").json
    assert task["status"] == "success" and task["result"] == {"image_id": image["id"]}
    assert env.admin.show(image["id"])["status"] == "active"
    assert env.admin.get(f"/v2/images/{image['id']}/file").data == DATA


def test_only_an_image_without_data_is_discarded(images_env):
    """``discard_failed`` removes a failed task's queued image, never an active one (an
    import that failed after its image went active keeps its data) and never raises."""
    env = images_env
    images = env.app.extensions["images"].images
    queued = env.admin.create(name="q", disk_format="raw", container_format="bare")
    active = env.admin.create(name="a", disk_format="raw", container_format="bare")
    assert env.admin.upload(active["id"], DATA).status_code == 204
    images.discard_failed([queued["id"], active["id"], "no-such-image", queued["id"]])
    err(env.admin.get(f"/v2/images/{queued['id']}"), 404, queued["id"])
    assert env.admin.show(active["id"])["status"] == "active"
