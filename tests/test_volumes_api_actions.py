"""Volume actions beyond extend/bootable/reset (image metadata, os-force_delete), attachment
request bodies per microversion, and hostile bodies on every route that reads one: always
the right 4xx in Cinder's error shape, never a 500."""
from __future__ import annotations

import pytest

from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, err

SERVER = "0b3b4f4e-1111-4c1e-9d7a-3a3a3a3a3a3a"
HOSTILE = [None, [], "x", 7, True, {}, {"": None}, {"volume": None}, {"volume": []},
           {"attachment": "x"}, {"metadata": {"k": {"deep": 1}}}, {"meta": []},
           {"os-extend": {"new_size": 2 ** 62}}, {"os-extend": None},
           {"os-set_bootable": []}, {"os-reset_status": {"status": 5}},
           {"os-set_image_metadata": {"metadata": {"k": 1}}},
           {"os-unset_image_metadata": {"key": ""}}, {"os-complete": None, "x": 1},
           {"volume": {"size": "1" * 40}}, {"volume": {"name": "\u00e9" * 300}}]


def _action(env, vid: str, body, who=None, headers=None):
    return (who or env.alice).post(f"/v3/volumes/{vid}/action", json=body,
                                   headers=headers or MV)


def test_image_metadata_actions(volenv):
    vid = volenv.create(name="img", imageRef="raw-img")["id"]
    volenv.wait(vid, "available")
    shown = _action(volenv, vid, {"os-show_image_metadata": None})
    assert shown.status_code == 200 and shown.json["metadata"]["image_name"] == "raw-img-name"
    merged = _action(volenv, vid, {"os-set_image_metadata": {"metadata": {
        "hw_disk_bus": "scsi", "image_name": "renamed"}}})
    assert merged.status_code == 200
    assert (merged.json["metadata"]["hw_disk_bus"], merged.json["metadata"]["image_name"]) == \
        ("scsi", "renamed")
    assert volenv.show(vid)["volume_image_metadata"]["hw_disk_bus"] == "scsi"
    assert _action(volenv, vid, {"os-unset_image_metadata": {"key": "hw_disk_bus"}}
                   ).status_code == 200
    assert "hw_disk_bus" not in volenv.show(vid)["volume_image_metadata"]
    err(_action(volenv, vid, {"os-unset_image_metadata": {"key": "hw_disk_bus"}}), 404,
        "Glance metadata")
    err(_action(volenv, vid, {"os-set_image_metadata": {"metadata": {"bad key!": "x"}}}),
        400, "'bad key!'")
    err(_action(volenv, vid, {"os-set_image_metadata": {}}), 400, "'metadata' is a required")


def test_a_blank_volume_has_no_image_metadata(volenv):
    vid = volenv.create(name="blank")["id"]
    assert _action(volenv, vid, {"os-show_image_metadata": {}}).json == {"metadata": {}}
    assert "volume_image_metadata" not in volenv.show(vid)


def test_force_delete_action_is_for_admins(make_volenv):
    env = make_volenv(agent=False)
    vid = env.create(name="stuck")["id"]
    env.admin.post(f"/v3/volumes/{vid}/action",
                   json={"os-reset_status": {"status": "error_deleting"}})
    err(_action(env, vid, {"os-force_delete": {}}), 403, "force_delete")
    assert _action(env, vid, {"os-force_delete": {}}, who=env.admin).status_code == 202
    assert env.show(vid, env.admin)["status"] == "deleting"


def test_action_on_another_projects_volume_is_404_before_policy(volenv):
    theirs = volenv.create(name="theirs", who=volenv.bob)["id"]
    err(_action(volenv, theirs, {"os-reset_status": {"status": "error"}}), 404,
        "could not be found")
    err(_action(volenv, "no-such-volume", {"os-frobnicate": {}}), 400, "no such action")


@pytest.mark.parametrize("attachment, version, message", [
    ({"volume_uuid": "not-a-uuid", "instance_uuid": SERVER}, "3.27", "volume_uuid"),
    ({"volume_uuid": "{vid}"}, "3.27", "'instance_uuid' is a required property"),
    ({"volume_uuid": "{vid}", "instance_uuid": SERVER, "mode": "rw"}, "3.53",
     "'mode' was unexpected"),
    ({"volume_uuid": "{vid}", "instance_uuid": SERVER, "mode": "rx"}, "3.54",
     "attachment/mode"),
    ({"volume_uuid": "{vid}", "instance_uuid": SERVER, "connector": []}, "3.27",
     "attachment/connector"),
])
def test_bad_attachment_bodies_are_400(volenv, attachment, version, message):
    vid = volenv.create(name="a")["id"]
    body = {k: v.format(vid=vid) if isinstance(v, str) else v for k, v in attachment.items()}
    err(volenv.alice.post("/v3/attachments", json={"attachment": body},
                          headers={"OpenStack-API-Version": f"volume {version}"}), 400,
        message)


def test_attachment_mode_rw_is_accepted_from_3_54(volenv):
    vid = volenv.create(name="a")["id"]
    volenv.wait(vid, "available")
    resp = volenv.alice.post("/v3/attachments", json={"attachment": {
        "volume_uuid": vid, "instance_uuid": SERVER, "mode": "rw"}}, headers=MV)
    assert resp.status_code == 200 and resp.json["attachment"]["attach_mode"] == "rw"


def test_reserve_of_a_missing_volume_is_404(volenv):
    err(volenv.alice.post("/v3/attachments", headers=MV, json={"attachment": {
        "volume_uuid": "8d7ef0ba-7a8a-4b0a-9f3e-0c6a1a9d4f11", "instance_uuid": SERVER}}),
        404, "could not be found")


def _body_routes(app) -> list[tuple[str, str]]:
    """(method, rule) of every route whose view declares a body schema."""
    out = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if getattr(view, "minicloud_schemas", None):
            out += [(m, rule.rule) for m in rule.methods or () if m in ("POST", "PUT")]
    return sorted(out)


def test_hostile_bodies_are_400_on_every_route_with_a_body(volenv):
    vid = volenv.create(name="target", metadata={"k": "v"})["id"]
    volenv.wait(vid, "available")
    att = volenv.alice.post("/v3/attachments", headers=MV, json={"attachment": {
        "volume_uuid": vid, "instance_uuid": SERVER}}).json["attachment"]["id"]
    routes = _body_routes(volenv.app)
    assert len(routes) == 2 * 51  # both prefixes of the 51 routes that read a body
    for method, rule in routes:
        path = (rule.replace("<project_id>", volenv.alice.project_id)
                .replace("<volume_id>", vid).replace("<attachment_id>", att)
                .replace("<key>", "k").replace("<type_id>", "t").replace("<transfer_id>", "t")
                .replace("<qos_id>", "q").replace("<snapshot_id>", "s")
                .replace("<backup_id>", "b").replace("<encryption_id>", "e")
                .replace("<target>", volenv.alice.project_id)
                .replace("<class_name>", "default"))
        for body in HOSTILE:
            resp = volenv.service._call(method, path, json=body, headers=MV)
            assert resp.status_code == 400, (method, path, body, resp.json)
            assert set(resp.json) == {"badRequest"}, resp.json
        raw = volenv.service._call(method, path, data=b'{"a": [' * 100,
                                   headers={"Content-Type": "application/json", **MV})
        assert raw.status_code == 400
    assert volenv.show(vid)["status"] == "reserved"
