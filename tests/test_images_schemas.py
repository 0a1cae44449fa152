"""Glance's published schemas (``/v2/schemas/...``): what they declare, and that everything
the API returns conforms to them in every status (python-glanceclient validates images
against ``/v2/schemas/image`` and refuses those that do not)."""
from __future__ import annotations

import uuid

import jsonschema
import pytest
from jsonschema import Draft4Validator

from images import states
from images.schema import IMAGE
from images.schemas_doc import image_schema
from tests.images_fixtures import *  # noqa: F403 - the fixtures
from tests.images_fixtures import err

DATA = bytes(range(250)) * 40


def _doc(env, name: str) -> dict:
    resp = env.reader.get(f"/v2/schemas/{name}")
    assert resp.status_code == 200, resp.json
    Draft4Validator.check_schema(resp.json)
    return resp.json


def test_image_schema_declares_what_glance_declares(images_env):
    doc = _doc(images_env, "image")
    assert doc["name"] == "image"
    assert doc["additionalProperties"] == {"type": "string"}
    assert doc["links"] == [{"rel": "self", "href": "{self}"},
                            {"rel": "enclosure", "href": "{file}"},
                            {"rel": "describedby", "href": "{schema}"}]
    props = doc["properties"]
    nullable_read_only = {"checksum": 32, "os_hash_algo": 64, "os_hash_value": 128}
    for key, length in nullable_read_only.items():
        assert props[key]["type"] == ["null", "string"] and props[key]["readOnly"] is True
        assert props[key]["maxLength"] == length
    for key in ("size", "virtual_size"):
        assert props[key]["type"] == ["null", "integer"] and props[key]["readOnly"] is True
    for key in ("status", "created_at", "updated_at", "direct_url", "self", "file",
                "schema", "stores"):
        assert props[key]["readOnly"] is True, key
    for key in ("id", "name", "visibility", "protected", "os_hidden", "owner", "min_ram",
                "min_disk", "disk_format", "container_format", "tags"):
        assert "readOnly" not in props[key], key
    assert props["status"]["enum"] == ["queued", "saving", "active", "killed", "deleted",
                                       "uploading", "importing", "pending_delete",
                                       "deactivated"]
    assert props["visibility"]["enum"] == ["community", "public", "private", "shared"]
    assert props["disk_format"]["enum"][0] is None and "qcow2" in props["disk_format"]["enum"]
    assert props["container_format"]["enum"][0] is None
    assert props["name"] == {"type": ["null", "string"], "maxLength": 255,
                             "description": "Descriptive name for the image"}
    assert props["tags"]["items"] == {"type": "string", "maxLength": 255}
    assert props["min_ram"]["type"] == props["min_disk"]["type"] == "integer"
    assert props["kernel_id"]["is_base"] is False and "pattern" in props["kernel_id"]
    assert props["locations"]["items"]["required"] == ["url", "metadata"]


def test_collection_and_member_schemas(images_env):
    images = _doc(images_env, "images")
    assert images["name"] == "images"
    assert images["properties"]["images"] == {"type": "array", "items": image_schema()}
    assert {k: v["type"] for k, v in images["properties"].items() if k != "images"} == \
        {"first": "string", "next": "string", "schema": "string"}
    assert [link["rel"] for link in images["links"]] == ["first", "next", "describedby"]
    member = _doc(images_env, "member")
    assert member["name"] == "member" and "additionalProperties" not in member
    assert member["properties"]["status"]["enum"] == ["pending", "accepted", "rejected"]
    assert member["properties"]["schema"] == {"readOnly": True, "type": "string"}
    members = _doc(images_env, "members")
    assert members["properties"]["members"]["items"] == member
    assert members["links"] == [{"rel": "describedby", "href": "{schema}"}]
    err(images_env.reader.get("/v2/schemas/metadefs"), 404, "No schema")
    err(images_env.anonymous.get("/v2/schemas/image"), 401, "authentication")


def _set_status(env, image_id: str, old: str, new: str) -> None:
    with env.db.session() as s:
        states.transition(s, image_id, old, new)


def test_every_image_conforms_in_every_status(images_env):
    """What glanceclient checks: queued (null checksum/size/hashes), saving, uploading,
    importing, active, deactivated, killed; integer sizes; custom properties; tags."""
    env = images_env
    validator = Draft4Validator(_doc(env, "image"))
    alice = env.alice
    body = {"disk_format": "raw", "container_format": "bare", "name": None,
            "tags": ["a"], "hw_firmware_type": "uefi", "kernel_id": str(uuid.uuid4()),
            "os_distro": "debian"}
    ids = {}
    for status in ("queued", "saving", "uploading", "importing", "killed", "active",
                   "deactivated"):
        ids[status] = alice.create(**body)["id"]
    for status in ("saving", "uploading", "importing"):
        _set_status(env, ids[status], "queued", status)
    _set_status(env, ids["killed"], "queued", "saving")
    _set_status(env, ids["killed"], "saving", "killed")
    for status in ("active", "deactivated"):
        assert alice.upload(ids[status], DATA).status_code == 204
    assert alice.post(f"/v2/images/{ids['deactivated']}/actions/deactivate"
                      ).status_code == 204
    for status, image_id in ids.items():
        for user in (alice, env.admin):  # the admin also sees direct_url
            shown = user.show(image_id)
            assert shown["status"] == status
            validator.validate(shown)
    active = alice.show(ids["active"])
    assert isinstance(active["size"], int) and active["stores"] == "file"
    queued = alice.show(ids["queued"])
    assert queued["checksum"] is queued["size"] is queued["os_hash_value"] is None
    page = alice.get("/v2/images?member_status=all").json
    Draft4Validator(_doc(env, "images")).validate(page)
    assert len(page["images"]) == len(ids)


def test_members_conform(images_env):
    env = images_env
    img = env.alice.create(name="s")
    member = env.alice.post(f"/v2/images/{img['id']}/members",
                            json={"member": env.bob.project_id}).json
    Draft4Validator(_doc(env, "member")).validate(member)
    listing = env.alice.get(f"/v2/images/{img['id']}/members").json
    Draft4Validator(_doc(env, "members")).validate(listing)


@pytest.mark.parametrize("value", ["not-a-uuid", 5])
def test_request_schema_is_the_published_one_tightened(value):
    """A create body is checked against the published schema (plus Glance's domain
    limits), so what the schema refuses is never stored."""
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"kernel_id": value}, image_schema())
    with pytest.raises(jsonschema.ValidationError):
        Draft4Validator(IMAGE).validate({"kernel_id": value})
    Draft4Validator(IMAGE).validate({"min_ram": 0, "min_disk": 2 ** 31 - 1, "x": "y"})
    for bad in ({"min_ram": -1}, {"min_disk": 2 ** 31}, {"x": "y" * 65536}):
        with pytest.raises(jsonschema.ValidationError):
            Draft4Validator(IMAGE).validate(bad)
