"""qos-specs: create, list, show, set and delete keys, associate with volume types, delete
(refused while associated unless forced); answers checked against Tempest's schemas."""
from __future__ import annotations

from tests.test_volumes_api_shapes import conforms, tempest_schema
from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import err


def _type(env, name: str) -> str:
    return env.admin.post("/v3/types", json={"volume_type": {"name": name}}).json[
        "volume_type"]["id"]


def test_qos_specs_lifecycle(volenv):
    s = tempest_schema("qos")
    created = volenv.admin.post("/v3/qos-specs", json={"qos_specs": {
        "name": "slow", "consumer": "front-end", "read_iops_sec": "200"}})
    conforms(s.show_qos, created)
    qos = created.json["qos_specs"]
    assert (qos["name"], qos["consumer"], qos["specs"]) == ("slow", "front-end",
                                                            {"read_iops_sec": "200"})
    qid = qos["id"]
    listed = volenv.admin.get("/v3/qos-specs")
    conforms(s.list_qos, listed)
    assert [q["id"] for q in listed.json["qos_specs"]] == [qid]
    conforms(s.show_qos, volenv.admin.get(f"/v3/qos-specs/{qid}"))

    updated = volenv.admin.put(f"/v3/qos-specs/{qid}", json={"qos_specs": {
        "write_iops_sec": "100", "consumer": "both"}})
    conforms(s.set_qos_key, updated)
    conforms(s.unset_qos_key, volenv.admin.put(f"/v3/qos-specs/{qid}/delete_keys",
                                               json={"keys": ["read_iops_sec"]}))
    shown = volenv.admin.get(f"/v3/qos-specs/{qid}").json["qos_specs"]
    assert (shown["consumer"], shown["specs"]) == ("both", {"write_iops_sec": "100"})
    err(volenv.admin.put(f"/v3/qos-specs/{qid}/delete_keys", json={"keys": ["nope"]}), 404,
        "nope")

    gold, silver = _type(volenv, "gold"), _type(volenv, "silver")
    for tid in (gold, silver):
        conforms(s.associate_qos, volenv.admin.get(
            f"/v3/qos-specs/{qid}/associate?vol_type_id={tid}"))
    assocs = volenv.admin.get(f"/v3/qos-specs/{qid}/associations")
    conforms(s.show_association_qos, assocs)
    assert [(a["name"], a["association_type"]) for a in assocs.json["qos_associations"]] == \
        [("gold", "volume_type"), ("silver", "volume_type")]
    assert volenv.admin.get(f"/v3/types/{gold}").json["volume_type"]["qos_specs_id"] == qid
    err(volenv.admin.delete(f"/v3/qos-specs/{qid}"), 400, "still associated")
    conforms(s.disassociate_qos, volenv.admin.get(
        f"/v3/qos-specs/{qid}/disassociate?vol_type_id={gold}"))
    assert volenv.admin.get(f"/v3/types/{gold}").json["volume_type"]["qos_specs_id"] is None
    conforms(s.disassociate_all_qos,
             volenv.admin.get(f"/v3/qos-specs/{qid}/disassociate_all"))
    assert volenv.admin.get(f"/v3/qos-specs/{qid}/associations").json == {
        "qos_associations": []}
    conforms(s.delete_qos, volenv.admin.delete(f"/v3/qos-specs/{qid}"))
    err(volenv.admin.get(f"/v3/qos-specs/{qid}"), 404, qid)


def test_qos_refusals(volenv):
    make = volenv.admin.post
    qid = make("/v3/qos-specs", json={"qos_specs": {"name": "a"}}).json["qos_specs"]["id"]
    other = make("/v3/qos-specs", json={"qos_specs": {"name": "b"}}).json["qos_specs"]["id"]
    err(make("/v3/qos-specs", json={"qos_specs": {"name": "a"}}), 409, "already exists")
    err(make("/v3/qos-specs", json={"qos_specs": {"name": " "}}), 400, "name")
    err(make("/v3/qos-specs", json={"qos_specs": {"name": "c", "consumer": "x"}}), 400,
        "consumer")
    err(make("/v3/qos-specs", json={"qos_specs": {"name": "c", "iops": 5}}), 400, "iops")
    err(volenv.admin.put(f"/v3/qos-specs/{qid}", json={"qos_specs": {"consumer": "x"}}), 400,
        "consumer")
    err(volenv.admin.put(f"/v3/qos-specs/{qid}", json={"qos_specs": {}}), 400, "qos_specs")
    err(volenv.admin.put(f"/v3/qos-specs/{qid}/delete_keys", json={"keys": []}), 400, "keys")
    tid = _type(volenv, "gold")
    err(volenv.admin.get(f"/v3/qos-specs/{qid}/associate"), 400, "Volume Type id")
    err(volenv.admin.get(f"/v3/qos-specs/{qid}/associate?vol_type_id=nope"), 404, "nope")
    volenv.admin.get(f"/v3/qos-specs/{qid}/associate?vol_type_id={tid}")
    err(volenv.admin.get(f"/v3/qos-specs/{other}/associate?vol_type_id={tid}"), 400,
        "already associated")
    assert volenv.admin.delete(f"/v3/qos-specs/{qid}?force=True").status_code == 202
    assert volenv.admin.get(f"/v3/types/{tid}").json["volume_type"]["qos_specs_id"] is None
    err(volenv.admin.get("/v3/qos-specs/nope"), 404, "nope")
    err(volenv.alice.get("/v3/qos-specs"), 403, "policy")
    err(volenv.alice.post("/v3/qos-specs", json={"qos_specs": {"name": "m"}}), 403, "policy")
