"""The unmodified `openstack` CLI against a running minicloud's admin compute APIs: private
flavors and their access lists, usage, hypervisor uptime (see ``tests/test_osc_compute.py``
for the fixtures: one real cloud on the fake virt driver)."""
from __future__ import annotations

import pytest

from tests.test_osc_compute import osc, run  # noqa: F401 - fixtures

pytestmark = [pytest.mark.osc, pytest.mark.real]
FLAVOR = "osc-private"


def test_private_flavor_access_list(run, osc, cloud):  # noqa: F811
    """`flavor create --private`, `flavor set --project` (addTenantAccess), `flavor show`
    (its access_project_ids, from os-flavor-access) and `flavor unset --project`."""
    cloud.minicloud("project", "create", "osc-access-p")
    cloud.minicloud("user", "create", "osc-access-u", "--password", "pw-access",
                    "--project", "osc-access-p", "--role", "member")
    member = {"OS_USERNAME": "osc-access-u", "OS_PASSWORD": "pw-access",
              "OS_PROJECT_NAME": "osc-access-p"}
    created = osc("flavor", "create", "--private", "--ram", "64", "--disk", "0", "--vcpus",
                  "1", FLAVOR)
    try:
        assert created["os-flavor-access:is_public"] is False
        assert FLAVOR not in [f["Name"] for f in osc("flavor", "list", env=member)]
        project = osc("project", "show", "osc-access-p")["id"]
        run("flavor", "set", "--project", "osc-access-p", FLAVOR)
        assert osc("flavor", "show", FLAVOR)["access_project_ids"] == [project]
        assert FLAVOR in [f["Name"] for f in osc("flavor", "list", env=member)]
        refused = run("flavor", "set", "--project", "osc-access-p", FLAVOR, env=member,
                      check=False)
        assert refused.returncode == 1 and "403" in refused.stderr, refused.stderr
        run("flavor", "unset", "--project", "osc-access-p", FLAVOR)
        assert osc("flavor", "show", FLAVOR)["access_project_ids"] == []
        assert FLAVOR not in [f["Name"] for f in osc("flavor", "list", env=member)]
    finally:
        run("flavor", "delete", FLAVOR, check=False)


def test_usage_list_and_show(osc):  # noqa: F811
    """`usage list` / `usage show` read os-simple-tenant-usage (detailed, all projects)."""
    rows = osc("usage", "list")
    assert isinstance(rows, list)
    for row in rows:
        assert {"Project", "Servers", "RAM MB-Hours", "CPU Hours", "Disk GB-Hours"} <= set(row)
    shown = osc("usage", "show")
    assert {"Servers", "RAM MB-Hours", "CPU Hours", "Disk GB-Hours"} <= set(shown)


@pytest.mark.parametrize("version", ["2.1", "2.88"])
def test_hypervisor_show_reports_the_hosts_uptime(osc, version):  # noqa: F811
    """Before 2.88 the CLI asks /os-hypervisors/{id}/uptime; from 2.88 it is a field. The
    CLI parses the `uptime` line into host_time, uptime, users and load_average."""
    env = {"OS_COMPUTE_API_VERSION": version}
    (hyp,) = osc("hypervisor", "list", env=env)
    shown = osc("hypervisor", "show", hyp["Hypervisor Hostname"], env=env)
    assert shown["uptime"] and shown["host_time"] and shown["load_average"], shown
