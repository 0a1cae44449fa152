"""Volume types: CRUD, the default type, private types and their access lists, extra specs,
a volume's type at create; every answer checked against Tempest's schema."""
from __future__ import annotations

import time

from tests.test_volumes_api_shapes import conforms, tempest_schema
from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, err
from volumes.models import DEFAULT_TYPE_ID


def _types():
    return tempest_schema("volume_types")


def _create(env, name: str = "gold", **extra) -> dict:
    resp = env.admin.post("/v3/types", json={"volume_type": {"name": name, **extra}})
    conforms(_types().create_volume_type, resp)
    return resp.json["volume_type"]


def test_create_list_show_update_delete(volenv):
    s = _types()
    gold = _create(volenv, "gold", description="fast", extra_specs={"tier": "1"})
    assert (gold["name"], gold["description"], gold["is_public"], gold["extra_specs"],
            gold["os-volume-type-access:is_public"]) == ("gold", "fast", True, {"tier": "1"},
                                                          True)
    listed = volenv.admin.get("/v3/types")
    conforms(s.list_volume_types, listed)
    assert [t["name"] for t in listed.json["volume_types"]] == ["__DEFAULT__", "gold"]
    shown = volenv.admin.get(f"/v3/types/{gold['id']}")
    conforms(s.show_volume_type, shown)
    assert shown.json["volume_type"]["qos_specs_id"] is None  # admins see the field
    member = volenv.alice.get(f"/v3/types/{gold['id']}")
    conforms(s.show_volume_type, member)
    assert "qos_specs_id" not in member.json["volume_type"]
    assert member.json["volume_type"]["extra_specs"] == {}  # "tier" is not user-visible

    updated = volenv.admin.put(f"/v3/types/{gold['id']}", json={"volume_type": {
        "name": "platinum", "description": None}})
    conforms(s.update_volume_types, updated)
    assert (updated.json["volume_type"]["name"], updated.json["volume_type"]["description"]
            ) == ("platinum", None)
    assert volenv.alice.get("/v3/types/gold").status_code == 404
    assert volenv.alice.get("/v3/types/platinum").json["volume_type"]["id"] == gold["id"]

    deleted = volenv.admin.delete(f"/v3/types/{gold['id']}")
    conforms(s.delete_volume_type, deleted)
    err(volenv.admin.get(f"/v3/types/{gold['id']}"), 404, gold["id"])
    err(volenv.admin.delete(f"/v3/types/{gold['id']}"), 404, "could not be found")


def test_refusals(volenv):
    _create(volenv, "gold")
    err(volenv.admin.post("/v3/types", json={"volume_type": {"name": "gold"}}), 409,
        "already exists")
    err(volenv.admin.post("/v3/types", json={"volume_type": {"name": "   "}}), 400, "name")
    err(volenv.admin.post("/v3/types", json={"volume_type": {"name": ""}}), 400, "name")
    err(volenv.admin.post("/v3/types", json={"volume_type": {"name": "x", "bogus": 1}}),
        400, "bogus")
    silver = _create(volenv, "silver")
    err(volenv.admin.put(f"/v3/types/{silver['id']}", json={"volume_type": {"name": "gold"}}),
        409, "already exists")
    err(volenv.admin.put(f"/v3/types/{silver['id']}", json={"volume_type": {}}), 400,
        "name, description, is_public")
    err(volenv.admin.put("/v3/types/nope", json={"volume_type": {"name": "y"}}), 404, "nope")
    err(volenv.admin.delete(f"/v3/types/{DEFAULT_TYPE_ID}"), 400, "default volume type")
    err(volenv.alice.post("/v3/types", json={"volume_type": {"name": "mine"}}), 403, "policy")
    names = {t["name"] for t in volenv.admin.get("/v3/types").json["volume_types"]}
    assert names == {"__DEFAULT__", "gold", "silver"}


def test_default_type_and_a_volume_s_type(volenv):
    default = volenv.alice.get("/v3/types/default")
    conforms(_types().show_volume_type, default)
    assert default.json["volume_type"]["id"] == DEFAULT_TYPE_ID
    plain = volenv.create(name="plain")
    assert (plain["volume_type"], plain["volume_type_id"]) == ("__DEFAULT__", DEFAULT_TYPE_ID)
    gold = _create(volenv, "gold")
    by_name = volenv.create(name="a", volume_type="gold")
    by_id = volenv.create(name="b", volume_type=gold["id"])
    for vol in (by_name, by_id):
        shown = volenv.show(vol["id"])
        assert (shown["volume_type"], shown["volume_type_id"]) == ("gold", gold["id"])
    err(volenv.alice.post("/v3/volumes", json={"volume": {"size": 1, "volume_type": "lead"}}),
        404, "Volume type with name lead could not be found")
    # A type a volume has cannot go; once the volumes are gone, it can.
    err(volenv.admin.delete(f"/v3/types/{gold['id']}"), 400, "still in use")
    for vol in (by_name, by_id):
        volenv.wait(vol["id"], "available")
        assert volenv.alice.delete(f"/v3/volumes/{vol['id']}").status_code == 202
    for vol in (by_name, by_id):
        _wait_gone(volenv, vol["id"])
    assert volenv.admin.delete(f"/v3/types/{gold['id']}").status_code == 202


def _wait_gone(env, volume_id: str) -> None:
    deadline = time.monotonic() + 20
    while env.admin.get(f"/v3/volumes/{volume_id}").status_code != 404:
        assert time.monotonic() < deadline, "volume not deleted"
        time.sleep(0.02)


