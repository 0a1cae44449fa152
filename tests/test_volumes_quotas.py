"""Quotas: per-project limits (set, refused below usage, reset to the defaults), defaults,
the ``default`` quota class, and enforcement against the project's own limits; answers
checked against Tempest's schemas."""
from __future__ import annotations

from tests.test_volumes_api_shapes import conforms, tempest_schema
from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import err

RESOURCES = {"volumes", "gigabytes", "snapshots", "backups", "backup_gigabytes",
             "per_volume_gigabytes", "groups"}


def test_show_update_delete_and_defaults(volenv):
    s = tempest_schema("quotas")
    project = volenv.alice.project_id
    shown = volenv.alice.get(f"/v3/os-quota-sets/{project}")
    conforms(s.show_quota_set, shown)
    assert (shown.json["quota_set"]["volumes"], shown.json["quota_set"]["gigabytes"]) == \
        (10, 100)
    updated = volenv.admin.put(f"/v3/os-quota-sets/{project}", json={"quota_set": {
        "volumes": 3, "gigabytes": "7", "snapshots": 0, "per_volume_gigabytes": 5}})
    conforms(s.update_quota_set, updated)
    # Every volume type adds its own three (Cinder's volumes_<type>...), here __DEFAULT__'s.
    assert set(updated.json["quota_set"]) == RESOURCES | {
        f"{r}___DEFAULT__" for r in ("volumes", "gigabytes", "snapshots")}
    assert {k: updated.json["quota_set"][k] for k in ("volumes", "gigabytes", "snapshots",
                                                      "per_volume_gigabytes")} == \
        {"volumes": 3, "gigabytes": 7, "snapshots": 0, "per_volume_gigabytes": 5}
    usage = volenv.alice.get(f"/v3/os-quota-sets/{project}?usage=True")
    conforms(s.show_quota_set_usage, usage)
    assert usage.json["quota_set"]["volumes"] == {"limit": 3, "in_use": 0, "reserved": 0,
                                                  "allocated": 0}
    limits = volenv.alice.get("/v3/limits").json["limits"]["absolute"]
    assert (limits["maxTotalVolumes"], limits["maxTotalVolumeGigabytes"]) == (3, 7)
    # Another project keeps the defaults.
    other = volenv.admin.get(f"/v3/os-quota-sets/{volenv.bob.project_id}").json["quota_set"]
    assert other["volumes"] == 10
    defaults = volenv.alice.get(f"/v3/os-quota-sets/{project}/defaults")
    conforms(s.show_quota_set, defaults)
    assert defaults.json["quota_set"]["volumes"] == 10

    deleted = volenv.admin.delete(f"/v3/os-quota-sets/{project}")
    conforms(s.delete_quota_set, deleted)
    assert volenv.alice.get(f"/v3/os-quota-sets/{project}").json["quota_set"]["volumes"] == 10


def test_enforcement_uses_the_project_s_limits(volenv):
    project = volenv.alice.project_id
    volenv.admin.put(f"/v3/os-quota-sets/{project}", json={"quota_set": {
        "volumes": 2, "gigabytes": 5, "per_volume_gigabytes": 3}})
    err(volenv.alice.post("/v3/volumes", json={"volume": {"size": 4}}), 413,
        "larger than maximum allowed limit 3G")
    first = volenv.create(size=3)
    volenv.wait(first["id"], "available")
    err(volenv.alice.post("/v3/volumes", json={"volume": {"size": 3}}), 413, "gigabytes")
    err(volenv.alice.post(f"/v3/volumes/{first['id']}/action",
                          json={"os-extend": {"new_size": 4}}), 413, "limit 3G")
    volenv.create(size=1)
    err(volenv.alice.post("/v3/volumes", json={"volume": {"size": 1}}), 413,
        "Maximum number of volumes allowed (2)")
    volenv.create(size=1, who=volenv.bob)  # bob's project has the defaults
    # Below what the project holds: refused, nothing changes.
    err(volenv.admin.put(f"/v3/os-quota-sets/{project}", json={"quota_set": {"volumes": 1}}),
        400, "Current usage of volumes is 2")
    err(volenv.admin.put(f"/v3/os-quota-sets/{project}", json={"quota_set": {
        "gigabytes": 3}}), 400, "usage of gigabytes is 4")
    # cinderclient sends the project's id along; it is ignored, as by Cinder.
    assert volenv.admin.put(f"/v3/os-quota-sets/{project}", json={"quota_set": {
        "tenant_id": project, "volumes": -1}}).status_code == 200
    volenv.create(size=1)


def test_bad_quota_bodies_and_roles(volenv):
    project = volenv.alice.project_id
    path = f"/v3/os-quota-sets/{project}"
    for body, text in (({"quota_set": {"volumes": -2}}, "volumes"),
                       ({"quota_set": {"volumes": "many"}}, "volumes"),
                       ({"quota_set": {"volumes": 1.5}}, "volumes"),
                       ({"quota_set": {"frobs": 1}}, "frobs"),
                       ({"volumes": 1}, "quota_set")):
        err(volenv.admin.put(path, json=body), 400, text)
    err(volenv.alice.put(path, json={"quota_set": {"volumes": 99}}), 403, "policy")
    err(volenv.alice.delete(path), 403, "policy")
    err(volenv.alice.get("/v3/os-quota-class-sets/default"), 403, "policy")
    assert volenv.alice.get(path).json["quota_set"]["volumes"] == 10


def test_default_class_changes_every_project_s_defaults(volenv):
    s = tempest_schema("quota_classes")
    shown = volenv.admin.get("/v3/os-quota-class-sets/default")
    conforms(s.show_quota_classes, shown)
    assert (shown.json["quota_class_set"]["id"], shown.json["quota_class_set"]["volumes"]) \
        == ("default", 10)
    updated = volenv.admin.put("/v3/os-quota-class-sets/default", json={"quota_class_set": {
        "volumes": 4, "backups": 2}})
    conforms(s.update_quota_classes, updated)
    assert (updated.json["quota_class_set"]["volumes"],
            updated.json["quota_class_set"]["backups"]) == (4, 2)
    volenv.admin.put(f"/v3/os-quota-sets/{volenv.bob.project_id}", json={"quota_set": {
        "volumes": 6}})
    for who, expected in ((volenv.alice, 4), (volenv.bob, 6)):
        got = volenv.admin.get(f"/v3/os-quota-sets/{who.project_id}").json["quota_set"]
        assert got["volumes"] == expected
        assert got["backups"] == 2 and got["gigabytes"] == 100
    assert volenv.alice.get(f"/v3/os-quota-sets/{volenv.alice.project_id}/defaults").json[
        "quota_set"]["volumes"] == 4
    for _ in range(4):
        volenv.create(size=1)
    err(volenv.alice.post("/v3/volumes", json={"volume": {"size": 1}}), 413, "(4)")
