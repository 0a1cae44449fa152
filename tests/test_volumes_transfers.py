"""Volume transfers: offer, list, show, withdraw, accept into another project (with its
quota), at the old path and at /volume-transfers (3.55+); answers checked against Tempest's
schemas for each microversion range."""
from __future__ import annotations

import pytest

from tests.test_volumes_api_shapes import conforms, tempest_schema
from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import err
from volumes.models import VolumeTransfer

SCHEMAS = {"3.0": "transfers", "3.55": "v3_55.transfers", "3.57": "v3_57.transfers"}


def _mv(version: str) -> dict:
    return {"OpenStack-API-Version": f"volume {version}"}


def _available(env, who=None, **volume) -> str:
    vid = env.create(who=who, **volume)["id"]
    env.wait(vid, "available")
    return vid


@pytest.mark.parametrize("version, path", [("3.0", "/v3/os-volume-transfer"),
                                           ("3.55", "/v3/volume-transfers"),
                                           ("3.57", "/v3/volume-transfers"),
                                           ("3.57", "/v3/os-volume-transfer")])
def test_offer_list_show_accept(volenv, version, path):
    s, hdr = tempest_schema(SCHEMAS[version]), _mv(version)
    vid = _available(volenv, name="gift", size=2, metadata={"k": "v"})
    created = volenv.alice.post(path, headers=hdr, json={"transfer": {"volume_id": vid,
                                                                      "name": "for bob"}})
    conforms(s.create_volume_transfer, created)
    tr = created.json["transfer"]
    assert (tr["volume_id"], tr["name"], len(tr["auth_key"])) == (vid, "for bob", 16)
    assert volenv.show(vid)["status"] == "awaiting-transfer"
    with volenv.db.session() as session:  # only a salted hash of the key is kept
        row = session.get(VolumeTransfer, tr["id"])
        assert tr["auth_key"] not in (row.crypt_hash, row.salt)

    shown = volenv.reader.get(f"{path}/{tr['id']}", headers=hdr)
    conforms(s.show_volume_transfer, shown)
    assert "auth_key" not in shown.json["transfer"]
    listed = volenv.reader.get(path, headers=hdr)
    conforms(s.list_volume_transfers_no_detail, listed)
    detail = volenv.reader.get(f"{path}/detail", headers=hdr)
    conforms(s.list_volume_transfers_with_detail, detail)
    assert [t["id"] for t in detail.json["transfers"]] == [tr["id"]]
    err(volenv.bob.get(f"{path}/{tr['id']}", headers=hdr), 404, tr["id"])
    assert volenv.bob.get(path, headers=hdr).json["transfers"] == []

    accepted = volenv.bob.post(f"{path}/{tr['id']}/accept", headers=hdr,
                               json={"accept": {"auth_key": tr["auth_key"]}})
    conforms(s.accept_volume_transfer, accepted)
    assert accepted.json["transfer"]["volume_id"] == vid
    vol = volenv.show(vid, volenv.bob)
    assert (vol["status"], vol["os-vol-tenant-attr:tenant_id"], vol["metadata"], vol["size"]
            ) == ("available", volenv.bob.project_id, {"k": "v"}, 2)
    err(volenv.alice.get(f"/v3/volumes/{vid}"), 404, vid)
    assert volenv.backend.exists(vid)  # the data did not move
    usage = {who.project_id: volenv.admin.get(
        f"/v3/os-quota-sets/{who.project_id}?usage=True").json["quota_set"]
        for who in (volenv.alice, volenv.bob)}
    assert usage[volenv.alice.project_id]["gigabytes"]["in_use"] == 0
    assert usage[volenv.bob.project_id]["gigabytes"]["in_use"] == 2
    err(volenv.alice.get(f"{path}/{tr['id']}", headers=hdr), 404, tr["id"])
    err(volenv.bob.post(f"{path}/{tr['id']}/accept", headers=hdr,
                        json={"accept": {"auth_key": tr["auth_key"]}}), 404, tr["id"])


def test_withdraw_and_refusals(volenv):
    vid = _available(volenv)
    path = "/v3/os-volume-transfer"
    tr = volenv.alice.post(path, json={"transfer": {"volume_id": vid}}).json["transfer"]
    err(volenv.alice.post(path, json={"transfer": {"volume_id": vid}}), 400,
        "awaiting-transfer")
    err(volenv.alice.delete(f"/v3/volumes/{vid}"), 400, "awaiting-transfer")
    err(volenv.bob.post(f"{path}/{tr['id']}/accept", json={"accept": {"auth_key": "x" * 16}}),
        400, "Invalid auth key")
    err(volenv.bob.delete(f"{path}/{tr['id']}"), 404, tr["id"])
    assert volenv.show(vid)["status"] == "awaiting-transfer"
    deleted = volenv.alice.delete(f"{path}/{tr['id']}")
    conforms(tempest_schema("transfers").delete_volume_transfer, deleted)
    assert volenv.show(vid)["status"] == "available"
    err(volenv.alice.get(f"{path}/{tr['id']}"), 404, tr["id"])

    err(volenv.bob.post(path, json={"transfer": {"volume_id": vid}}), 404, vid)
    err(volenv.alice.post(path, json={"transfer": {"volume_id": vid, "no_snapshots": True}}),
        400, "no_snapshots")  # a 3.55 field at 3.0
    err(volenv.alice.post(path, json={"transfer": {}}), 400, "volume_id")
    err(volenv.alice.get("/v3/volume-transfers", headers=_mv("3.54")), 404, "3.55")
    volenv.alice.post(f"/v3/volumes/{vid}/action", json={"os-reserve": {}})
    err(volenv.alice.post(path, json={"transfer": {"volume_id": vid}}), 400, "attaching")
    err(volenv.reader.post(path, json={"transfer": {"volume_id": vid}}), 403, "policy")


def test_accept_is_refused_over_the_receiving_project_s_quota(volenv):
    vid = _available(volenv, size=2)
    tr = volenv.alice.post("/v3/os-volume-transfer", json={"transfer": {"volume_id": vid}}
                           ).json["transfer"]
    volenv.admin.put(f"/v3/os-quota-sets/{volenv.bob.project_id}", json={"quota_set": {
        "gigabytes": 1}})
    err(volenv.bob.post(f"/v3/os-volume-transfer/{tr['id']}/accept",
                        json={"accept": {"auth_key": tr["auth_key"]}}), 413, "gigabytes")
    vol = volenv.show(vid)
    assert (vol["status"], vol["os-vol-tenant-attr:tenant_id"]) == \
        ("awaiting-transfer", volenv.alice.project_id)
    volenv.admin.delete(f"/v3/os-quota-sets/{volenv.bob.project_id}")
    assert volenv.bob.post(f"/v3/os-volume-transfer/{tr['id']}/accept", json={"accept": {
        "auth_key": tr["auth_key"]}}).status_code == 202
    assert volenv.show(vid, volenv.bob)["user_id"] != vol["user_id"]


def test_admin_lists_every_project_s_transfers(volenv):
    vid = _available(volenv)
    tr = volenv.alice.post("/v3/os-volume-transfer", json={"transfer": {"volume_id": vid}}
                           ).json["transfer"]
    assert volenv.admin.get("/v3/os-volume-transfer").json["transfers"] == []
    everyone = volenv.admin.get("/v3/os-volume-transfer?all_tenants=1").json["transfers"]
    assert [t["id"] for t in everyone] == [tr["id"]]
    assert volenv.bob.get("/v3/os-volume-transfer?all_tenants=1").json["transfers"] == []
