"""The unmodified `openstack` CLI (python-openstackclient 10.5.0 in `.venv-osc`) against a
cloud of this test's own (services under gunicorn, fake compute driver, no host daemons):
the identity commands an operator uses, output checked."""
from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.conftest import RunningCloud, osc_runner, start_cloud

pytestmark = [pytest.mark.osc]


@pytest.fixture(scope="module")
def identity_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    cloud = start_cloud(tmp_path_factory.mktemp("identity-osc"))
    try:
        yield cloud
    finally:
        cloud.minicloud("down", check=False)


@pytest.fixture(scope="module")
def osc(identity_cloud: RunningCloud) -> Callable[..., object]:
    """``osc(*args)``: the output (parsed with ``as_json``); with ``check=False`` the
    CompletedProcess, whatever the exit status."""
    run = osc_runner(identity_cloud.os_env())

    def call(*args: str, check: bool = True, as_json: bool = False):
        if as_json:
            return run(*args, as_json=True)
        proc = run(*args, check=check)
        return proc.stdout if check else proc

    return call


def test_domains(osc):
    created = osc("domain", "create", "--description", "lab", "osc-dom", as_json=True)
    assert created["name"] == "osc-dom" and created["enabled"] is True
    names = [d["Name"] for d in osc("domain", "list", as_json=True)]
    assert {"Default", "osc-dom"} <= set(names)
    refused = osc("domain", "delete", "osc-dom", check=False)
    assert refused.returncode != 0  # an enabled domain is not deleted
    osc("domain", "set", "--disable", "--description", "off", "osc-dom")
    shown = osc("domain", "show", "osc-dom", as_json=True)
    assert (shown["enabled"], shown["description"]) == (False, "off")
    osc("domain", "delete", "osc-dom")
    assert "osc-dom" not in [d["Name"] for d in osc("domain", "list", as_json=True)]


def test_projects_and_users(osc):
    project = osc("project", "create", "--description", "one", "--tag", "lab", "osc-proj",
                  as_json=True)
    assert project["domain_id"] == "default" and project["tags"] == ["lab"]
    osc("project", "set", "--name", "osc-proj2", "--description", "two", "--disable",
        "osc-proj")
    shown = osc("project", "show", "osc-proj2", as_json=True)
    assert (shown["description"], shown["enabled"]) == ("two", False)
    user = osc("user", "create", "--password", "pw", "--email", "u@example.org",
               "--project", "osc-proj2", "osc-user", as_json=True)
    assert user["email"] == "u@example.org" and user["default_project_id"] == project["id"]
    osc("user", "set", "--email", "v@example.org", "--disable", "osc-user")
    shown = osc("user", "show", "osc-user", as_json=True)
    assert (shown["email"], shown["enabled"]) == ("v@example.org", False)
    osc("user", "delete", "osc-user")
    assert osc("user", "show", "osc-user", check=False).returncode != 0
    osc("project", "delete", "osc-proj2")
    assert osc("project", "show", "osc-proj2", check=False).returncode != 0


def test_groups_and_role_assignments(osc):
    osc("project", "create", "osc-team-proj")
    osc("user", "create", "--password", "pw", "osc-member")
    osc("group", "create", "--description", "team", "osc-team")
    osc("group", "add", "user", "osc-team", "osc-member")
    assert "osc-member" in osc("group", "contains", "user", "osc-team", "osc-member")
    members = [u["Name"] for u in osc("user", "list", "--group", "osc-team", as_json=True)]
    assert members == ["osc-member"]
    osc("role", "add", "--group", "osc-team", "--project", "osc-team-proj", "member")
    rows = osc("role", "assignment", "list", "--project", "osc-team-proj", "--names",
               as_json=True)
    assert [(r["Role"], r["Group"]) for r in rows] == [("member", "osc-team@Default")]
    effective = osc("role", "assignment", "list", "--user", "osc-member", "--effective",
                    "--names", as_json=True)
    assert {r["Role"] for r in effective} == {"member", "reader"}
    assert {r["Project"] for r in effective} == {"osc-team-proj@Default"}
    osc("role", "remove", "--group", "osc-team", "--project", "osc-team-proj", "member")
    assert osc("role", "assignment", "list", "--project", "osc-team-proj", as_json=True) == []


def test_roles_and_implied_roles(osc):
    role = osc("role", "create", "osc-role", as_json=True)
    assert role["name"] == "osc-role"
    implied = osc("role", "create", "osc-implied", as_json=True)
    created = osc("implied", "role", "create", "--implied-role", "osc-implied", "osc-role",
                  as_json=True)
    assert (created["prior_role"], created["implies"]) == (role["id"], implied["id"])
    rules = osc("implied", "role", "list", as_json=True)
    pairs = {(r["Prior Role Name"], r["Implied Role Name"]) for r in rules}
    assert {("osc-role", "osc-implied"), ("admin", "manager"), ("manager", "member"),
            ("member", "reader")} <= pairs
    osc("implied", "role", "delete", "--implied-role", "osc-implied", "osc-role")
    osc("role", "delete", "osc-role")
    osc("role", "delete", "osc-implied")
    assert "osc-role" not in [r["Name"] for r in osc("role", "list", as_json=True)]
