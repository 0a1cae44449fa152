"""The API layer every service shares: request ids, safe JSON bodies, schemas, paging, shapes."""
from __future__ import annotations

import io
import json
import logging

import pytest
from flask import Flask, g

from minicloud import client
from minicloud.config import Config
from minicloud.db import Database
from minicloud.errors import BadRequest
from minicloud.microversion import Version, shape
from minicloud.paging import Page, next_href
from minicloud.validation import (
    BOOLEAN,
    NAME,
    NON_NEGATIVE_INT,
    parse_json,
    query_bool,
    query_int,
    validate,
)
from minicloud.wsgi import (
    RequestIdFilter,
    body_schema,
    create_app,
    json_body,
    json_response,
    public,
)

THING = {"type": "object", "properties": {"thing": {
    "type": "object", "properties": {"name": NAME, "size": NON_NEGATIVE_INT},
    "required": ["name"], "additionalProperties": False}},
    "required": ["thing"], "additionalProperties": False}
THING_V2 = {"type": "object", "properties": {"thing": {"type": "object"}},
            "required": ["thing"]}


@pytest.fixture
def app(tmp_path) -> Flask:
    conf = Config.load(tmp_path, environ={}, overrides={"max_request_body_size": "64K"})
    app = create_app("test", conf, Database(conf.database_url),
                     request_id_headers=("x-openstack-request-id", "x-compute-request-id"))

    @app.before_request
    def _mv() -> None:
        from flask import request
        g.mv = Version(2, int(request.headers.get("X-Minor", "1")))

    @app.post("/things")
    @public
    @body_schema(THING_V2, min_minor=50)
    @body_schema(THING, max_minor=49)
    def create_thing():
        seen = {"id": g.request_id, "global": g.get("global_request_id"),
                "passed_on": client.GLOBAL_REQUEST_ID.get()}
        return json_response({"thing": json_body()["thing"], "seen": seen}, 201)

    @app.post("/raw")
    @public
    def raw():
        return json_response(json_body(list))

    return app


def _post(app: Flask, body, path: str = "/things", **headers):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return app.test_client().post(path, data=data, headers={
        "Content-Type": "application/json", **headers})


def _message(resp) -> str:
    (detail,) = resp.json.values()
    assert detail["code"] == resp.status_code
    return detail["message"]


# -- request ids --------------------------------------------------------------------------
def test_every_response_carries_a_fresh_request_id_in_each_header(app):
    ok = _post(app, {"thing": {"name": "a"}})
    bad = _post(app, {"thing": {}})
    missing = app.test_client().get("/nowhere")
    unauth = app.test_client().get("/healthcheck")
    ids = set()
    for resp in (ok, bad, missing, unauth):
        rid = resp.headers["x-openstack-request-id"]
        assert rid.startswith("req-") and len(rid) == 40
        assert resp.headers["x-compute-request-id"] == rid
        ids.add(rid)
    assert len(ids) == 4
    assert ok.json["seen"]["id"] == ok.headers["x-openstack-request-id"]


def test_a_callers_request_id_is_kept_as_global_and_passed_on(app):
    caller = "req-12345678-1234-1234-1234-123456789abc"
    resp = _post(app, {"thing": {"name": "a"}}, **{"X-OpenStack-Request-ID": caller})
    seen = resp.json["seen"]
    assert seen["global"] == caller and seen["passed_on"] == caller
    assert resp.headers["x-openstack-request-id"] != caller   # a local id of its own
    forged = _post(app, {"thing": {"name": "a"}}, **{"X-OpenStack-Request-ID": "req-forged"})
    assert forged.json["seen"]["global"] is None
    assert forged.json["seen"]["passed_on"] == forged.headers["x-openstack-request-id"]


def test_log_records_name_the_request(app, caplog):
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "hello", None, None)
    with app.test_request_context("/"):
        g.request_id, g.global_request_id = "req-local", "req-global"
        RequestIdFilter().filter(record)
    assert record.request_id == "req-local req-global"
    outside = logging.LogRecord("t", logging.INFO, __file__, 1, "hello", None, None)
    RequestIdFilter().filter(outside)
    assert outside.request_id == "-"


# -- bodies -------------------------------------------------------------------------------
@pytest.mark.parametrize("body, text", [
    (b"{", "not valid JSON"),
    ("[" * 20_000 + "]" * 20_000, "nested deeper"),
    ("[" * 65 + "]" * 65, "nested deeper"),   # 64 levels pass, 65 do not
    ('{"thing": {"name": "\\ud800"}}', "lone surrogates"),
    ('{"thing": {"name": "a\\u0000b"}}', "NUL"),
    ('{"thing": {"name": "a", "size": 123456789012345678901234567890}}', "64-bit"),
    ('{"thing": {"name": "a", "size": NaN}}', "not a JSON number"),
    ('{"thing": {"name": "a", "size": "\u00b2"}}', "size"),
    ('{"thing": {"name": "a", "size": "99999999999999999999"}}', "size"),
    ('{"thing": {"name": "a\\u0001"}}', "name"),
    ('{"thing": {"name": " padded "}}', "name"),
    ('{"thing": {"name": "a", "colour": "red"}}', "Additional properties"),
    ('{"thing": {"name": 7}}', "name"),
    ('{"thing": {}}', "'name' is a required property"),
    ('[]', "expected a JSON object"),
])
def test_hostile_or_invalid_bodies_are_400_with_a_reason(app, body, text):
    resp = _post(app, body)
    assert resp.status_code == 400, resp.data
    assert text.lower() in _message(resp).lower()


