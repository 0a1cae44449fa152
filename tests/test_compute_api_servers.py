"""Servers over the compute API in-process: create (and every refusal, Nova's way), update,
metadata, actions, delete; the list's pages, order and filters; the name pattern."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from compute.models import ComputeTask
from compute.server_query import NamePattern
from tests.compute_fixtures import *  # noqa: F403
from tests.compute_fixtures import IMAGE_ID, VOLUME_IDS, err, mv

SERVER = {"name": "vm", "imageRef": IMAGE_ID, "flavorRef": "6"}


def create(env, headers=None, **server):
    return env.alice.post("/v2.1/servers", json={"server": {**SERVER, **server}},
                          headers=headers or {})


def test_create_answers_202_with_location_and_request_ids(compute_env):
    resp = create(compute_env, metadata={"course": "os101"}, description=None,
                  headers=mv("2.19"))
    assert resp.status_code == 202
    body = resp.get_json()["server"]
    assert set(body) == {"id", "links", "OS-DCF:diskConfig", "security_groups", "adminPass"}
    assert resp.headers["Location"].endswith(f"/v2.1/servers/{body['id']}")
    assert resp.headers["x-compute-request-id"] == resp.headers["x-openstack-request-id"]
    assert resp.headers["x-compute-request-id"].startswith("req-")
    compute_env.work()
    shown = compute_env.alice.get(f"/v2.1/servers/{body['id']}").get_json()["server"]
    assert (shown["status"], shown["metadata"]) == ("ACTIVE", {"course": "os101"})


@pytest.mark.parametrize("server, version, status, message", [
    ({"name": "bad\x01name"}, "2.1", 400, "name"),
    ({"name": " lead"}, "2.1", 400, "name"),
    ({"name": "trail "}, "2.1", 400, "name"),
    ({"name": ""}, "2.1", 400, "name"),
    ({"name": "x" * 256}, "2.1", 400, "name"),
    ({"imageRef": "not-a-uuid"}, "2.1", 400, "imageRef"),
    ({"imageRef": "9d7f9d6e-0000-4000-8000-000000000000"}, "2.1", 400, "could not be found"),
    ({"flavorRef": "99"}, "2.1", 400, "Flavor 99 could not be found"),
    ({"flavorRef": ""}, "2.1", 400, "flavorRef"),
    ({"metadata": {"k": 1}}, "2.1", 400, "metadata"),
    ({"metadata": {"bad/key": "v"}}, "2.1", 400, "'bad/key' does not match"),
    ({"metadata": {"k": "v" * 256}}, "2.1", 400, "metadata"),
    ({"networks": [{"uuid": "9d7f9d6e-0000-4000-8000-000000000000"}]}, "2.1", 400,
     "networks"),
    ({"networks": "public"}, "2.37", 400, "networks"),
    ({}, "2.37", 400, "'networks' is a required property"),
    ({"key_name": "mykey"}, "2.1", 400, "Invalid key_name provided"),
    ({"security_groups": [{"name": "web"}]}, "2.1", 400, "security_group"),
    ({"min_count": 3, "max_count": 2}, "2.1", 400, "min_count"),
    ({"max_count": 0}, "2.1", 400, "max_count"),
    ({"user_data": "not base64!"}, "2.1", 400, "user_data"),
    ({"user_data": "QQ" * 40000}, "2.1", 400, "user_data"),
    ({"description": "d"}, "2.18", 400, "description"),
    ({"description": "d" * 256}, "2.19", 400, "description"),
    ({"description": "x" * (1 << 20)}, "2.19", 413, "larger than"),
    ({"personality": []}, "2.1", 400, "personality"),
    ({"tags": ["a"]}, "2.96", 400, "tags"),
    ({"availability_zone": "nova:node1"}, "2.1", 403, "forced_host"),
    ({"host": "node1", "networks": "none"}, "2.74", 403, "requested_destination"),
    ({"block_device_mapping_v2": [{"source_type": "volume", "uuid": VOLUME_IDS[0],
                                   "destination_type": "volume", "boot_index": "x"}]},
     "2.1", 400, "boot_index"),
])
def test_create_refusals(compute_env, server, version, status, message):
    err(create(compute_env, headers=mv(version), **server), status, message)
    assert compute_env.alice.get("/v2.1/servers").get_json()["servers"] == []


def test_create_accepts_what_nova_and_the_clients_send(compute_env):
    for server, version in (({"networks": "auto"}, "2.37"), ({"networks": "none"}, "2.96"),
                            ({"networks": []}, "2.1"), ({"flavorRef": 6}, "2.1"),
                            ({"flavorRef": "http://localhost/flavors/6"}, "2.1"),
                            ({"security_groups": [{"name": "default"}]}, "2.1"),
                            ({"min_count": "1", "max_count": 1}, "2.1"),
                            ({"user_data": "aGVsbG8=\n"}, "2.1"),
                            ({"OS-DCF:diskConfig": "AUTO"}, "2.1")):
        resp = create(compute_env, headers=mv(version), **server)
        assert resp.status_code == 202, (server, resp.get_json())


def test_admin_may_ask_for_a_host(compute_env):
    resp = compute_env.admin.post("/v2.1/servers", headers=mv("2.74"), json={"server": {
        **SERVER, "networks": "none", "host": "node1"}})
    assert resp.status_code == 202, resp.get_json()
    resp = compute_env.admin.post("/v2.1/servers", json={"server": {
        **SERVER, "availability_zone": "nova:node1"}})
    assert resp.status_code == 202


def test_update_name_and_description(compute_env):
    sid = compute_env.create_server()
    resp = compute_env.alice.put(f"/v2.1/servers/{sid}", headers=mv("2.19"),
                                 json={"server": {"name": "new", "description": "lab"}})
    assert resp.status_code == 200
    assert (resp.get_json()["server"]["name"], resp.get_json()["server"]["description"]) \
        == ("new", "lab")
    err(compute_env.alice.put(f"/v2.1/servers/{sid}", json={"server": {"description": "x"}}),
        400, "description")
    err(compute_env.alice.put(f"/v2.1/servers/{sid}", json={"server": {"name": "a\nb"}}),
        400, "name")
    err(compute_env.alice.put(f"/v2.1/servers/{sid}", json={"server": {"accessIPv4": "1"}}),
        400, "accessIPv4")
    err(compute_env.alice.put(f"/v2.1/servers/{sid}", json=["server"]), 400, "object")
    err(compute_env.bob.put(f"/v2.1/servers/{sid}", json={"server": {"name": "x"}}),
        404, "could not be found")


def test_metadata_routes(compute_env):
    sid = compute_env.create_server()
    base = f"/v2.1/servers/{sid}/metadata"
    alice = compute_env.alice
    assert alice.post(base, json={"metadata": {"a": "1", "b": "2"}}).get_json() == {
        "metadata": {"a": "1", "b": "2"}}
    assert alice.put(f"{base}/c", json={"meta": {"c": "3"}}).get_json() == {"meta": {"c": "3"}}
    assert alice.get(f"{base}/c").get_json() == {"meta": {"c": "3"}}
    assert alice.delete(f"{base}/a").status_code == 204
    assert alice.get(base).get_json() == {"metadata": {"b": "2", "c": "3"}}
    assert alice.put(base, json={"metadata": {"z": "9"}}).get_json() == {
        "metadata": {"z": "9"}}
    err(alice.put(f"{base}/c", json={"meta": {"d": "4"}}), 400, "Request body and URI "
        "mismatch")
    err(alice.put(f"{base}/c", json={"meta": {"c": "3", "d": "4"}}), 400, "meta")
    err(alice.post(base, json={"metadata": []}), 400, "metadata")
    err(alice.post(base, json={"meta": {}}), 400, "metadata")
    err(alice.get(f"{base}/nope"), 404, "Metadata item was not found")
    err(alice.delete(f"{base}/nope"), 404, "Metadata item was not found")
    err(alice.post(base, json={"metadata": {f"k{i}": "v" for i in range(129)}}), 403,
        "Quota exceeded")


def test_actions(compute_env):
    env = compute_env
    sid = env.create_server()
    action = f"/v2.1/servers/{sid}/action"
    assert env.alice.post(action, json={"os-stop": None}).status_code == 202
    env.work()
    err(env.alice.post(action, json={"os-stop": None}), 409, "vm_state stopped")
    assert env.alice.post(action, json={"os-start": None}).status_code == 202
    env.work()
    assert env.alice.post(action, json={"reboot": {"type": "hard"}}).status_code == 202
    env.work()
    assert env.alice.get(f"/v2.1/servers/{sid}").get_json()["server"]["status"] == "ACTIVE"
    old = env.alice.post(action, json={"createImage": {"name": "snap"}})
    assert old.status_code == 202 and old.get_data() == b""  # no body before 2.45
    assert "/v2/images/" in old.headers["Location"]
    env.work()
    new = env.alice.post(action, json={"createImage": {"name": "s2", "metadata": {"a": "b"}}},
                         headers=mv("2.45"))
    assert set(new.get_json()) == {"image_id"}
    env.work()
    assert env.images.images[new.get_json()["image_id"]]["a"] == "b"
    out = env.alice.post(action, json={"os-getConsoleOutput": {"length": 5}})
    assert out.status_code == 200 and out.get_json() == {"output": ""}


@pytest.mark.parametrize("body, message", [
    ({"reboot": {"type": "SOFTLY"}}, "type"),
    ({"reboot": {}}, "type"),
    ({"reboot": None}, "reboot"),
    ({"createImage": {"name": "s", "metadata": []}}, "metadata"),
    ({"createImage": {"metadata": {}}}, "name"),
    ({"createImage": {"name": "\x7f"}}, "name"),
    ({"os-getConsoleOutput": {"length": "-2"}}, "length"),
    ({"os-getConsoleOutput": {"length": -5}}, "length"),
    ({"os-getConsoleOutput": {"length": "ten"}}, "length"),
    ({"os-stop": None, "os-start": None}, "has too many properties"),
    ({}, "should be non-empty"),
    ({"rebuild": {}}, "rebuild"),
])
def test_action_refusals(compute_env, body, message):
    sid = compute_env.create_server()
    err(compute_env.alice.post(f"/v2.1/servers/{sid}/action", json=body), 400, message)


def test_delete(compute_env):
    sid = compute_env.create_server()
    assert compute_env.alice.delete(f"/v2.1/servers/{sid}").status_code == 204
    compute_env.work()
    err(compute_env.alice.get(f"/v2.1/servers/{sid}"), 404, "could not be found")
    err(compute_env.alice.delete(f"/v2.1/servers/{sid}"), 404, "could not be found")


# -- the list ----------------------------------------------------------------------------------
def _ids(resp) -> list[str]:
    assert resp.status_code == 200, resp.get_json()
    return [s["id"] for s in resp.get_json()["servers"]]


def test_paging_through_seven_servers_with_limit_3_sees_each_once(compute_env):
    made = [compute_env.create_server(name=f"p{i}", active=False) for i in range(7)]
    for path in ("/v2.1/servers", "/v2.1/servers/detail"):
        seen, url, pages = [], f"{path}?limit=3", 0
        while url:
            resp = compute_env.alice.get(url)
            seen += _ids(resp)
            pages += 1
            links = resp.get_json().get("servers_links") or []
            url = links[0]["href"].removeprefix("http://localhost") if links else None
            assert not links or links[0]["rel"] == "next"
        assert sorted(seen) == sorted(made) and len(seen) == 7
        assert pages == 3 and seen == list(reversed(made))  # newest first


def test_unknown_marker_and_bad_limits_are_400(compute_env):
    compute_env.create_server(active=False)
    err(compute_env.alice.get("/v2.1/servers?marker=nope"), 400, "marker [nope] not found")
    err(compute_env.alice.get("/v2.1/servers?limit=-1"), 400, "limit")
    err(compute_env.alice.get("/v2.1/servers?limit=testing"), 400, "limit")
    err(compute_env.alice.get("/v2.1/servers?limit=%C2%B2"), 400, "limit")


def test_sort_keys_and_directions(compute_env):
    ids = {name: compute_env.create_server(name=name, active=False) for name in "bca"}
    by_name = _ids(compute_env.alice.get("/v2.1/servers?sort_key=display_name&sort_dir=asc"))
    assert by_name == [ids["a"], ids["b"], ids["c"]]
    oldest = _ids(compute_env.alice.get("/v2.1/servers?sort_key=created_at&sort_dir=asc"))
    assert oldest == [ids["b"], ids["c"], ids["a"]]
    err(compute_env.alice.get("/v2.1/servers?sort_key=bogus"), 400, "sort_key")
    err(compute_env.alice.get("/v2.1/servers?sort_key=display_name&sort_dir=up"), 400,
        "sort_dir")
    assert len(_ids(compute_env.alice.get("/v2.1/servers?sort_key=vcpus"))) == 3  # ignored
    err(compute_env.alice.get("/v2.1/servers?sort_key=vcpus", headers=mv("2.75")), 400,
        "sort_key")


def test_filters(compute_env):
    env = compute_env
    one = env.create_server(name="web-instance-1")
    two = env.create_server(name="web-instance-22")
    env.alice.post(f"/v2.1/servers/{two}/action", json={"os-stop": None})
    env.work()
    get = env.alice.get
    assert _ids(get("/v2.1/servers?name=-instance-1")) == [one]
    assert sorted(_ids(get(r"/v2.1/servers?name=^.*\-instance\-[0-9]%2B$"))) == sorted(
        [one, two])
    assert _ids(get("/v2.1/servers?status=SHUTOFF")) == [two]
    assert _ids(get("/v2.1/servers?status=nonsense")) == []
    err(get("/v2.1/servers?status=nonsense", headers=mv("2.38")), 400, "status")
    assert sorted(_ids(get(f"/v2.1/servers?image={IMAGE_ID}"))) == sorted([one, two])
    assert _ids(get("/v2.1/servers?flavor=1")) == []
    assert _ids(get("/v2.1/servers?changes-since=2051-01-01T12:34:00Z")) == []
    assert len(_ids(get("/v2.1/servers?changes-since=2001-01-01T00:00:00Z"))) == 2
    err(get("/v2.1/servers?changes-since=2011/01/01"), 400, "changes-since")
    assert len(_ids(get("/v2.1/servers?locked=false", headers=mv("2.73")))) == 2
    err(get("/v2.1/servers?locked=maybe", headers=mv("2.73")), 400, "locked")
    assert len(_ids(get("/v2.1/servers?host=elsewhere"))) == 2  # admin filter: dropped
    assert _ids(env.admin.get("/v2.1/servers?all_tenants=1&host=elsewhere")) == []
    err(get("/v2.1/servers?bogus=1", headers=mv("2.75")), 400, "bogus")


def test_changes_since_lists_deleted_servers(compute_env):
    sid = compute_env.create_server()
    compute_env.alice.delete(f"/v2.1/servers/{sid}")
    compute_env.work()
    assert _ids(compute_env.alice.get("/v2.1/servers")) == []
    (gone,) = compute_env.alice.get("/v2.1/servers/detail?changes-since=2001-01-01T00:00:00Z"
                                    ).get_json()["servers"]
    assert (gone["id"], gone["status"]) == (sid, "DELETED")


def test_all_tenants_is_for_admins(compute_env):
    mine = compute_env.create_server()
    err(compute_env.alice.get("/v2.1/servers?all_tenants=1"), 403, "get_all_tenants")
    assert _ids(compute_env.admin.get("/v2.1/servers")) == []
    assert _ids(compute_env.admin.get("/v2.1/servers/detail?all_tenants=true")) == [mine]
    assert _ids(compute_env.admin.get(
        f"/v2.1/servers?all_tenants=1&project_id={compute_env.bob.project_id}")) == []


@pytest.mark.parametrize("pattern, name, found", [
    ("vm", "my-vm-1", True), ("^vm", "my-vm", False), ("vm$", "my-vm", True),
    ("^my.vm$", "my-vm", True), ("^my.*1$", "my-vm-1", True), ("^.*$", "", True),
    ("v[a-m]+", "vm", True), ("[^a-z]", "abc", False), (r"\d\d", "a12", True),
    (r"a\.b", "a.b", True), (r"a\.b", "axb", False), ("vm(1)+", "vm(1)+", True),
    ("(a+)+$", "aaaa", False), ("(a+)+$", "x(aa)))", True), ("a|b", "a", False),
    ("colou?r", "color", True), ("[", "a[b", True), ("x*", "", True),
])
def test_name_pattern(pattern, name, found):
    assert NamePattern(pattern).matches(name) is found


def test_name_pattern_takes_linear_time():
    """A classic catastrophic-backtracking pattern against a long non-matching name."""
    start = time.monotonic()
    for pattern in ("(a+)+$", "^(a|aa)+$", "^.*.*.*.*.*.*.*.*.*.*b$", "a*a*a*a*a*a*a*a*b"):
        assert NamePattern(pattern).matches("a" * 255 + "!") in (True, False)
    assert time.monotonic() - start < 1.0


def test_microversion_headers_and_refusal(compute_env):
    resp = compute_env.alice.get("/v2.1/servers", headers=mv("2.61"))
    assert resp.headers["OpenStack-API-Version"] == "compute 2.61"
    assert resp.headers["X-OpenStack-Nova-API-Version"] == "2.61"
    err(compute_env.alice.get("/v2.1/servers", headers=mv("2.97")), 406, "2.96")
    assert compute_env.app.test_client().get("/v2.1/").get_json()["version"]["version"] == \
        "2.96"


def test_access_ips_are_kept_and_updated(compute_env):
    env = compute_env
    created = env.alice.post("/v2.1/servers", headers=mv("2.1"), json={"server": {
        "name": "ips", "imageRef": IMAGE_ID, "flavorRef": "6", "accessIPv4": "1.1.1.1",
        "accessIPv6": "0000:0000:0000:0000:0000:babe:220.12.22.2"}})
    assert created.status_code == 202, created.json
    sid = created.json["server"]["id"]
    shown = env.alice.get(f"/v2.1/servers/{sid}", headers=mv("2.1")).json["server"]
    assert (shown["accessIPv4"], shown["accessIPv6"]) == ("1.1.1.1", "::babe:dc0c:1602")
    updated = env.alice.put(f"/v2.1/servers/{sid}", headers=mv("2.1"),
                            json={"server": {"accessIPv4": "2.2.2.2"}})
    assert updated.json["server"]["accessIPv4"] == "2.2.2.2"
    for bad in ({"accessIPv4": "1.1.1"}, {"accessIPv6": "nope"}):
        resp = env.alice.put(f"/v2.1/servers/{sid}", headers=mv("2.1"),
                             json={"server": bad})
        assert resp.status_code == 400, resp.json


def test_every_listed_version_document_is_followable(compute_env):
    """Tempest's test_get_version_details follows each self link of ``GET /``."""
    client = compute_env.app.test_client()
    listed = client.get("/").get_json()["versions"]
    assert [v["id"] for v in listed] == ["v2.0", "v2.1"]
    for entry in listed:
        (self_link,) = [link for link in entry["links"] if link["rel"] == "self"]
        doc = client.get(self_link["href"]).get_json()["version"]
        assert doc["id"] == entry["id"]
        assert [link for link in doc["links"] if link["rel"] == "self"] == [self_link]
        assert doc["media-types"][0]["base"] == "application/json"


