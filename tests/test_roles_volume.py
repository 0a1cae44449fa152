"""Roles against the volume API (Cinder's secure defaults): a reader of the owning project is
refused every write (403) and nothing changes; a member is refused every admin-only
operation; reads by the reader still work. ``WRITES`` must name every write route of the app
(``tests.roles.assert_covers``), so a route added later without a row fails here."""
from __future__ import annotations

import pytest

from tests.roles import assert_covers
from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, err, wait_status

SERVER = "0b3b4f4e-1111-4c1e-9d7a-3a3a3a3a3a3a"
CONNECTOR = {"host": "node1", "initiator": "iqn.2008-11.org.linux-kvm:node1"}
PREFIXES = ("/v3/<project_id>", "/v3")

#: Every write route (method, path after the prefix) and the requests sent to it, as
#: (body, query string); {vol}/{att} are filled in with the member's volume and attachment.
WRITES: dict[tuple[str, str], list[tuple[object, str]]] = {
    ("POST", "/volumes"): [({"volume": {"size": 1, "name": "r"}}, ""),
                           ({"volume": {"size": 1, "imageRef": "raw-img"}}, "")],
    ("PUT", "/volumes/<volume_id>"): [({"volume": {"name": "renamed"}}, "")],
    ("DELETE", "/volumes/<volume_id>"): [(None, ""), (None, "?force=True")],
    ("POST", "/volumes/<volume_id>/action"): [
        ({"os-extend": {"new_size": 2}}, ""), ({"os-set_bootable": {"bootable": True}}, ""),
        ({"os-reset_status": {"status": "error"}}, ""), ({"os-force_delete": {}}, ""),
        ({"os-set_image_metadata": {"metadata": {"k": "v"}}}, ""),
        ({"os-unset_image_metadata": {"key": "image_name"}}, ""),
        ({"os-update_readonly_flag": {"readonly": True}}, ""), ({"os-reserve": {}}, ""),
        ({"os-unreserve": {}}, ""), ({"os-begin_detaching": {}}, ""),
        ({"os-roll_detaching": {}}, ""),
        ({"os-attach": {"instance_uuid": SERVER, "mountpoint": "/dev/vdc"}}, ""),
        ({"os-detach": {}}, ""), ({"os-force_detach": {}}, ""),
        ({"os-volume_upload_image": {"image_name": "r"}}, ""),
        ({"os-volume_upload_image": {"image_name": "r", "visibility": "public"}}, ""),
        ({"os-retype": {"new_type": "{type}"}}, ""),
        ({"revert": {"snapshot_id": "{snap}"}}, "")],
    ("POST", "/volumes/<volume_id>/metadata"): [({"metadata": {"k": "v"}}, "")],
    ("PUT", "/volumes/<volume_id>/metadata"): [({"metadata": {"k": "v"}}, "")],
    ("PUT", "/volumes/<volume_id>/metadata/<key>"): [({"meta": {"keep": "x"}}, "")],
    ("DELETE", "/volumes/<volume_id>/metadata/<key>"): [(None, "")],
    ("POST", "/attachments"): [({"attachment": {"volume_uuid": "{vol}",
                                                "instance_uuid": SERVER}}, "")],
    ("PUT", "/attachments/<attachment_id>"): [({"attachment": {"connector": CONNECTOR}}, "")],
    ("POST", "/attachments/<attachment_id>/action"): [({"os-complete": None}, "")],
    ("DELETE", "/attachments/<attachment_id>"): [(None, "")],
    ("POST", "/types"): [({"volume_type": {"name": "r"}}, "")],
    ("PUT", "/types/<type_id>"): [({"volume_type": {"name": "r"}}, "")],
    ("DELETE", "/types/<type_id>"): [(None, "")],
    ("POST", "/types/<type_id>/extra_specs"): [({"extra_specs": {"k": "v"}}, "")],
    ("PUT", "/types/<type_id>/extra_specs/<key>"): [({"keep": "v"}, "")],
    ("DELETE", "/types/<type_id>/extra_specs/<key>"): [(None, "")],
    ("POST", "/types/<type_id>/encryption"): [({"encryption": {
        "provider": "luks", "control_location": "front-end"}}, "")],
    ("PUT", "/types/<type_id>/encryption/<encryption_id>"): [({"encryption": {
        "cipher": "aes-xts-plain64"}}, "")],
    ("DELETE", "/types/<type_id>/encryption/<encryption_id>"): [(None, "")],
    ("POST", "/types/<type_id>/action"): [
        ({"addProjectAccess": {"project": "{project}"}}, ""),
        ({"removeProjectAccess": {"project": "{project}"}}, "")],
    ("POST", "/snapshots"): [({"snapshot": {"volume_id": "{vol}"}}, "")],
    ("PUT", "/snapshots/<snapshot_id>"): [({"snapshot": {"name": "r"}}, "")],
    ("DELETE", "/snapshots/<snapshot_id>"): [(None, "")],
    ("POST", "/snapshots/<snapshot_id>/action"): [
        ({"os-reset_status": {"status": "error"}}, ""), ({"os-force_delete": {}}, ""),
        ({"os-update_snapshot_status": {"status": "error"}}, "")],
    ("POST", "/snapshots/<snapshot_id>/metadata"): [({"metadata": {"k": "v"}}, "")],
    ("PUT", "/snapshots/<snapshot_id>/metadata"): [({"metadata": {"k": "v"}}, "")],
    ("PUT", "/snapshots/<snapshot_id>/metadata/<key>"): [({"meta": {"keep": "x"}}, "")],
    ("DELETE", "/snapshots/<snapshot_id>/metadata/<key>"): [(None, "")],
    ("PUT", "/os-quota-sets/<target>"): [({"quota_set": {"volumes": 1}}, "")],
    ("DELETE", "/os-quota-sets/<target>"): [(None, "")],
    ("PUT", "/os-quota-class-sets/<class_name>"): [({"quota_class_set": {"volumes": 1}}, "")],
    ("POST", "/qos-specs"): [({"qos_specs": {"name": "r"}}, "")],
    ("PUT", "/qos-specs/<qos_id>"): [({"qos_specs": {"k": "v"}}, "")],
    ("PUT", "/qos-specs/<qos_id>/delete_keys"): [({"keys": ["k"]}, "")],
    ("DELETE", "/qos-specs/<qos_id>"): [(None, "")],
    **{(method, prefix + rule): requests for prefix in ("/os-volume-transfer",
                                                       "/volume-transfers")
       for method, rule, requests in (
           ("POST", "", [({"transfer": {"volume_id": "{vol}"}}, "")]),
           ("DELETE", "/<transfer_id>", [(None, "")]),
           ("POST", "/<transfer_id>/accept", [({"accept": {"auth_key": "{key}"}}, "")]))},
    ("POST", "/backups"): [({"backup": {"volume_id": "{vol}"}}, "")],
    ("PUT", "/backups/<backup_id>"): [({"backup": {"name": "r"}}, "")],
    ("DELETE", "/backups/<backup_id>"): [(None, "")],
    ("POST", "/backups/<backup_id>/restore"): [({"restore": {}}, ""),
                                               ({"restore": {"volume_id": "{vol}"}}, "")],
    ("POST", "/backups/import_record"): [({"backup-record": {
        "backup_service": "cinder.backup.drivers.posix.PosixBackupDriver",
        "backup_url": "e30="}}, "")],
    ("POST", "/backups/<backup_id>/action"): [({"os-reset_status": {"status": "error"}}, ""),
                                              ({"os-force_delete": {}}, "")],
    ("POST", "/group_types"): [({"group_type": {"name": "r"}}, "")],
    ("PUT", "/group_types/<group_type_id>"): [({"group_type": {"name": "r"}}, "")],
    ("DELETE", "/group_types/<group_type_id>"): [(None, "")],
    ("POST", "/group_types/<group_type_id>/group_specs"): [({"group_specs": {"k": "v"}}, "")],
    ("PUT", "/group_types/<group_type_id>/group_specs/<key>"): [({"keep": "v"}, "")],
    ("DELETE", "/group_types/<group_type_id>/group_specs/<key>"): [(None, "")],
    ("POST", "/groups"): [({"group": {"group_type": "{gtype}", "volume_types": ["{type}"]}},
                           "")],
    ("POST", "/groups/action"): [({"create-from-src": {"source_group_id": "{group}"}}, "")],
    ("PUT", "/groups/<group_id>"): [({"group": {"name": "r", "remove_volumes": "{gvol}"}},
                                     "")],
    ("POST", "/groups/<group_id>/action"): [({"delete": {"delete-volumes": True}}, ""),
                                            ({"reset_status": {"status": "error"}}, "")],
    ("POST", "/group_snapshots"): [({"group_snapshot": {"group_id": "{group}"}}, "")],
    ("DELETE", "/group_snapshots/<group_snapshot_id>"): [(None, "")],
    ("POST", "/group_snapshots/<group_snapshot_id>/action"): [
        ({"reset_status": {"status": "error"}}, "")],
    **{("PUT", f"/os-services/{action}"): [(body, "")] for action, body in (
        ("enable", {"host": "node1@fake", "binary": "cinder-volume"}),
        ("disable", {"host": "node1@fake", "binary": "cinder-volume"}),
        ("disable-log-reason", {"host": "node1", "binary": "cinder-backup",
                                "disabled_reason": "r"}),
        ("freeze", {"host": "node1@fake"}), ("thaw", {"host": "node1@fake"}))},
    ("DELETE", "/messages/<message_id>"): [(None, "")],
}

