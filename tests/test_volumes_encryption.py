"""Volume type encryption (``/types/{id}/encryption``): specs stored and shown as Cinder's
(checked against Tempest's schemas), refused while volumes of the type exist, volumes of an
encrypted type ``encrypted: true`` and never attached (minicloud encrypts nothing)."""
from __future__ import annotations

import uuid

from tests.test_volumes_api_shapes import conforms, tempest_schema
from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, err, wait_status

SERVER = "0b3b4f4e-2222-4c1e-9d7a-3a3a3a3a3a3a"
SPEC = {"provider": "LuksEncryptor", "key_size": 256, "cipher": "aes-xts-plain64",
        "control_location": "front-end"}


def _type(env, name: str = "luks") -> str:
    return env.admin.post("/v3/types", json={"volume_type": {"name": name}}
                          ).json["volume_type"]["id"]


def test_tempest_encryption_create_get_update_delete(volenv):
    """What Tempest's test_volume_type_encryption_create_get_update_delete does."""
    s = tempest_schema("encryption_types")
    type_id = _type(volenv)
    path = f"/v3/types/{type_id}/encryption"
    empty = volenv.admin.get(path)
    conforms(s.show_encryption_type, empty)
    assert empty.json == {}
    created = volenv.admin.post(path, json={"encryption": SPEC})
    conforms(s.create_encryption_type, created)
    enc = created.json["encryption"]
    assert {k: enc[k] for k in SPEC} == SPEC and enc["volume_type_id"] == type_id
    shown = volenv.admin.get(path)
    conforms(s.show_encryption_type, shown)
    assert {k: shown.json[k] for k in SPEC} == SPEC
    assert shown.json["encryption_id"] == enc["encryption_id"]
    update = {"key_size": 128, "provider": "SomeProvider", "cipher": "aes-xts-plain64",
              "control_location": "back-end"}
    updated = volenv.admin.put(f"{path}/{enc['encryption_id']}", json={"encryption": update})
    conforms(s.update_encryption_type, updated)
    assert updated.json == {"encryption": update}
    shown = volenv.admin.get(path).json
    assert {k: shown[k] for k in update} == update and shown["updated_at"] is not None
    item = volenv.admin.get(f"{path}/cipher")
    conforms(s.show_encryption_specs_item, item)
    assert item.json == {"cipher": "aes-xts-plain64"}
    err(volenv.admin.get(f"{path}/frobs"), 404, "does not exist")
    deleted = volenv.admin.delete(f"{path}/{enc['encryption_id']}")
    conforms(s.delete_encryption_type, deleted)
    assert volenv.admin.get(path).json == {}
    err(volenv.admin.delete(f"{path}/{enc['encryption_id']}"), 404,
        f"Volume type encryption for type {type_id} does not exist.")


def test_refusals(volenv):
    type_id = _type(volenv)
    path = f"/v3/types/{type_id}/encryption"
    missing = str(uuid.uuid4())
    # Tempest's negative test: a nonexistent type is a 404.
    err(volenv.admin.post(f"/v3/types/{missing}/encryption", json={"encryption": SPEC}), 404,
        f"Volume type {missing} could not be found.")
    err(volenv.admin.get(f"/v3/types/{missing}/encryption"), 404, "could not be found")
    err(volenv.admin.put(f"{path}/x", json={"encryption": {"cipher": "c"}}), 404,
        "does not exist")
    for body, text in (({"encryption": {"provider": "p"}}, "control_location"),
                       ({"encryption": {**SPEC, "control_location": "middle"}}, "middle"),
                       ({"encryption": {**SPEC, "key_size": -1}}, "key_size"),
                       ({"encryption": {**SPEC, "key_size": "big"}}, "key_size"),
                       ({"encryption": {**SPEC, "colour": "red"}}, "colour"),
                       ({"encryption": {**SPEC, "provider": None}}, "provider")):
        err(volenv.admin.post(path, json=body), 400, text)
    assert volenv.admin.get(path).json == {}
    # key_size as a digit string is taken, as Cinder's; a second spec is refused.
    created = volenv.admin.post(path, json={"encryption": {**SPEC, "key_size": "512"}})
    assert created.json["encryption"]["key_size"] == 512
    err(volenv.admin.post(path, json={"encryption": SPEC}), 400,
        f"Volume type encryption for type {type_id} already exists.")
    # Admin-only: a member of the project is refused every route.
    for resp in (volenv.alice.get(path), volenv.alice.get(f"{path}/cipher"),
                 volenv.alice.post(path, json={"encryption": SPEC}),
                 volenv.alice.put(f"{path}/x", json={"encryption": {"cipher": "c"}}),
                 volenv.alice.delete(f"{path}/x")):
        err(resp, 403, "policy")


def test_volumes_of_an_encrypted_type_are_encrypted_and_never_attached(volenv):
    type_id = _type(volenv)
    plain = volenv.create(size=1)
    path = f"/v3/types/{type_id}/encryption"
    volenv.admin.post(path, json={"encryption": SPEC})
    enc_id = volenv.admin.get(path).json["encryption_id"]
    vol = volenv.create(size=1, volume_type="luks")
    volenv.wait(vol["id"], "available")
    assert volenv.show(vol["id"])["encrypted"] is True
    assert volenv.show(plain["id"])["encrypted"] is False
    listed = {v["id"]: v["encrypted"] for v in
              volenv.alice.get("/v3/volumes/detail", headers=MV).json["volumes"]}
    assert listed == {vol["id"]: True, plain["id"]: False}
    action = f"/v3/volumes/{vol['id']}/action"
    for resp in (volenv.alice.post("/v3/attachments", headers=MV, json={"attachment": {
                     "volume_uuid": vol["id"], "instance_uuid": SERVER}}),
                 volenv.alice.post(action, json={"os-reserve": {}}),
                 volenv.alice.post(action, json={"os-attach": {
                     "instance_uuid": SERVER, "mountpoint": "/dev/vdc"}})):
        err(resp, 400, "minicloud does not encrypt volume data")
    assert volenv.show(vol["id"])["status"] == "available"
    # The spec describes the volumes made under it: no change while any exists.
    for resp, verb in ((volenv.admin.put(f"{path}/{enc_id}", json={"encryption": {
                           "cipher": "other"}}), "update"),
                       (volenv.admin.delete(f"{path}/{enc_id}"), "delete")):
        err(resp, 400, f"Cannot {verb} encryption specs. Volume type in use.")
    other = _type(volenv, "plain-with-volumes")
    volenv.create(size=1, volume_type="plain-with-volumes")
    err(volenv.admin.post(f"/v3/types/{other}/encryption", json={"encryption": SPEC}), 400,
        "Cannot create encryption specs. Volume type in use.")
    assert volenv.admin.get(path).json["cipher"] == SPEC["cipher"]
    # Once the volume is gone the spec may go too.
    assert volenv.alice.delete(f"/v3/volumes/{vol['id']}").status_code == 202
    wait_status(lambda: {"status": volenv.admin.get(f"/v3/volumes/{vol['id']}").status_code},
                404)
    assert volenv.admin.delete(f"{path}/{enc_id}").status_code == 202
