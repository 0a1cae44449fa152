"""The event log of a server (``os-instance-actions``): every server operation is an action
carrying the request id its response returned; the agent's task is its event, with the
result; every microversion's shape is Tempest's."""
from __future__ import annotations

from pathlib import Path

from tests.compute_fixtures import *  # noqa: F403
from tests.compute_fixtures import IMAGE_ID, VOLUME_IDS, err, mv
from tests.tempest_schemas import COMPUTE_CLIENTS as CLIENTS
from tests.tempest_schemas import assert_valid

ACTIONS = "/v2.1/servers/{}/os-instance-actions"


def _rid(resp) -> str:
    assert resp.headers["x-openstack-request-id"] == resp.headers["x-compute-request-id"]
    return resp.headers["x-openstack-request-id"]


def _create(env, user: str = "alice", **extra) -> tuple[str, str]:
    body = {"name": "vm", "imageRef": IMAGE_ID, "flavorRef": "6", **extra}
    resp = getattr(env, user).post("/v2.1/servers", json={"server": body})
    assert resp.status_code == 202, resp.get_json()
    return resp.get_json()["server"]["id"], _rid(resp)


def _actions(env, sid: str, who=None, version: str = "2.1", query: str = ""):
    return (who or env.alice).get(ACTIONS.format(sid) + query, headers=mv(version))


def _show(env, sid: str, rid: str, who=None, version: str = "2.1"):
    resp = (who or env.alice).get(f"{ACTIONS.format(sid)}/{rid}", headers=mv(version))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["instanceAction"]


def test_every_operation_is_an_action_with_the_request_id_it_answered(compute_env):
    env = compute_env
    sid, created = _create(env)
    env.work()
    rids = {"create": created}
    for action, body in (("stop", {"os-stop": None}), ("start", {"os-start": None}),
                         ("reboot", {"reboot": {"type": "HARD"}}),
                         ("createImage", {"createImage": {"name": "snap"}})):
        resp = env.alice.post(f"/v2.1/servers/{sid}/action", json=body)
        assert resp.status_code == 202, resp.get_json()
        rids[action] = _rid(resp)
        env.work()
    resp = env.alice.post(f"/v2.1/servers/{sid}/os-volume_attachments",
                          json={"volumeAttachment": {"volumeId": VOLUME_IDS[0]}})
    rids["attach_volume"] = _rid(resp)
    env.work()
    resp = env.alice.delete(f"/v2.1/servers/{sid}/os-volume_attachments/{VOLUME_IDS[0]}")
    rids["detach_volume"] = _rid(resp)
    env.work()
    listed = _actions(env, sid).get_json()["instanceActions"]
    # newest first, each with the id of the request that started it
    assert [(a["action"], a["request_id"]) for a in listed] == list(reversed(rids.items()))
    user_id, project_id = env.alice.get("/v2.1/servers/" + sid).get_json()["server"][
        "user_id"], env.alice.project_id
    assert {(a["instance_uuid"], a["user_id"], a["project_id"], a["message"])
            for a in listed} == {(sid, user_id, project_id, None)}
    events = {name: _show(env, sid, rid, env.admin)["events"] for name, rid in rids.items()}
    assert {name: [(e["event"], e["result"]) for e in ev] for name, ev in events.items()} == {
        "create": [("compute__do_build_and_run_instance", "Success")],
        "stop": [("compute_stop_instance", "Success")],
        "start": [("compute_start_instance", "Success")],
        "reboot": [("compute_reboot_instance", "Success")],
        "createImage": [("compute_snapshot_instance", "Success")],
        "attach_volume": [("compute_attach_volume", "Success")],
        "detach_volume": [("compute_detach_volume", "Success")]}
    for (event,) in events.values():
        assert event["start_time"] <= event["finish_time"]


def test_a_deleted_servers_log_is_listable_from_2_21(compute_env):
    env = compute_env
    sid, _ = _create(env)
    env.work()
    deleted = env.alice.delete(f"/v2.1/servers/{sid}")
    env.work()
    err(_actions(env, sid, version="2.20"), 404, "could not be found")
    listed = _actions(env, sid, env.reader, "2.21").get_json()["instanceActions"]
    assert [(a["action"], a["request_id"]) for a in listed] == [
        ("delete", _rid(deleted)), ("create", listed[1]["request_id"])]
    (event,) = _show(env, sid, _rid(deleted), env.admin, "2.21")["events"]
    assert (event["event"], event["result"]) == ("compute_terminate_instance", "Success")