#: Admin-only operations (rule:admin_api): a member of the owning project gets 403.
ADMIN_ONLY: list[tuple[str, str, object]] = [
    ("DELETE", "/volumes/{vol}?force=True", None),
    ("POST", "/volumes/{vol}/action", {"os-reset_status": {"status": "error"}}),
    ("POST", "/volumes/{vol}/action", {"os-force_delete": {}}),
    ("GET", "/os-services", None),
    ("POST", "/snapshots/{snap}/action", {"os-reset_status": {"status": "error"}}),
    ("POST", "/snapshots/{snap}/action", {"os-force_delete": {}}),
    ("GET", "/scheduler-stats/get_pools", None),
    ("GET", "/capabilities/node1@fake", None),
    ("GET", "/os-hosts", None),
    ("PUT", "/os-services/disable", {"host": "node1@fake", "binary": "cinder-volume"}),
    ("PUT", "/os-services/freeze", {"host": "node1@fake"}),
    ("POST", "/volumes/{vol}/action", {"os-force_detach": {}}),
    ("POST", "/volumes/{vol}/action", {"os-volume_upload_image": {
        "image_name": "m", "visibility": "public"}}),
    ("POST", "/types", {"volume_type": {"name": "m"}}),
    ("PUT", "/types/{type}", {"volume_type": {"name": "m"}}),
    ("DELETE", "/types/{type}", None),
    ("POST", "/types/{type}/extra_specs", {"extra_specs": {"k": "v"}}),
    ("PUT", "/types/{type}/extra_specs/keep", {"keep": "v"}),
    ("DELETE", "/types/{type}/extra_specs/keep", None),
    ("POST", "/types/{type}/action", {"addProjectAccess": {"project": "{project}"}}),
    ("GET", "/types/{type}/os-volume-type-access", None),
    ("POST", "/types/{type}/encryption", {"encryption": {
        "provider": "luks", "control_location": "front-end"}}),
    ("GET", "/types/{type}/encryption", None),
    ("GET", "/types/{type}/encryption/provider", None),
    ("PUT", "/types/{type}/encryption/e", {"encryption": {"cipher": "aes-xts-plain64"}}),
    ("DELETE", "/types/{type}/encryption/e", None),
    ("PUT", "/os-quota-sets/{project}", {"quota_set": {"volumes": 1}}),
    ("DELETE", "/os-quota-sets/{project}", None),
    ("GET", "/os-quota-class-sets/default", None),
    ("PUT", "/os-quota-class-sets/default", {"quota_class_set": {"volumes": 1}}),
    ("GET", "/qos-specs", None),
    ("POST", "/qos-specs", {"qos_specs": {"name": "m"}}),
    ("GET", "/qos-specs/{qos}", None),
    ("PUT", "/qos-specs/{qos}", {"qos_specs": {"k": "v"}}),
    ("PUT", "/qos-specs/{qos}/delete_keys", {"keys": ["k"]}),
    ("GET", "/qos-specs/{qos}/associate?vol_type_id={type}", None),
    ("GET", "/qos-specs/{qos}/disassociate_all", None),
    ("DELETE", "/qos-specs/{qos}", None),
    ("GET", "/backups/{backup}/export_record", None),
    ("POST", "/backups/import_record", {"backup-record": {
        "backup_service": "cinder.backup.drivers.posix.PosixBackupDriver",
        "backup_url": "e30="}}),
    ("POST", "/backups/{backup}/action", {"os-reset_status": {"status": "error"}}),
    ("POST", "/backups/{backup}/action", {"os-force_delete": {}}),
    ("POST", "/group_types", {"group_type": {"name": "m"}}),
    ("PUT", "/group_types/{gtype}", {"group_type": {"name": "m"}}),
    ("DELETE", "/group_types/{gtype}", None),
    ("GET", "/group_types/{gtype}/group_specs", None),
    ("POST", "/group_types/{gtype}/group_specs", {"group_specs": {"k": "v"}}),
    ("GET", "/group_types/{gtype}/group_specs/keep", None),
    ("PUT", "/group_types/{gtype}/group_specs/keep", {"keep": "v"}),
    ("DELETE", "/group_types/{gtype}/group_specs/keep", None),
    ("POST", "/groups/{group}/action", {"reset_status": {"status": "error"}}),
    ("POST", "/group_snapshots/{gsnap}/action", {"reset_status": {"status": "error"}}),
]


