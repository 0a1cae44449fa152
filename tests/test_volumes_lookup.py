"""The one lookup of the volume service's owned resources (:mod:`volumes.lookup`): each kind's
404 is Cinder's ``itemNotFound`` with its exact message, for a missing row and for another
project's alike; admins see every project's; a deleted row is gone for everyone; an admin's
reset to an unknown status is the same 400 for every kind."""
from __future__ import annotations

from tests.test_volumes_groups import V314, V320, grouped, gsnap_create, gsnap_wait  # noqa: F401
from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, wait_status
from volumes import backups, group_snapshots, groups, service, snapshots

MISSING = "8d7ef0ba-7a8a-4b0a-9f3e-0c6a1a9d4f11"


def not_found(resp, message: str) -> None:
    """Cinder's 404 body, message to the letter."""
    assert resp.status_code == 404, resp.get_data(as_text=True)
    assert resp.json == {"itemNotFound": {"code": 404, "title": "Not Found",
                                          "message": message}}


def test_each_kind_names_itself_in_its_404():
    for lookup, noun in ((service.VOLUMES, "Volume"), (snapshots.SNAPSHOTS, "Snapshot"),
                         (backups.BACKUPS, "Backup"), (groups.GROUPS, "Group"),
                         (group_snapshots.GROUP_SNAPSHOTS, "GroupSnapshot")):
        assert lookup.not_found("x-1").to_dict() == {"itemNotFound": {
            "code": 404, "title": "Not Found", "message": f"{noun} x-1 could not be found."}}
    # The module-level names other modules call are the lookup's own.
    assert snapshots.not_found("a").message == "Snapshot a could not be found."
    assert groups.not_found("a").message == "Group a could not be found."
    assert group_snapshots.not_found("a").message == "GroupSnapshot a could not be found."


def test_missing_and_other_projects_groups_are_the_same_404(volenv, grouped):  # noqa: F811
    group_id = grouped["group"]["id"]
    gsnap = gsnap_create(volenv, group_id)
    gsnap_wait(volenv, gsnap["id"], "available")
    not_found(volenv.alice.get(f"/v3/groups/{MISSING}", headers=V314),
              f"Group {MISSING} could not be found.")
    not_found(volenv.bob.get(f"/v3/groups/{group_id}", headers=V314),
              f"Group {group_id} could not be found.")
    not_found(volenv.alice.get(f"/v3/group_snapshots/{MISSING}", headers=V314),
              f"GroupSnapshot {MISSING} could not be found.")
    not_found(volenv.bob.get(f"/v3/group_snapshots/{gsnap['id']}", headers=V314),
              f"GroupSnapshot {gsnap['id']} could not be found.")
    # Bob's lists hold none of them, even when he asks for every project (not an admin).
    for path, key in (("/v3/groups?all_tenants=1", "groups"),
                      ("/v3/group_snapshots?all_tenants=1", "group_snapshots")):
        assert volenv.bob.get(path, headers=V314).json[key] == []
        assert len(volenv.admin.get(path, headers=V314).json[key]) == 1
    assert volenv.admin.get(f"/v3/groups/{group_id}", headers=V314).status_code == 200


def test_deleted_snapshot_is_gone_for_its_owner_and_admins(volenv):
    vol = volenv.create(name="v")
    volenv.wait(vol["id"], "available")
    snap = volenv.alice.post("/v3/snapshots", headers=MV, json={"snapshot": {
        "volume_id": vol["id"]}}).json["snapshot"]
    path = f"/v3/snapshots/{snap['id']}"
    wait_status(lambda: volenv.alice.get(path, headers=MV).json["snapshot"], "available")
    assert volenv.alice.delete(path, headers=MV).status_code == 202

    def get():
        resp = volenv.admin.get(path, headers=MV)
        return {"status": "gone"} if resp.status_code == 404 else resp.json["snapshot"]
    wait_status(get, "gone")
    for who in (volenv.alice, volenv.admin):
        not_found(who.get(path, headers=MV), f"Snapshot {snap['id']} could not be found.")
    assert volenv.admin.get("/v3/snapshots?all_tenants=1", headers=MV).json["snapshots"] == []


def test_reset_to_an_unknown_status_is_the_same_400(volenv, grouped):  # noqa: F811
    gsnap = gsnap_create(volenv, grouped["group"]["id"])
    gsnap_wait(volenv, gsnap["id"], "available")
    resp = volenv.admin.post(f"/v3/group_snapshots/{gsnap['id']}/action", headers=V320,
                             json={"reset_status": {"status": "bogus"}})
    assert resp.status_code == 400
    assert resp.json["badRequest"]["message"] == (
        "Invalid input received: status must be one of available, creating, deleting, "
        "error, error_deleting, updating.")
    # The status stands; a missing one is still the 404 (the status is checked first).
    assert gsnap_wait(volenv, gsnap["id"], "available")["status"] == "available"
    resp = volenv.admin.post(f"/v3/group_snapshots/{MISSING}/action", headers=V320,
                             json={"reset_status": {"status": "error"}})
    not_found(resp, f"GroupSnapshot {MISSING} could not be found.")