def test_a_failed_task_is_an_error_event_and_marks_its_action(compute_env):
    env = compute_env
    env.driver.fail_at = "create_dir"
    sid, rid = _create(env)
    env.work()
    assert env.alice.get(f"/v2.1/servers/{sid}").get_json()["server"]["status"] == "ERROR"
    (listed,) = _actions(env, sid).get_json()["instanceActions"]
    assert (listed["action"], listed["message"]) == ("create", "Error")
    admin = _show(env, sid, rid, env.admin, "2.84")
    (event,) = admin["events"]
    assert (event["event"], event["result"], event["host"]) == (
        "compute__do_build_and_run_instance", "Error", "node1")
    assert "injected failure at create_dir" in event["traceback"]
    assert "injected failure at create_dir" in event["details"]
    (mine,) = _show(env, sid, rid, env.alice, "2.84")["events"]
    assert set(mine) == {"event", "start_time", "finish_time", "result", "hostId"}
    assert mine["hostId"] == event["hostId"] != ""


def test_no_valid_host_is_a_scheduling_error_event(compute_env):
    env = compute_env
    env.admin.put("/v2.1/os-services/" + env.admin.get(
        "/v2.1/os-services", headers=mv("2.53")).get_json()["services"][0]["id"],
        json={"status": "disabled"}, headers=mv("2.53"))
    sid, rid = _create(env)
    (event,) = _show(env, sid, rid, env.admin)["events"]
    assert (event["event"], event["result"]) == ("conductor_schedule_and_build_instances",
                                                 "Error")
    assert _show(env, sid, rid)["message"] == "Error"


def test_an_interrupted_task_ends_its_event_at_agent_restart(compute_env):
    env = compute_env
    sid, rid = _create(env)
    env.work()
    resp = env.alice.post(f"/v2.1/servers/{sid}/action", json={"os-stop": None})
    task = env.agent.queue.take()
    env.agent.queue.hooks.started(task)  # the agent died while stopping it
    env.agent.init_host()
    (event,) = _show(env, sid, _rid(resp), env.admin)["events"]
    assert (event["event"], event["result"]) == ("compute_stop_instance", "Error")
    assert "agent restart" in event["traceback"]


def test_events_and_their_fields_per_microversion_and_role(compute_env):
    env = compute_env
    sid, rid = _create(env)
    env.work()
    keys = {(who, v): [set(e) for e in _show(env, sid, rid, getattr(env, who), v).get(
        "events", [{"no events"}])]
        for who in ("reader", "admin") for v in ("2.1", "2.50", "2.51", "2.62", "2.84")}
    assert keys[("reader", "2.1")] == keys[("reader", "2.50")] == [{"no events"}]
    base = {"event", "start_time", "finish_time", "result"}
    assert keys[("reader", "2.51")] == [base]
    assert keys[("reader", "2.62")] == keys[("reader", "2.84")] == [base | {"hostId"}]
    assert keys[("admin", "2.1")] == keys[("admin", "2.51")] == [base | {"traceback"}]
    assert keys[("admin", "2.62")] == [base | {"traceback", "host", "hostId"}]
    assert keys[("admin", "2.84")] == [base | {"traceback", "host", "hostId", "details"}]
    action_keys = {"action", "instance_uuid", "request_id", "user_id", "project_id",
                   "start_time", "message"}
    assert set(_actions(env, sid, version="2.57").get_json()["instanceActions"][0]) == \
        action_keys
    assert set(_actions(env, sid, version="2.58").get_json()["instanceActions"][0]) == \
        action_keys | {"updated_at"}


def test_refusals(compute_env):
    env = compute_env
    sid, rid = _create(env)
    err(env.alice.get(f"{ACTIONS.format(sid)}/req-unknown"), 404, "Action req-unknown not found")
    err(env.alice.get(ACTIONS.format("0c1f6f5e-0000-4000-8000-000000000000")), 404,
        "could not be found")
    err(env.bob.get(ACTIONS.format(sid)), 404, "could not be found")
    err(env.bob.get(f"{ACTIONS.format(sid)}/{rid}"), 404, "could not be found")
    assert env.admin.get(ACTIONS.format(sid)).status_code == 200