def _fill(value, ids: dict[str, str]):
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _path(rule: str, prefix: str, project: str, ids: dict[str, str]) -> str:
    path = (prefix.replace("<project_id>", project) + rule).replace("<volume_id>", ids["vol"])
    for name, value in (("<attachment_id>", ids["att"]), ("<key>", "keep"),
                        ("<type_id>", ids["type"]), ("<transfer_id>", ids["tr"]),
                        ("<target>", project), ("<class_name>", "default"),
                        ("<qos_id>", ids["qos"]), ("<snapshot_id>", ids["snap"]),
                        ("<backup_id>", ids["backup"]), ("<message_id>", ids["msg"]),
                        ("<group_type_id>", ids["gtype"]), ("<group_id>", ids["group"]),
                        ("<group_snapshot_id>", ids["gsnap"]),
                        ("<encryption_id>", "e")):
        path = path.replace(name, value)
    return path


@pytest.fixture
def owned(volenv):
    """alice's (a member's) available volume made from an image, with metadata, a
    reserved attachment on a second volume, a third volume offered for transfer, and a
    private volume type (with extra spec ``keep``) her project is listed on, and qos-specs."""
    vol = volenv.create(name="owned", imageRef="raw-img", metadata={"keep": "1"})
    volenv.wait(vol["id"], "available")
    other = volenv.create(name="attached")
    volenv.wait(other["id"], "available")
    att = volenv.alice.post("/v3/attachments", headers=MV, json={"attachment": {
        "volume_uuid": other["id"], "instance_uuid": SERVER}})
    assert att.status_code == 200, att.json
    offered = volenv.create(name="offered")
    volenv.wait(offered["id"], "available")
    tr = volenv.alice.post("/v3/os-volume-transfer", json={"transfer": {
        "volume_id": offered["id"]}})
    assert tr.status_code == 202, tr.json
    vtype = volenv.admin.post("/v3/types", json={"volume_type": {
        "name": "private", "os-volume-type-access:is_public": False,
        "extra_specs": {"keep": "1"}}}).json["volume_type"]
    assert volenv.admin.post(f"/v3/types/{vtype['id']}/action", json={"addProjectAccess": {
        "project": volenv.alice.project_id}}).status_code == 202
    qos = volenv.admin.post("/v3/qos-specs", json={"qos_specs": {"name": "q", "k": "v"}})
    snap = volenv.alice.post("/v3/snapshots", json={"snapshot": {
        "volume_id": vol["id"], "name": "snap", "metadata": {"keep": "1"}}})
    assert snap.status_code == 202, snap.json
    wait_status(lambda: volenv.alice.get(f"/v3/snapshots/{snap.json['snapshot']['id']}"
                                         ).json["snapshot"], "available")
    # On the fake backend (no bytes) the backup ends in error, and the volume available.
    backup = volenv.alice.post("/v3/backups", json={"backup": {"volume_id": vol["id"]}})
    assert backup.status_code == 202, backup.json
    wait_status(lambda: volenv.alice.get(f"/v3/backups/{backup.json['backup']['id']}")
                .json["backup"], "error")
    volenv.wait(vol["id"], "available")
    # ... and leaves a user message in alice's project
    msg = wait_status(lambda: next(({**m, "status": "listed"} for m in volenv.alice.get(
        "/v3/messages", headers=MV).json["messages"]), {"status": None}), "listed")
    groups = _group_fixture(volenv, vtype["id"])
    return {**groups, "qos": qos.json["qos_specs"]["id"], "msg": msg["id"],
            "snap": snap.json["snapshot"]["id"],
            "backup": backup.json["backup"]["id"],
            "vol": vol["id"], "att": att.json["attachment"]["id"], "other": other["id"],
            "offered": offered["id"], "tr": tr.json["transfer"]["id"],
            "key": tr.json["transfer"]["auth_key"], "type": vtype["id"],
            "project": volenv.alice.project_id}