def test_create_with_more_metadata_than_the_limit_is_403(compute_env):
    limit = compute_env.alice.get("/v2.1/limits").get_json()["limits"]["absolute"][
        "maxServerMeta"]
    resp = compute_env.alice.post("/v2.1/servers", json={"server": {
        "name": "many", "imageRef": IMAGE_ID, "flavorRef": "6",
        "metadata": {str(i): "v" for i in range(limit + 1)}}})
    assert resp.status_code == 403, resp.get_json()
    assert "metadata_items" in resp.get_json()["forbidden"]["message"]
    assert compute_env.alice.get("/v2.1/servers").get_json()["servers"] == []


def test_console_output_comes_from_the_servers_host(compute_env):
    """The API does not read the host's disk: the agent of the server's host sends the log
    (compute/console.py); the task it answered is gone afterwards."""
    env = compute_env
    server_id = env.create_server()
    log = env.agent.instances_path / server_id / "console.log"
    log.write_text("".join(f"line {i}\n" for i in range(10)))
    action = f"/v2.1/servers/{server_id}/action"
    out = env.alice.post(action, json={"os-getConsoleOutput": {"length": 3}})
    assert out.get_json() == {"output": "line 7\nline 8\nline 9\n"}
    out = env.alice.post(action, json={"os-getConsoleOutput": {}})
    assert out.get_json()["output"].count("\n") == 10
    with env.db.session() as s:
        assert s.scalars(select(ComputeTask).where(ComputeTask.action == "console_log")
                         ).all() == []


def test_console_output_when_the_host_does_not_answer_is_503(compute_env):
    env = compute_env
    server_id = env.create_server()
    reader = env.app.extensions["compute"].console
    reader.pump, reader.timeout = None, 0.2  # no agent runs: nobody answers
    resp = env.alice.post(f"/v2.1/servers/{server_id}/action",
                          json={"os-getConsoleOutput": {}})
    assert resp.status_code == 503
    assert "did not answer" in resp.get_json()["serviceUnavailable"]["message"]
    with env.db.session() as s:  # the unanswered request does not linger for the agent
        assert s.scalars(select(ComputeTask).where(ComputeTask.action == "console_log")
                         ).all() == []
