"""Microversion-true bodies: every volume, attachment, service, limits, quota and type answer
validated against Tempest 47.0.0's own response schemas (``tempest/lib/api_schema/response/
volume``, read from ``.venv-tempest``) at the microversion each schema describes, for a
member and an admin, plus the exact keys a volume has at 3.0, 3.27, 3.48, 3.63, 3.65 and
3.70."""
from __future__ import annotations

import copy
import datetime as dt
import importlib
import sys
from pathlib import Path

import jsonschema
import pytest

from tests.volumes_fixtures import *  # noqa: F403

TEMPEST_SITE = (Path(__file__).resolve().parent.parent / ".venv-tempest" / "lib" /
                "python3.11" / "site-packages")
SCHEMA_PACKAGE = "tempest.lib.api_schema.response.volume"
SERVER = "0b3b4f4e-1111-4c1e-9d7a-3a3a3a3a3a3a"

#: The Tempest schema module that describes volumes at each microversion range.
VOLUME_SCHEMAS = ((0, "volumes"), (61, "v3_61.volumes"), (63, "v3_63.volumes"),
                  (64, "v3_64.volumes"), (65, "v3_65.volumes"), (69, "v3_69.volumes"))
VERSIONS = ("3.0", "3.13", "3.27", "3.48", "3.61", "3.63", "3.64", "3.65", "3.69", "3.70")

BASE_KEYS = {"id", "name", "links", "status", "size", "availability_zone", "created_at",
             "updated_at", "description", "volume_type", "snapshot_id", "source_volid",
             "metadata", "user_id", "bootable", "encrypted", "replication_status",
             "consistencygroup_id", "multiattach", "attachments"}
SHOWN_KEYS = {"os-vol-tenant-attr:tenant_id"}  # show and detail only, not create/update
ADMIN_KEYS = {"migration_status", "os-vol-host-attr:host", "os-vol-mig-status-attr:migstat",
              "os-vol-mig-status-attr:name_id"}


def tempest_schema(name: str):
    """A Tempest schema module, imported from ``.venv-tempest`` (plain data modules)."""
    if not TEMPEST_SITE.is_dir():
        pytest.fail(f"{TEMPEST_SITE} is missing: run `make setup`")
    sys.path.append(str(TEMPEST_SITE))
    try:
        return importlib.import_module(f"{SCHEMA_PACKAGE}.{name}")
    finally:
        sys.path.remove(str(TEMPEST_SITE))


def _iso8601(value) -> bool:
    if value is None:
        return True
    try:
        dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return True


CHECKER = copy.deepcopy(jsonschema.Draft4Validator.FORMAT_CHECKER)  # as Tempest's rest_client
CHECKER.checks("iso8601-date-time")(_iso8601)


def conforms(schema: dict, resp, body_key: str = "response_body") -> None:
    assert resp.status_code in schema["status_code"], (resp.status_code, resp.json)
    if body_key in schema:
        jsonschema.Draft4Validator(schema[body_key], format_checker=CHECKER).validate(resp.json)


def volume_module(version: str):
    minor = int(version.split(".")[1])
    return tempest_schema([name for since, name in VOLUME_SCHEMAS if minor >= since][-1])


def _hdr(version: str) -> dict:
    return {"OpenStack-API-Version": f"volume {version}"}


@pytest.fixture
def attached(volenv):
    """An in-use volume made from an image (attachments, image metadata: every field)."""
    vid = volenv.create(name="full", imageRef="raw-img", metadata={"a": "b"})["id"]
    volenv.wait(vid, "available")
    mv = _hdr("3.70")
    att = volenv.alice.post("/v3/attachments", headers=mv, json={"attachment": {
        "volume_uuid": vid, "instance_uuid": SERVER}}).json["attachment"]
    volenv.service.put(f"/v3/attachments/{att['id']}", headers=mv, json={
        "attachment": {"connector": {"host": "node1", "mountpoint": "/dev/vdc"}}})
    volenv.service.post(f"/v3/attachments/{att['id']}/action", headers=mv,
                        json={"os-complete": None})
    volenv.wait(vid, "in-use")
    return vid, att["id"]