def _group_fixture(volenv, vtype_id: str) -> dict:
    """A group type (spec ``keep``), alice's group of ``vtype_id`` and of a spec-less public
    type holding one volume of the latter (``vtype_id``'s extra spec ``keep`` matches no
    backend capability, so no backend would take a volume of it), and a group snapshot of it
    (both available)."""
    plain = volenv.admin.post("/v3/types", json={"volume_type": {"name": "grouping"}}
                              ).json["volume_type"]["id"]
    gtype = volenv.admin.post("/v3/group_types", headers=MV, json={"group_type": {
        "name": "gt", "group_specs": {"keep": "1"}}}).json["group_type"]
    group = volenv.alice.post("/v3/groups", headers=MV, json={"group": {
        "group_type": gtype["id"], "volume_types": [vtype_id, plain]}}).json["group"]
    gvol = volenv.create(name="grouped", volume_type=plain, group_id=group["id"])
    volenv.wait(gvol["id"], "available")
    gsnap = volenv.alice.post("/v3/group_snapshots", headers=MV, json={"group_snapshot": {
        "group_id": group["id"], "name": "gsnap"}}).json["group_snapshot"]
    wait_status(lambda: volenv.alice.get(f"/v3/group_snapshots/{gsnap['id']}", headers=MV)
                .json["group_snapshot"], "available")
    return {"gtype": gtype["id"], "group": group["id"], "gvol": gvol["id"],
            "gsnap": gsnap["id"]}


