"""The unmodified `openstack` CLI (.venv-osc) against a running minicloud: regions,
services, endpoints, the catalog, application credentials (and authenticating with one),
credentials."""
from __future__ import annotations

import pytest

from tests.conftest import osc_runner

pytestmark = [pytest.mark.osc, pytest.mark.real]


@pytest.fixture(scope="module")
def osc(cloud):
    return osc_runner(cloud.os_env())


def test_region_create_list_delete(osc):
    made = osc("region", "create", "--description", "lab room 2", "osc-region", as_json=True)
    assert (made["region"], made["description"]) == ("osc-region", "lab room 2")
    osc("region", "create", "--parent-region", "osc-region", "osc-child")
    regions = {r["Region"]: r for r in osc("region", "list", as_json=True)}
    assert regions["osc-child"]["Parent Region"] == "osc-region"
    assert "RegionOne" in regions
    osc("region", "delete", "osc-child", "osc-region")
    assert "osc-region" not in {r["Region"] for r in osc("region", "list", as_json=True)}


def test_service_and_endpoint_lifecycle(osc):
    svc = osc("service", "create", "--name", "osc-metrics", "--description", "metrics",
              "metric", as_json=True)
    assert (svc["type"], svc["name"], svc["enabled"]) == ("metric", "osc-metrics", True)
    assert "osc-metrics" in {s["Name"] for s in osc("service", "list", as_json=True)}
    assert osc("service", "show", "osc-metrics", as_json=True)["id"] == svc["id"]
    ep = osc("endpoint", "create", "--region", "RegionOne", "osc-metrics", "internal",
             "http://metrics.example:8041/v1", as_json=True)
    assert (ep["interface"], ep["url"], ep["service_name"]) == \
        ("internal", "http://metrics.example:8041/v1", "osc-metrics")
    listed = osc("endpoint", "list", "--service", "osc-metrics", as_json=True)
    assert [e["ID"] for e in listed] == [ep["id"]]
    assert listed[0]["Service Name"] == "osc-metrics"
    assert ep["id"] in {e["ID"] for e in osc("endpoint", "list", "--interface", "internal",
                                              as_json=True)}
    shown = osc("endpoint", "show", ep["id"], as_json=True)
    assert (shown["region"], shown["service_type"]) == ("RegionOne", "metric")
    osc("endpoint", "delete", ep["id"])
    osc("service", "delete", "osc-metrics")
    assert "osc-metrics" not in {s["Name"] for s in osc("service", "list", as_json=True)}


def test_catalog_list_and_the_registered_endpoints(osc, cloud):
    catalog = {e["Type"]: e for e in osc("catalog", "list", as_json=True)}
    assert {"identity", "image", "compute", "volumev3", "block-storage"} <= set(catalog)
    assert f"127.0.0.1:{cloud.ports['compute']}/v2.1" in str(catalog["compute"]["Endpoints"])
    endpoints = osc("endpoint", "list", "--interface", "public", as_json=True)
    urls = {e["Service Type"]: e["URL"] for e in endpoints}
    assert urls["volumev3"] == f"http://127.0.0.1:{cloud.ports['volume']}/v3/$(project_id)s"
    assert urls["identity"] == f"http://127.0.0.1:{cloud.ports['identity']}/v3"


def test_application_credential_lifecycle_and_authentication(osc, cloud):
    made = osc("application", "credential", "create", "--description", "for CI",
               "osc-appcred", as_json=True)
    assert made["Secret"] and made["Name"] == "osc-appcred"
    assert {r["name"] for r in made["Roles"]} == {"admin", "manager", "member", "reader"}
    only = osc("application", "credential", "create", "--role", "reader", "osc-reader",
               as_json=True)
    assert [r["name"] for r in only["Roles"]] == ["reader"]
    osc("application", "credential", "delete", "osc-reader")
    assert "osc-appcred" in {a["Name"] for a in osc("application", "credential", "list",
                                                    as_json=True)}
    shown = osc("application", "credential", "show", "osc-appcred", as_json=True)
    assert shown["ID"] == made["ID"] and "Secret" not in shown
    # only the application credential's variables: none of the admin's
    app_env = {"OS_AUTH_TYPE": "v3applicationcredential",
               "OS_AUTH_URL": cloud.credentials["auth_url"],
               "OS_APPLICATION_CREDENTIAL_ID": made["ID"],
               "OS_APPLICATION_CREDENTIAL_SECRET": made["Secret"]}
    as_app = osc_runner(app_env)
    token = as_app("token", "issue", as_json=True)
    assert token["project_id"] == made["Project ID"]
    assert "image" in {e["Type"] for e in as_app("catalog", "list", as_json=True)}
    as_app("image", "list", as_json=True)  # another service accepts the token
    wrong = osc_runner({**app_env, "OS_APPLICATION_CREDENTIAL_SECRET": "wrong"})
    assert wrong("token", "issue", check=False).returncode != 0
    osc("application", "credential", "delete", "osc-appcred")
    assert as_app("token", "issue", check=False).returncode != 0


def test_credential_create_list_delete(osc, cloud):
    made = osc("credential", "create", "--type", "cert", cloud.credentials["username"],
               "-----BEGIN CERTIFICATE-----", as_json=True)
    assert made["type"] == "cert"
    listed = {c["ID"]: c for c in osc("credential", "list", as_json=True)}
    assert listed[made["id"]]["Data"] == "-----BEGIN CERTIFICATE-----"
    osc("credential", "delete", made["id"])
    assert made["id"] not in {c["ID"] for c in osc("credential", "list", as_json=True)}


def test_ec2_credentials(osc):
    made = osc("ec2", "credentials", "create", as_json=True)
    assert made["access"] and made["secret"]
    assert made["access"] in {c["Access"] for c in osc("ec2", "credentials", "list",
                                                       as_json=True)}
    shown = osc("ec2", "credentials", "show", made["access"], as_json=True)
    assert shown["secret"] == made["secret"]
    osc("ec2", "credentials", "delete", made["access"])
    assert made["access"] not in {c["Access"] for c in osc("ec2", "credentials", "list",
                                                           as_json=True)}