@pytest.mark.parametrize("version", VERSIONS)
def test_volume_bodies_match_tempest_schemas(volenv, attached, version):
    vid, _ = attached
    schemas, headers = volume_module(version), _hdr(version)
    for who in (volenv.alice, volenv.admin):
        conforms(schemas.show_volume, who.get(f"/v3/volumes/{vid}", headers=headers))
        conforms(schemas.list_volumes_with_detail,
                 who.get("/v3/volumes/detail?limit=1", headers=headers))
        conforms(schemas.list_volumes_no_detail, who.get("/v3/volumes", headers=headers))
        # Cinder answers an update with the create answer's fields; Tempest's v3_61+
        # modules copy update_volume from the 3.0 schema (not updated for 3.61+ fields), so
        # the create schema of the version is the one that describes Cinder's answer.
        update = schemas.update_volume if int(version.split(".")[1]) < 61 else {
            **schemas.create_volume, "status_code": [200]}
        conforms(update, who.put(f"/v3/volumes/{vid}", headers=headers,
                                 json={"volume": {"name": "full"}}))
    created = volenv.alice.post("/v3/volumes", headers=headers, json={"volume": {"size": 1}})
    conforms(schemas.create_volume, created)
    for name, resp in (("show_volume_metadata", volenv.alice.get(
            f"/v3/volumes/{vid}/metadata", headers=headers)),
            ("create_volume_metadata", volenv.alice.post(
                f"/v3/volumes/{vid}/metadata", headers=headers, json={"metadata": {"c": "d"}})),
            ("update_volume_metadata_item", volenv.alice.put(
                f"/v3/volumes/{vid}/metadata/c", headers=headers, json={"meta": {"c": "e"}})),
            ("update_volume_image_metadata", volenv.alice.post(
                f"/v3/volumes/{vid}/action", headers=headers,
                json={"os-set_image_metadata": {"metadata": {"k": "v"}}}))):
        conforms(getattr(schemas, name), resp)


@pytest.mark.parametrize("version, added", [
    ("3.0", set()), ("3.27", {"group_id", "provider_id*"}),
    ("3.48", {"group_id", "provider_id*", "shared_targets", "service_uuid"}),
    ("3.63", {"group_id", "provider_id*", "shared_targets", "service_uuid", "cluster_name*",
              "volume_type_id"}),
    ("3.65", {"group_id", "provider_id*", "shared_targets", "service_uuid", "cluster_name*",
              "volume_type_id", "consumes_quota"}),
    ("3.70", {"group_id", "provider_id*", "shared_targets", "service_uuid", "cluster_name*",
              "volume_type_id", "consumes_quota"}),
])
def test_volume_keys_per_microversion(volenv, attached, version, added):
    """Exactly these keys (``*``: admins only); never a field of a later microversion."""
    vid, _ = attached
    headers = _hdr(version)
    member_added = {k for k in added if not k.endswith("*")}
    admin_added = {k.rstrip("*") for k in added}
    shown = volenv.alice.get(f"/v3/volumes/{vid}", headers=headers).json["volume"]
    assert set(shown) == BASE_KEYS | SHOWN_KEYS | member_added | {"volume_image_metadata"}
    as_admin = volenv.admin.get(f"/v3/volumes/{vid}", headers=headers).json["volume"]
    assert set(as_admin) == BASE_KEYS | SHOWN_KEYS | ADMIN_KEYS | admin_added | {
        "volume_image_metadata"}
    assert as_admin["os-vol-host-attr:host"] == "node1@fake#fake"
    created = volenv.alice.post("/v3/volumes", headers=headers,
                                json={"volume": {"size": 1}}).json["volume"]
    assert set(created) == BASE_KEYS | member_added  # no tenant, host or image attributes


def test_attachment_host_name_only_for_admins(volenv, attached):
    vid, _ = attached
    [mine] = volenv.alice.get(f"/v3/volumes/{vid}").json["volume"]["attachments"]
    [theirs] = volenv.admin.get(f"/v3/volumes/{vid}").json["volume"]["attachments"]
    assert (mine["host_name"], theirs["host_name"]) == (None, "node1")
    assert mine["server_id"] == SERVER and mine["device"] == "/dev/vdc"