def test_the_table_covers_every_write_route(volenv):
    assert_covers(volenv.app, [(method, prefix + rule) for method, rule in WRITES
                               for prefix in PREFIXES])


def test_reader_is_refused_every_write_and_nothing_changes(volenv, owned):
    before = volenv.show(owned["vol"])
    for (method, rule), requests in WRITES.items():
        for prefix in PREFIXES:
            path = _path(rule, prefix, volenv.reader.project_id, owned)
            for body, query in requests:
                resp = volenv.reader._call(method, path + query, json=_fill(body, owned),
                                           headers=MV)
                err(resp, 403, "policy")
    after = volenv.show(owned["vol"])
    assert (after["name"], after["status"], after["size"], after["metadata"],
            after["bootable"]) == (before["name"], "available", 1, {"keep": "1"}, "true")
    assert after["volume_image_metadata"] == before["volume_image_metadata"]
    att = volenv.alice.get(f"/v3/attachments/{owned['att']}", headers=MV).json["attachment"]
    assert att["status"] == "reserved"
    names = {v["name"] for v in volenv.alice.get("/v3/volumes").json["volumes"]}
    assert names == {"owned", "attached", "offered", "grouped"}
    assert volenv.show(owned["offered"])["status"] == "awaiting-transfer"
    vtype = volenv.admin.get(f"/v3/types/{owned['type']}").json["volume_type"]
    assert (vtype["name"], vtype["extra_specs"]) == ("private", {"keep": "1"})
    access = volenv.admin.get(f"/v3/types/{owned['type']}/os-volume-type-access").json
    assert [a["project_id"] for a in access["volume_type_access"]] == [owned["project"]]
    quota = volenv.admin.get(f"/v3/os-quota-sets/{owned['project']}").json["quota_set"]
    assert quota["volumes"] == 10
    assert volenv.admin.get(f"/v3/qos-specs/{owned['qos']}").json["qos_specs"]["specs"] == \
        {"k": "v"}
    snaps = volenv.alice.get("/v3/snapshots/detail").json["snapshots"]
    assert [(x["id"], x["name"], x["status"], x["metadata"]) for x in snaps
            if x["name"] != "gsnap"] == [(owned["snap"], "snap", "available", {"keep": "1"})]
    backup = volenv.alice.get(f"/v3/backups/{owned['backup']}", headers=MV).json["backup"]
    assert (backup["status"], backup["name"]) == ("error", None)
    assert volenv.alice.get(f"/v3/messages/{owned['msg']}", headers=MV).status_code == 200
    group = volenv.alice.get(f"/v3/groups/{owned['group']}?list_volume=True", headers=MV
                             ).json["group"]
    assert (group["status"], group["name"], group["volumes"]) == \
        ("available", None, [owned["gvol"]])
    gtype = volenv.admin.get(f"/v3/group_types/{owned['gtype']}", headers=MV).json
    assert (gtype["group_type"]["name"], gtype["group_type"]["group_specs"]) == \
        ("gt", {"keep": "1"})
    gsnap = volenv.alice.get(f"/v3/group_snapshots/{owned['gsnap']}", headers=MV).json
    assert gsnap["group_snapshot"]["status"] == "available"