def test_pages_and_time_filters_from_2_58(compute_env):
    env = compute_env
    sid, _ = _create(env)
    env.work()
    for body in ({"os-stop": None}, {"os-start": None}):
        env.alice.post(f"/v2.1/servers/{sid}/action", json=body)
        env.work()
    full = _actions(env, sid, version="2.58").get_json()
    assert "links" not in full and [a["action"] for a in full["instanceActions"]] == [
        "start", "stop", "create"]
    seen, query = [], "?limit=2"
    while True:
        page = _actions(env, sid, version="2.58", query=query).get_json()
        seen += [a["request_id"] for a in page["instanceActions"]]
        if "links" not in page:
            break
        (link,) = page["links"]
        assert link["rel"] == "next"
        query = "?" + link["href"].split("?", 1)[1]
    assert seen == [a["request_id"] for a in full["instanceActions"]]
    # limit ignored before 2.58
    assert len(_actions(env, sid, version="2.57", query="?limit=1").get_json()[
        "instanceActions"]) == 3
    newest = full["instanceActions"][0]["updated_at"]
    since = _actions(env, sid, version="2.58", query=f"?changes-since={newest}").get_json()
    assert [a["action"] for a in since["instanceActions"]] == ["start"]
    oldest = full["instanceActions"][-1]["updated_at"]
    before = _actions(env, sid, version="2.66", query=f"?changes-before={oldest}").get_json()
    assert [a["action"] for a in before["instanceActions"]] == ["create"]
    err(_actions(env, sid, version="2.58", query=f"?changes-before={oldest}"), 400,
        "changes-before")
    err(_actions(env, sid, version="2.58", query="?marker=req-nope"), 400, "marker")
    err(_actions(env, sid, version="2.58", query="?limit=-1"), 400, "limit")
    err(_actions(env, sid, version="2.58", query="?changes-since=yesterday"), 400,
        "changes-since")
    err(_actions(env, sid, version="2.66",
                 query=f"?changes-since={newest}&changes-before={oldest}"), 400,
        "changes-since must be less than or equal to changes-before")


TEMPEST_VERSIONS = ("2.1", "2.21", "2.50", "2.51", "2.57", "2.58", "2.62", "2.66", "2.84",
                    "2.96")


def test_bodies_pass_tempest_schemas(compute_env, tmp_path: Path):
    env = compute_env
    env.driver.fail_at = "create_dir"
    failed, failed_rid = _create(env)
    env.work()
    env.driver.fail_at = None
    sid, rid = _create(env)
    env.work()
    for body in ({"os-stop": None}, {"os-start": None}):
        env.alice.post(f"/v2.1/servers/{sid}/action", json=body)
        env.work()
    cases = []
    for version in TEMPEST_VERSIONS:
        for who in (env.reader, env.admin):
            for server, request_id in ((sid, rid), (failed, failed_rid)):
                for op, path in (("list_instance_actions", ACTIONS.format(server)),
                                 ("show_instance_action",
                                  f"{ACTIONS.format(server)}/{request_id}")):
                    query = "?limit=1" if op.startswith("list") and version >= "2.58" \
                        else ""
                    resp = who.get(path + query, headers=mv(version))
                    assert resp.status_code == 200, resp.get_json()
                    cases.append({"client": f"{CLIENTS}.servers_client.ServersClient",
                                  "op": op, "version": version, "status": 200,
                                  "body": resp.get_json()})
    assert_valid(cases, tmp_path)


def test_a_failing_hook_never_changes_how_a_task_ends(compute_env, caplog):
    env = compute_env

    class Broken:
        def started(self, task):
            raise RuntimeError("hook down")

        finished = started

    env.agent.queue.hooks = Broken()
    sid, rid = _create(env)
    env.work()
    assert env.alice.get(f"/v2.1/servers/{sid}").get_json()["server"]["status"] == "ACTIVE"
    assert "task hook started failed" in caplog.text
    assert _show(env, sid, rid, env.admin)["events"] == []  # nothing recorded, nothing lost


def test_a_new_operation_is_logged_without_code_of_its_own(compute_env, monkeypatch):
    """An operation added to the state machine and the agent (as other work adds them) is
    an action named after it, and its task an event, with nothing else to write."""
    from compute import states
    from compute.agent import Agent

    env = compute_env
    sid, _ = _create(env)
    env.work()
    monkeypatch.setitem(states.ACTIONS, "pause", states.Action(
        "pause", frozenset({states.ACTIVE}), "pausing", states.ACTIVE))
    monkeypatch.setattr(Agent, "_do_pause", lambda self, task: self._transition(
        task.instance_id, "pausing", task_state=None), raising=False)
    ctx = env.app.extensions["minicloud"].tokens.validate(env.alice.token)
    env.app.extensions["compute"].service.start_action(ctx, sid, "pause")
    env.work()
    newest = _actions(env, sid).get_json()["instanceActions"][0]
    assert newest["action"] == "pause" and newest["request_id"].startswith("req-")
    (event,) = _show(env, sid, newest["request_id"], env.admin)["events"]
    assert (event["event"], event["result"]) == ("compute_pause_instance", "Success")


def test_a_task_run_again_after_a_restart_continues_its_event(compute_env):
    env = compute_env
    sid, _ = _create(env)
    env.work()
    resp = env.alice.delete(f"/v2.1/servers/{sid}")
    task = env.agent.queue.take()
    env.agent.queue.hooks.started(task)  # the agent died while deleting it
    env.agent.init_host()  # deletes run again
    env.work()
    (event,) = _show(env, sid, _rid(resp), env.admin, "2.21")["events"]
    assert (event["event"], event["result"]) == ("compute_terminate_instance", "Success")