def test_attachment_bodies_are_cinders(volenv, attached):
    vid, att_id = attached
    headers = _hdr("3.70")
    shown = volenv.alice.get(f"/v3/attachments/{att_id}", headers=headers).json["attachment"]
    assert set(shown) == {"id", "status", "instance", "volume_id", "attached_at",
                          "detached_at", "attach_mode", "connection_info"}
    assert shown["connection_info"] is None and shown["detached_at"] == ""
    assert dt.datetime.fromisoformat(shown["attached_at"])
    [summary] = volenv.alice.get("/v3/attachments", headers=headers).json["attachments"]
    assert summary == {"id": att_id, "status": "attached", "instance": SERVER,
                       "volume_id": vid}


@pytest.mark.parametrize("version, module, keys", [
    ("3.0", "services", set()), ("3.7", "v3_7.services", {"cluster"}),
    ("3.49", "v3_7.services", {"cluster", "backend_state"}),
])
def test_services_match_tempest_schemas(volenv, version, module, keys):
    resp = volenv.admin.get("/v3/os-services", headers=_hdr(version))
    conforms(tempest_schema(module).list_services, resp)
    service, backup = resp.json["services"]  # each volume agent also runs the backups
    base = {"binary", "host", "zone", "status", "state", "updated_at", "disabled_reason",
            "replication_status", "active_backend_id", "frozen"}
    assert set(service) == set(backup) == base | keys
    assert (service["binary"], service["host"], service["state"]) == \
        ("cinder-volume", "node1@fake", "up")
    assert (backup["binary"], backup["host"], backup["state"]) == \
        ("cinder-backup", "node1", "up")


def test_limits_quotas_and_types_match_tempest_schemas(volenv):
    project = volenv.alice.project_id
    conforms(tempest_schema("limits").show_limits, volenv.alice.get("/v3/limits"))
    quotas = tempest_schema("quotas")
    conforms(quotas.show_quota_set, volenv.alice.get(f"/v3/os-quota-sets/{project}"))
    conforms(quotas.show_quota_set, volenv.alice.get(f"/v3/os-quota-sets/{project}/defaults"))
    conforms(quotas.show_quota_set_usage,
             volenv.alice.get(f"/v3/os-quota-sets/{project}?usage=True"))
    types = tempest_schema("volume_types")
    for who in (volenv.alice, volenv.admin):
        conforms(types.list_volume_types, who.get("/v3/types"))
        [vtype] = who.get("/v3/types").json["volume_types"]
        conforms(types.show_volume_type, who.get(f"/v3/types/{vtype['id']}"))
    assert "qos_specs_id" not in volenv.alice.get("/v3/types").json["volume_types"][0]


def test_limits_of_another_project_from_3_39_for_admins(volenv):
    volenv.create(size=3, who=volenv.bob)
    asked = f"/v3/limits?project_id={volenv.bob.project_id}"
    used = volenv.admin.get(asked, headers=_hdr("3.39")).json["limits"]["absolute"]
    assert (used["totalVolumesUsed"], used["totalGigabytesUsed"]) == (1, 3)
    own = volenv.admin.get(asked, headers=_hdr("3.38")).json["limits"]["absolute"]
    assert own["totalVolumesUsed"] == 0  # before 3.39 the parameter is not read
    mine = volenv.alice.get(asked, headers=_hdr("3.39")).json["limits"]["absolute"]
    assert mine["totalVolumesUsed"] == 0  # not an admin: its own project


def test_availability_zones_and_extensions_as_tempest_reads_them(volenv):
    """A project reader lists the zone (available: the agent reports) and the extensions
    (whose body passes Tempest's schema; Tempest has none for the zones)."""
    zones = volenv.reader.get("/v3/os-availability-zone")
    assert zones.json["availabilityZoneInfo"] == [
        {"zoneName": "nova", "zoneState": {"available": True}}]
    exts = volenv.reader.get(f"/v3/{volenv.alice.project_id}/extensions")
    conforms(tempest_schema("extensions").list_extensions, exts)
    aliases = [e["alias"] for e in exts.json["extensions"]]
    assert "os-availability-zone" in aliases and "os-volume-actions" in aliases
    assert "backups" in aliases and "consistencygroups" not in aliases  # what this API does