def test_reader_still_reads(volenv, owned):
    reader, vid = volenv.reader, owned["vol"]
    assert reader.get(f"/v3/volumes/{vid}", headers=MV).json["volume"]["name"] == "owned"
    listed = reader.get(f"/v3/{reader.project_id}/volumes/detail", headers=MV).json
    assert {v["id"] for v in listed["volumes"]} == {vid, owned["other"], owned["offered"],
                                                   owned["gvol"]}
    assert reader.get(f"/v3/volumes/{vid}/metadata").json == {"metadata": {"keep": "1"}}
    assert reader.get(f"/v3/volumes/{vid}/metadata/keep").json == {"meta": {"keep": "1"}}
    shown = reader.post(f"/v3/volumes/{vid}/action", json={"os-show_image_metadata": None})
    assert shown.status_code == 200 and shown.json["metadata"]["image_id"] == "raw-img"
    atts = reader.get("/v3/attachments", headers=MV).json["attachments"]
    assert [a["id"] for a in atts] == [owned["att"]]
    assert reader.get("/v3/limits").json["limits"]["absolute"]["totalVolumesUsed"] == 4
    assert reader.get(f"/v3/os-quota-sets/{reader.project_id}").status_code == 200
    assert owned["type"] in {t["id"] for t in reader.get("/v3/types").json["volume_types"]}
    assert reader.get(f"/v3/types/{owned['type']}/extra_specs").json == {"extra_specs": {}}
    assert reader.get(f"/v3/os-volume-transfer/{owned['tr']}").json["transfer"][
        "volume_id"] == owned["offered"]
    assert [t["id"] for t in reader.get("/v3/os-volume-transfer/detail").json[
        "transfers"]] == [owned["tr"]]
    assert reader.get("/v3/volumes/summary", headers=MV).json["volume-summary"][
        "total_count"] == 4
    snap = f"/v3/snapshots/{owned['snap']}"
    assert reader.get(snap).json["snapshot"]["name"] == "snap"
    assert reader.get(f"{snap}/metadata/keep").json == {"meta": {"keep": "1"}}
    assert [x["id"] for x in reader.get("/v3/snapshots").json["snapshots"]
            if x["name"] != "gsnap"] == [owned["snap"]]
    assert reader.get(f"/v3/groups/{owned['group']}", headers=MV).json["group"]["id"] == \
        owned["group"]
    assert [g["id"] for g in reader.get("/v3/groups", headers=MV).json["groups"]] == \
        [owned["group"]]
    assert [x["id"] for x in reader.get("/v3/group_snapshots/detail", headers=MV).json[
        "group_snapshots"]] == [owned["gsnap"]]
    assert reader.get(f"/v3/group_types/{owned['gtype']}", headers=MV).status_code == 200
    assert reader.get(f"/v3/backups/{owned['backup']}").json["backup"]["volume_id"] == vid
    assert [b["id"] for b in reader.get("/v3/backups/detail").json["backups"]] == \
        [owned["backup"]]


