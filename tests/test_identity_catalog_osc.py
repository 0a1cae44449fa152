"""The unmodified `openstack` CLI (.venv-osc) against a running minicloud: regions,
services, endpoints, the catalog, application credentials (and authenticating with one),
credentials."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.conftest import OSC_BIN

pytestmark = [pytest.mark.osc, pytest.mark.real]


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def osc(cloud):
    if not OSC_BIN.exists():
        pytest.fail(f"{OSC_BIN} is missing: run `make setup`")
    admin = _env(cloud.os_env())

    def run(*args: str, env: dict[str, str] | None = None, check: bool = True):
        proc = subprocess.run([str(OSC_BIN), *args], capture_output=True, env=env or admin,
                              timeout=120, check=False, stdin=subprocess.DEVNULL)
        if check:
            assert proc.returncode == 0, f"openstack {' '.join(args)}: {proc.stderr.decode()}"
            out = proc.stdout.decode()
            return json.loads(out) if "-f" in args and "json" in args and out else out
        return proc

    return run


def test_region_create_list_delete(osc):
    made = osc("region", "create", "--description", "lab room 2", "osc-region", "-f", "json")
    assert (made["region"], made["description"]) == ("osc-region", "lab room 2")
    osc("region", "create", "--parent-region", "osc-region", "osc-child")
    regions = {r["Region"]: r for r in osc("region", "list", "-f", "json")}
    assert regions["osc-child"]["Parent Region"] == "osc-region"
    assert "RegionOne" in regions
    osc("region", "delete", "osc-child", "osc-region")
    assert "osc-region" not in {r["Region"] for r in osc("region", "list", "-f", "json")}


def test_service_and_endpoint_lifecycle(osc):
    svc = osc("service", "create", "--name", "osc-metrics", "--description", "metrics",
              "metric", "-f", "json")
    assert (svc["type"], svc["name"], svc["enabled"]) == ("metric", "osc-metrics", True)
    assert "osc-metrics" in {s["Name"] for s in osc("service", "list", "-f", "json")}
    assert osc("service", "show", "osc-metrics", "-f", "json")["id"] == svc["id"]
    ep = osc("endpoint", "create", "--region", "RegionOne", "osc-metrics", "internal",
             "http://metrics.example:8041/v1", "-f", "json")
    assert (ep["interface"], ep["url"], ep["service_name"]) == \
        ("internal", "http://metrics.example:8041/v1", "osc-metrics")
    listed = osc("endpoint", "list", "--service", "osc-metrics", "-f", "json")
    assert [e["ID"] for e in listed] == [ep["id"]]
    assert listed[0]["Service Name"] == "osc-metrics"
    assert ep["id"] in {e["ID"] for e in osc("endpoint", "list", "--interface", "internal",
                                              "-f", "json")}
    shown = osc("endpoint", "show", ep["id"], "-f", "json")
    assert (shown["region"], shown["service_type"]) == ("RegionOne", "metric")
    osc("endpoint", "delete", ep["id"])
    osc("service", "delete", "osc-metrics")
    assert "osc-metrics" not in {s["Name"] for s in osc("service", "list", "-f", "json")}


def test_catalog_list_and_the_registered_endpoints(osc, cloud):
    catalog = {e["Type"]: e for e in osc("catalog", "list", "-f", "json")}
    assert {"identity", "image", "compute", "volumev3", "block-storage"} <= set(catalog)
    assert f"127.0.0.1:{cloud.ports['compute']}/v2.1" in str(catalog["compute"]["Endpoints"])
    endpoints = osc("endpoint", "list", "--interface", "public", "-f", "json")
    urls = {e["Service Type"]: e["URL"] for e in endpoints}
    assert urls["volumev3"] == f"http://127.0.0.1:{cloud.ports['volume']}/v3/$(project_id)s"
    assert urls["identity"] == f"http://127.0.0.1:{cloud.ports['identity']}/v3"


def test_application_credential_lifecycle_and_authentication(osc, cloud):
    made = osc("application", "credential", "create", "--description", "for CI",
               "osc-appcred", "-f", "json")
    assert made["Secret"] and made["Name"] == "osc-appcred"
    assert {r["name"] for r in made["Roles"]} == {"admin", "manager", "member", "reader"}
    only = osc("application", "credential", "create", "--role", "reader", "osc-reader",
               "-f", "json")
    assert [r["name"] for r in only["Roles"]] == ["reader"]
    osc("application", "credential", "delete", "osc-reader")
    assert "osc-appcred" in {a["Name"] for a in osc("application", "credential", "list",
                                                    "-f", "json")}
    shown = osc("application", "credential", "show", "osc-appcred", "-f", "json")
    assert shown["ID"] == made["ID"] and "Secret" not in shown
    as_app = _env({"OS_AUTH_TYPE": "v3applicationcredential",
                   "OS_AUTH_URL": cloud.credentials["auth_url"],
                   "OS_APPLICATION_CREDENTIAL_ID": made["ID"],
                   "OS_APPLICATION_CREDENTIAL_SECRET": made["Secret"]})
    token = osc("token", "issue", "-f", "json", env=as_app)
    assert token["project_id"] == made["Project ID"]
    assert "image" in {e["Type"] for e in osc("catalog", "list", "-f", "json", env=as_app)}
    osc("image", "list", "-f", "json", env=as_app)  # another service accepts the token
    wrong = dict(as_app, OS_APPLICATION_CREDENTIAL_SECRET="wrong")
    assert osc("token", "issue", env=wrong, check=False).returncode != 0
    osc("application", "credential", "delete", "osc-appcred")
    assert osc("token", "issue", env=as_app, check=False).returncode != 0


def test_credential_create_list_delete(osc, cloud):
    made = osc("credential", "create", "--type", "cert", cloud.credentials["username"],
               "-----BEGIN CERTIFICATE-----", "-f", "json")
    assert made["type"] == "cert"
    listed = {c["ID"]: c for c in osc("credential", "list", "-f", "json")}
    assert listed[made["id"]]["Data"] == "-----BEGIN CERTIFICATE-----"
    osc("credential", "delete", made["id"])
    assert made["id"] not in {c["ID"] for c in osc("credential", "list", "-f", "json")}


def test_ec2_credentials(osc):
    made = osc("ec2", "credentials", "create", "-f", "json")
    assert made["access"] and made["secret"]
    assert made["access"] in {c["Access"] for c in osc("ec2", "credentials", "list",
                                                       "-f", "json")}
    shown = osc("ec2", "credentials", "show", made["access"], "-f", "json")
    assert shown["secret"] == made["secret"]
    osc("ec2", "credentials", "delete", made["access"])
    assert made["access"] not in {c["Access"] for c in osc("ec2", "credentials", "list",
                                                           "-f", "json")}