def test_bodies_over_the_limit_are_413_without_being_read(app):
    resp = _post(app, {"thing": {"name": "x" * 70_000}})
    assert resp.status_code == 413
    assert "larger than 65536 bytes" in _message(resp)
    chunked = app.test_client().post(
        "/things", input_stream=io.BytesIO(b" " * 70_000 + b"{}"),
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True})  # as gunicorn marks chunked input
    assert chunked.status_code == 413


def test_the_schema_follows_the_microversion(app):
    loose = {"thing": {"name": "a", "colour": "red"}}
    assert _post(app, loose, **{"X-Minor": "49"}).status_code == 400
    assert _post(app, loose, **{"X-Minor": "50"}).status_code == 201
    assert [s[0] for s in app.view_functions["create_thing"].minicloud_schemas] == \
        [THING_V2, THING]


def test_views_without_a_schema_still_parse_safely(app):
    assert _post(app, ["a", 1], "/raw").json == ["a", 1]
    assert _post(app, {"a": 1}, "/raw").status_code == 400


def test_parse_and_validate_directly():
    assert parse_json(b'{"a": [1, 2.5, "x"]}') == {"a": [1, 2.5, "x"]}
    assert parse_json(str(2 ** 63 - 1)) == 2 ** 63 - 1
    with pytest.raises(BadRequest, match="nested deeper"):
        parse_json("[" * 100_000 + "]" * 100_000)
    with pytest.raises(BadRequest):
        parse_json(str(2 ** 63))
    assert validate({"on": "yes"}, {"properties": {"on": BOOLEAN}}) == {"on": "yes"}
    with pytest.raises(BadRequest, match="on"):
        validate({"on": "maybe"}, {"properties": {"on": BOOLEAN}})


@pytest.mark.parametrize("raw, expect", [("5", 5), ("0", 0), (None, 7), ("", 7)])
def test_query_int_accepts_ascii_digits(raw, expect):
    args = {} if raw is None else {"limit": raw}
    assert query_int(args, "limit", 7) == expect


@pytest.mark.parametrize("raw", ["\u00b2", "1.5", "-1", "abc", "9" * 40, "\u0661"])
def test_query_int_refuses_everything_else(raw):
    with pytest.raises(BadRequest, match="limit"):
        query_int({"limit": raw}, "limit", 7)


def test_query_bool():
    assert query_bool({"x": "True"}, "x") is True and query_bool({"x": "0"}, "x") is False
    assert query_bool({}, "x", None) is None
    with pytest.raises(BadRequest):
        query_bool({"x": "sure"}, "x")


# -- paging and shapes --------------------------------------------------------------------
ITEMS = [f"id{i}" for i in range(7)]


def test_paging_sees_every_item_once_and_stops():
    seen, marker = [], None
    for _ in range(10):
        page = Page.from_args({"limit": "3", **({"marker": marker} if marker else {})})
        items = page.apply(ITEMS, str)
        seen += items
        marker = page.next_marker(items, str)
        if marker is None:
            break
    assert seen == ITEMS


def test_paging_edges():
    assert Page.from_args({}).apply(ITEMS, str) == ITEMS
    assert Page.from_args({"limit": "5000"}).limit == 1000
    full = Page.from_args({"limit": "7"})
    assert full.next_marker(full.apply(ITEMS, str), str) == "id6"  # full page: a next link
    with pytest.raises(BadRequest, match="marker"):
        Page.from_args({"marker": "nope"}).apply(ITEMS, str)
    href = next_href("http://h/v2.1/servers", {"limit": "3", "marker": "a", "name": "x y"}, "b")
    assert href == "http://h/v2.1/servers?limit=3&name=x+y&marker=b"


def test_shape_keeps_fields_of_the_negotiated_version():
    body = {"id": 1, "description": "d", "extra_specs": {}, "old": True}
    since, until = {"description": 55, "extra_specs": 61}, {"old": 47}
    assert shape(body, Version(2, 1), since, until) == {"id": 1, "old": True}
    assert shape(body, Version(2, 55), since, until) == {"id": 1, "description": "d"}
    assert shape(body, Version(2, 96), since, until) == {
        "id": 1, "description": "d", "extra_specs": {}}