def test_private_type_and_its_access_list(volenv):
    s = _types()
    secret = _create(volenv, "secret", **{"os-volume-type-access:is_public": False})
    assert secret["is_public"] is False
    tid, project = secret["id"], volenv.alice.project_id
    names = {t["name"] for t in volenv.alice.get("/v3/types").json["volume_types"]}
    assert "secret" not in names
    err(volenv.alice.get(f"/v3/types/{tid}"), 404, tid)
    err(volenv.alice.post("/v3/volumes", json={"volume": {"size": 1, "volume_type": "secret"}}),
        404, "secret")
    private = volenv.admin.get("/v3/types?is_public=false").json["volume_types"]
    assert [t["name"] for t in private] == ["secret"]
    assert {t["name"] for t in volenv.admin.get("/v3/types?is_public=all").json[
        "volume_types"]} == {"__DEFAULT__", "secret"}

    added = volenv.admin.post(f"/v3/types/{tid}/action", json={"addProjectAccess": {
        "project": project}})
    conforms(s.add_type_access, added)
    err(volenv.admin.post(f"/v3/types/{tid}/action", json={"addProjectAccess": {
        "project": project}}), 409, "already exists")
    access = volenv.admin.get(f"/v3/types/{tid}/os-volume-type-access")
    conforms(s.list_type_access, access)
    assert access.json["volume_type_access"] == [{"volume_type_id": tid,
                                                  "project_id": project}]
    assert volenv.alice.get(f"/v3/types/{tid}").json["volume_type"]["name"] == "secret"
    assert volenv.create(name="v", volume_type="secret")["volume_type"] == "secret"
    err(volenv.bob.get(f"/v3/types/{tid}"), 404, tid)  # another project still cannot

    removed = volenv.admin.post(f"/v3/types/{tid}/action", json={"removeProjectAccess": {
        "project": project}})
    conforms(s.remove_type_access, removed)
    err(volenv.alice.get(f"/v3/types/{tid}"), 404, tid)
    err(volenv.admin.post(f"/v3/types/{tid}/action", json={"removeProjectAccess": {
        "project": project}}), 404, "not found")
    err(volenv.admin.get(f"/v3/types/{DEFAULT_TYPE_ID}/os-volume-type-access"), 404,
        "public volume types")
    err(volenv.admin.post(f"/v3/types/{DEFAULT_TYPE_ID}/action", json={"addProjectAccess": {
        "project": project}}), 400, "public volume type")
    err(volenv.admin.post(f"/v3/types/{tid}/action", json={"frobnicate": {}}), 400,
        "frobnicate")


def test_extra_specs(volenv):
    s = _types()
    tid = _create(volenv, "gold")["id"]
    base = f"/v3/types/{tid}/extra_specs"
    created = volenv.admin.post(base, json={"extra_specs": {"k1": "v1", "multiattach":
                                                           "<is> False"}})
    conforms(s.create_volume_types_extra_specs, created)
    listed = volenv.admin.get(base)
    conforms(s.list_volume_types_extra_specs, listed)
    assert listed.json["extra_specs"] == {"k1": "v1", "multiattach": "<is> False"}
    assert volenv.alice.get(base).json["extra_specs"] == {"multiattach": "<is> False"}
    shown = volenv.admin.get(f"{base}/k1")
    conforms(s.show_volume_types_extra_specs, shown)
    assert shown.json == {"k1": "v1"}
    err(volenv.alice.get(f"{base}/k1"), 404, "k1")  # not user-visible
    updated = volenv.admin.put(f"{base}/k1", json={"k1": "v2"})
    conforms(s.update_volume_type_extra_specs, updated)
    assert updated.json == {"k1": "v2"}
    err(volenv.admin.put(f"{base}/k1", json={"k2": "v"}), 400, "mismatch")
    err(volenv.admin.put(f"{base}/k1", json={"k1": "a", "k2": "b"}), 400, "too many")
    err(volenv.admin.put(f"{base}/k1", json={}), 400, "")
    err(volenv.admin.post(base, json={"extra_specs": {" bad": "x"}}), 400, "not allowed")
    err(volenv.admin.post(base, json={"extra_specs": {"k": 1}}), 400, "extra_specs")
    deleted = volenv.admin.delete(f"{base}/k1")
    conforms(s.delete_volume_types_extra_specs, deleted)
    err(volenv.admin.delete(f"{base}/k1"), 404, "k1")
    err(volenv.admin.get(f"{base}/k1"), 404, "k1")
    err(volenv.admin.get("/v3/types/nope/extra_specs"), 404, "nope")
    err(volenv.admin.post("/v3/types/nope/extra_specs", json={"extra_specs": {"a": "b"}}),
        404, "nope")
    err(volenv.alice.post(base, json={"extra_specs": {"a": "b"}}), 403, "policy")
    assert volenv.admin.get(f"/v3/types/{tid}").json["volume_type"]["extra_specs"] == {
        "multiattach": "<is> False"}


def test_type_fields_do_not_depend_on_the_microversion(volenv):
    """Types have no microversioned fields: 3.0 and 3.70 answer the same."""
    old = volenv.alice.get("/v3/types/default", headers={"OpenStack-API-Version": "volume 3.0"})
    new = volenv.alice.get("/v3/types/default", headers=MV)
    assert old.json == new.json
