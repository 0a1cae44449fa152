"""Microversion-true bodies: each field appears from the microversion that introduced it.

The exact key sets below are those Tempest 47's compute response schemas allow (their
``additionalProperties: false``) and require; ``test_bodies_pass_tempest_schemas`` also runs
Tempest's own validator (``RestClient.validate_response``, in ``.venv-tempest``) over the
bodies the API returns at every microversion range Tempest distinguishes.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.compute_fixtures import *  # noqa: F403
from tests.compute_fixtures import IMAGE_ID, VOLUME_IDS, mv
from tests.tempest_schemas import COMPUTE_CLIENTS, assert_valid

BASE = {"id", "name", "status", "tenant_id", "user_id", "metadata", "hostId", "image",
        "flavor", "created", "updated", "addresses", "accessIPv4", "accessIPv6", "links",
        "OS-DCF:diskConfig", "OS-EXT-AZ:availability_zone", "config_drive", "key_name",
        "OS-SRV-USG:launched_at", "OS-SRV-USG:terminated_at", "OS-EXT-STS:task_state",
        "OS-EXT-STS:vm_state", "OS-EXT-STS:power_state",
        "os-extended-volumes:volumes_attached", "security_groups", "progress"}
ADMIN_21 = {"OS-EXT-SRV-ATTR:host", "OS-EXT-SRV-ATTR:hypervisor_hostname",
            "OS-EXT-SRV-ATTR:instance_name"}
ADMIN_23 = {"OS-EXT-SRV-ATTR:hostname", "OS-EXT-SRV-ATTR:reservation_id",
            "OS-EXT-SRV-ATTR:launch_index", "OS-EXT-SRV-ATTR:kernel_id",
            "OS-EXT-SRV-ATTR:ramdisk_id", "OS-EXT-SRV-ATTR:root_device_name",
            "OS-EXT-SRV-ATTR:user_data"}
SERVER_KEYS = {  # a member's GET /servers/{id}
    "2.1": BASE,
    "2.19": BASE | {"locked", "description"},
    "2.47": BASE | {"locked", "description", "tags"},
    "2.55": BASE | {"locked", "description", "tags"},
    "2.61": BASE | {"locked", "description", "tags"},
    "2.71": BASE | {"locked", "description", "tags", "trusted_image_certificates",
                    "server_groups"},
    "2.96": BASE | {"locked", "description", "tags", "trusted_image_certificates",
                    "server_groups", "locked_reason", "pinned_availability_zone",
                    "OS-EXT-SRV-ATTR:hostname"},
}
FLAVOR_FULL = {"id", "name", "links", "ram", "disk", "vcpus", "swap",
               "OS-FLV-EXT-DATA:ephemeral", "OS-FLV-DISABLED:disabled",
               "os-flavor-access:is_public", "rxtx_factor"}
FLAVOR_KEYS = {"2.1": FLAVOR_FULL, "2.19": FLAVOR_FULL, "2.47": FLAVOR_FULL,
               "2.55": FLAVOR_FULL | {"description"}, "2.61": FLAVOR_FULL | {"description",
                                                                              "extra_specs"},
               "2.71": FLAVOR_FULL | {"description", "extra_specs"},
               "2.96": FLAVOR_FULL | {"description", "extra_specs"}}


@pytest.fixture
def server_id(compute_env) -> str:
    return compute_env.create_server(metadata={"k": "v"})


@pytest.mark.parametrize("version", sorted(SERVER_KEYS))
def test_server_keys_per_microversion(compute_env, server_id, version):
    shown = compute_env.alice.get(f"/v2.1/servers/{server_id}", headers=mv(version))
    assert shown.headers["OpenStack-API-Version"] == f"compute {version}"
    assert set(shown.get_json()["server"]) == SERVER_KEYS[version]
    (listed,) = compute_env.alice.get("/v2.1/servers/detail", headers=mv(version)
                                      ).get_json()["servers"]
    assert set(listed) == SERVER_KEYS[version] - {"server_groups"}  # show only


def test_admin_sees_the_extended_attributes_from_their_microversion(compute_env, server_id):
    keys = {v: set(compute_env.admin.get(f"/v2.1/servers/{server_id}", headers=mv(v))
                   .get_json()["server"]) for v in ("2.1", "2.3", "2.16", "2.96")}
    assert keys["2.1"] == BASE | ADMIN_21
    assert keys["2.3"] == BASE | ADMIN_21 | ADMIN_23
    assert keys["2.16"] - keys["2.3"] == {"locked", "host_status"}
    assert {"host_status", "pinned_availability_zone"} <= keys["2.96"]
    shown = compute_env.admin.get(f"/v2.1/servers/{server_id}", headers=mv("2.16")).get_json()
    assert shown["server"]["host_status"] == "UP"


def test_flavor_embedded_from_2_47(compute_env, server_id):
    at = {v: compute_env.alice.get(f"/v2.1/servers/{server_id}", headers=mv(v))
          .get_json()["server"]["flavor"] for v in ("2.46", "2.47")}
    assert at["2.46"] == {"id": "6", "links": [
        {"rel": "bookmark", "href": "http://localhost/flavors/6"}]}
    assert at["2.47"] == {"vcpus": 1, "ram": 256, "disk": 1, "ephemeral": 1, "swap": 0,
                          "original_name": "lab.nano", "extra_specs": {}}


def test_volumes_attached_gain_delete_on_termination_at_2_3(compute_env, server_id):
    assert compute_env.alice.post(f"/v2.1/servers/{server_id}/os-volume_attachments", json={
        "volumeAttachment": {"volumeId": VOLUME_IDS[0]}}).status_code == 200
    compute_env.work()
    for version, item in (("2.1", {"id": VOLUME_IDS[0]}),
                          ("2.3", {"id": VOLUME_IDS[0], "delete_on_termination": False})):
        server = compute_env.alice.get(f"/v2.1/servers/{server_id}", headers=mv(version)
                                       ).get_json()["server"]
        assert server["os-extended-volumes:volumes_attached"] == [item]


@pytest.mark.parametrize("version", sorted(FLAVOR_KEYS))
def test_flavor_keys_per_microversion(compute_env, version):
    shown = compute_env.alice.get("/v2.1/flavors/1", headers=mv(version)).get_json()["flavor"]
    assert set(shown) == FLAVOR_KEYS[version]
    (first, *_) = compute_env.alice.get("/v2.1/flavors", headers=mv(version)
                                        ).get_json()["flavors"]
    assert set(first) == {"id", "name", "links"} | (
        {"description"} if version in ("2.55", "2.61", "2.71", "2.96") else set())


def test_swap_is_empty_string_before_2_75(compute_env):
    swap = {v: compute_env.alice.get("/v2.1/flavors/1", headers=mv(v)).get_json()[
        "flavor"]["swap"] for v in ("2.74", "2.75")}
    assert swap == {"2.74": "", "2.75": 0}


def test_update_body_is_short_before_2_75_and_a_full_show_after(compute_env, server_id):
    def put(version: str) -> set:
        resp = compute_env.alice.put(f"/v2.1/servers/{server_id}", headers=mv(version),
                                     json={"server": {"name": "renamed"}})
        assert resp.status_code == 200, resp.get_json()
        return set(resp.get_json()["server"])

    assert put("2.1") == BASE - {
        "OS-EXT-AZ:availability_zone", "config_drive", "key_name", "OS-SRV-USG:launched_at",
        "OS-SRV-USG:terminated_at", "OS-EXT-STS:task_state", "OS-EXT-STS:vm_state",
        "OS-EXT-STS:power_state", "os-extended-volumes:volumes_attached",
        "security_groups"}
    assert put("2.75") == SERVER_KEYS["2.71"] | {"locked_reason"}


def test_attachment_keys_per_microversion(compute_env, server_id):
    body = {"volumeAttachment": {"volumeId": VOLUME_IDS[0]}}
    created = compute_env.alice.post(f"/v2.1/servers/{server_id}/os-volume_attachments",
                                     json=body, headers=mv("2.89")).get_json()
    assert set(created["volumeAttachment"]) == {"id", "serverId", "volumeId", "device",
                                                "tag", "delete_on_termination"}
    path = f"/v2.1/servers/{server_id}/os-volume_attachments/{VOLUME_IDS[0]}"
    keys = {v: set(compute_env.alice.get(path, headers=mv(v)).get_json()["volumeAttachment"])
            for v in ("2.1", "2.70", "2.79", "2.89")}
    assert keys["2.1"] == {"id", "serverId", "volumeId", "device"}
    assert keys["2.70"] == keys["2.1"] | {"tag"}
    assert keys["2.79"] == keys["2.70"] | {"delete_on_termination"}
    assert keys["2.89"] == keys["2.79"] - {"id"} | {"attachment_id", "bdm_uuid"}


def test_quota_and_limit_keys_shrink_at_2_36_and_2_57(compute_env):
    path = f"/v2.1/os-quota-sets/{compute_env.alice.project_id}"
    keys = {v: set(compute_env.alice.get(path, headers=mv(v)).get_json()["quota_set"])
            for v in ("2.1", "2.36", "2.57")}
    assert keys["2.57"] == {"id", "instances", "cores", "ram", "metadata_items", "key_pairs",
                            "server_groups", "server_group_members"}
    assert keys["2.36"] - keys["2.57"] == {"injected_files", "injected_file_content_bytes",
                                           "injected_file_path_bytes"}
    assert keys["2.1"] - keys["2.36"] == {"floating_ips", "fixed_ips", "security_groups",
                                          "security_group_rules"}
    limits = {v: set(compute_env.alice.get("/v2.1/limits", headers=mv(v)).get_json()[
        "limits"]["absolute"]) for v in ("2.1", "2.39", "2.57")}
    assert "maxImageMeta" in limits["2.1"] and "maxImageMeta" not in limits["2.39"]
    assert "maxPersonality" in limits["2.39"] and "maxPersonality" not in limits["2.57"]
    assert "maxTotalFloatingIps" not in limits["2.39"]


def test_hypervisor_resources_until_2_88(compute_env):
    (old,) = compute_env.admin.get("/v2.1/os-hypervisors/detail", headers=mv("2.87")
                                   ).get_json()["hypervisors"]
    (new,) = compute_env.admin.get("/v2.1/os-hypervisors/detail", headers=mv("2.88")
                                   ).get_json()["hypervisors"]
    assert {"vcpus", "memory_mb_used", "cpu_info", "running_vms"} <= set(old)
    assert "uptime" not in old
    assert set(new) == {"id", "hypervisor_hostname", "state", "status", "hypervisor_type",
                        "hypervisor_version", "host_ip", "service", "uptime"}
    assert isinstance(old["cpu_info"], dict)
    (v21,) = compute_env.admin.get("/v2.1/os-hypervisors/detail").get_json()["hypervisors"]
    assert isinstance(v21["cpu_info"], str)  # a JSON string before 2.28


def test_services_gain_forced_down_at_2_11(compute_env):
    (old,) = compute_env.admin.get("/v2.1/os-services", headers=mv("2.10")).get_json()[
        "services"]
    (new,) = compute_env.admin.get("/v2.1/os-services", headers=mv("2.11")).get_json()[
        "services"]
    assert set(new) - set(old) == {"forced_down"}


# -- against Tempest's own validator ---------------------------------------------------------------
CLIENTS = COMPUTE_CLIENTS
TEMPEST_VERSIONS = ("2.1", "2.3", "2.9", "2.16", "2.19", "2.26", "2.45", "2.47", "2.48",
                    "2.54", "2.57", "2.61", "2.63", "2.70", "2.71", "2.73", "2.75", "2.79",
                    "2.89", "2.96")


def _cases(env, server_id: str, version: str) -> list[dict]:
    headers = mv(version)
    out = []

    def add(client: str, op: str, who, method: str, path: str, **kw) -> None:
        resp = who.client.open(path, method=method,
                               headers={"X-Auth-Token": who.token, **headers}, **kw)
        assert resp.status_code < 300, (path, version, resp.get_json())
        out.append({"client": f"{CLIENTS}.{client}", "op": op, "version": version,
                    "status": resp.status_code, "body": resp.get_json()})

    servers, flavors = "servers_client.ServersClient", "flavors_client.FlavorsClient"
    for who in (env.alice, env.admin):
        add(servers, "get_server", who, "GET", f"/v2.1/servers/{server_id}")
        add(servers, "list_servers_detail", who, "GET", "/v2.1/servers/detail?all_tenants=1"
            if who is env.admin else "/v2.1/servers/detail")
        add(servers, "update_server", who, "PUT", f"/v2.1/servers/{server_id}",
            json={"server": {"name": "vm"}})
    add(servers, "list_servers", env.alice, "GET", "/v2.1/servers")
    add(servers, "list_volume_attachments", env.alice, "GET",
        f"/v2.1/servers/{server_id}/os-volume_attachments")
    add(servers, "show_volume_attachment", env.alice, "GET",
        f"/v2.1/servers/{server_id}/os-volume_attachments/{VOLUME_IDS[1]}")
    add(flavors, "list_flavors", env.alice, "GET", "/v2.1/flavors")
    add(flavors, "list_flavors_details", env.alice, "GET", "/v2.1/flavors/detail")
    add(flavors, "create_update_get_flavor_details", env.alice, "GET", "/v2.1/flavors/6")
    if int(version.split(".")[1]) < 88:  # Tempest 47 has no schema for 2.88's smaller hypervisors
        hypervisors = "hypervisor_client.HypervisorClient"
        add(hypervisors, "list_hypervisors_detail", env.admin, "GET",
            "/v2.1/os-hypervisors/detail")
        add(hypervisors, "get_hypervisor", env.admin, "GET", "/v2.1/os-hypervisors/" + str(
            env.admin.get("/v2.1/os-hypervisors", headers=headers).get_json()[
                "hypervisors"][0]["id"]))
    add("services_client.ServicesClient", "list_services", env.admin, "GET",
        "/v2.1/os-services")
    add("quotas_client.QuotasClient", "get_quota_set", env.alice, "GET",
        f"/v2.1/os-quota-sets/{env.alice.project_id}")
    add("quotas_client.QuotasClient", "get_quota_set_details", env.alice, "GET",
        f"/v2.1/os-quota-sets/{env.alice.project_id}/detail")
    add("limits_client.LimitsClient", "get_limit", env.alice, "GET", "/v2.1/limits")
    return out


def test_bodies_pass_tempest_schemas(compute_env, tmp_path: Path):
    env = compute_env
    server_id = env.create_server(metadata={"k": "v"})
    env.alice.post(f"/v2.1/servers/{server_id}/os-volume_attachments",
                   json={"volumeAttachment": {"volumeId": VOLUME_IDS[1]}})
    env.work()
    stopped = env.create_server(name="stopped", imageRef=IMAGE_ID)
    env.alice.post(f"/v2.1/servers/{stopped}/action", json={"os-stop": None})
    env.work()
    cases = [c for v in TEMPEST_VERSIONS for c in _cases(env, server_id, v)]
    assert_valid(cases, tmp_path)