def test_member_is_refused_admin_only_operations(volenv, owned):
    for method, path, body in ADMIN_ONLY:
        resp = volenv.alice._call(method, "/v3" + path.format(**owned), json=_fill(body, owned),
                                  headers=MV)
        err(resp, 403, "policy")
    assert volenv.show(owned["vol"])["status"] == "available"
    assert volenv.admin.get(f"/v3/types/{owned['type']}").json["volume_type"]["name"] == \
        "private"


def test_member_writes_and_admin_does_admin_things(volenv, owned):
    vid = owned["vol"]
    assert volenv.alice.put(f"/v3/volumes/{vid}", json={"volume": {"name": "mine"}}
                            ).status_code == 200
    assert volenv.admin.post(f"/v3/volumes/{vid}/action", headers=MV, json={
        "os-reset_status": {"status": "error"}}).status_code == 202
    assert volenv.admin.get("/v3/os-services", headers=MV).status_code == 200
    err(volenv.admin.post(f"/v3/volumes/{vid}/action", json={"os-force_delete": {}}), 400,
        "dependent snapshots")
    snap = f"/v3/snapshots/{owned['snap']}"
    assert volenv.admin.post(f"{snap}/action", json={"os-reset_status": {
        "status": "error"}}).status_code == 202
    assert volenv.admin.post(f"{snap}/action", json={"os-force_delete": {}}
                             ).status_code == 202
    wait_status(lambda: {"status": volenv.admin.get(snap).status_code}, 404)
    assert volenv.admin.post(f"/v3/volumes/{vid}/action", json={"os-force_delete": {}}
                             ).status_code == 202


def test_quotas_of_another_project_are_refused(volenv):
    err(volenv.alice.get(f"/v3/os-quota-sets/{volenv.bob.project_id}"), 403, "policy")
    assert volenv.admin.get(f"/v3/os-quota-sets/{volenv.bob.project_id}").status_code == 200


def test_a_policy_file_can_open_an_admin_rule_to_members(make_volenv, tmp_path):
    policy = tmp_path / "volume-policy.yaml"
    policy.write_text('"volume_extension:services:index": "role:member"\n'
                      '"volume:extend": "!"\n')
    env = make_volenv(**{"policy.file": str(policy)})
    assert env.alice.get("/v3/os-services", headers=MV).status_code == 200
    vid = env.create(name="x")["id"]
    env.wait(vid, "available")
    err(env.alice.post(f"/v3/volumes/{vid}/action", json={"os-extend": {"new_size": 2}}),
        403, "volume:extend")


def test_every_rule_is_enforced_somewhere_and_documented():
    """No rule is declared without code that asks it, and docs/volumes.md lists each with
    its default."""
    from tests.conftest import ROOT
    from volumes.policies import RULES

    code = "".join(p.read_text() for p in (ROOT / "volumes").glob("*.py")
                   if p.name != "policies.py")
    docs = (ROOT / "docs" / "volumes.md").read_text()
    for rule in RULES:
        assert f'"{rule.name}"' in code, f"{rule.name} is never checked"
        assert f"| `{rule.name}` | `{rule.check_str}` |" in docs, f"{rule.name} undocumented"
        assert rule.scope_types == ["project"]
