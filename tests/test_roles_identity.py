"""Role tests of the identity API: every write route of Keystone's core (domains, projects,
tags, users, groups, roles, implied roles, grants, tokens) refused to a ``reader`` of the
project that owns the resource and, for the administrators' routes, to a ``member``; reads a
reader is allowed still work. The catalog engineer's routes (regions, services, endpoints,
credentials...) are covered by their own table; :func:`core_routes` leaves them out.
"""
from __future__ import annotations

import pytest

from tests.identity_fixtures import *  # noqa: F403
from tests.identity_fixtures import IdentityEnv, err
from tests.roles import write_routes

CORE_BLUEPRINTS = ("identity_auth", "identity_resource", "identity_domain_config",
                   "identity_users", "identity_roles")

# (method, rule, who, path template, JSON body): each must answer 403.
# Placeholders: {demo} alice's project, {reader} the reader's user id, {alice}, {group},
# {role}, {member} the member role, {domain} a domain made for the test, {token} alice's.
TABLE = [
    ("DELETE", "/v3/auth/tokens", "reader", "/v3/auth/tokens", None),
    ("POST", "/v3/domains", "member", "/v3/domains", {"domain": {"name": "x"}}),
    ("PATCH", "/v3/domains/<domain_id>", "member", "/v3/domains/{domain}",
     {"domain": {"name": "y"}}),
    ("DELETE", "/v3/domains/<domain_id>", "member", "/v3/domains/{domain}", None),
    ("POST", "/v3/projects", "reader", "/v3/projects", {"project": {"name": "x"}}),
    ("PATCH", "/v3/projects/<project_id>", "reader", "/v3/projects/{demo}",
     {"project": {"description": "mine"}}),
    ("DELETE", "/v3/projects/<project_id>", "reader", "/v3/projects/{demo}", None),
    ("PUT", "/v3/projects/<project_id>/tags", "reader", "/v3/projects/{demo}/tags",
     {"tags": ["a"]}),
    ("DELETE", "/v3/projects/<project_id>/tags", "reader", "/v3/projects/{demo}/tags", None),
    ("PUT", "/v3/projects/<project_id>/tags/<tag>", "reader", "/v3/projects/{demo}/tags/a",
     None),
    ("DELETE", "/v3/projects/<project_id>/tags/<tag>", "reader",
     "/v3/projects/{demo}/tags/keep", None),
    ("POST", "/v3/users", "reader", "/v3/users", {"user": {"name": "x"}}),
    ("PATCH", "/v3/users/<user_id>", "reader", "/v3/users/{reader}",
     {"user": {"enabled": True}}),
    ("DELETE", "/v3/users/<user_id>", "reader", "/v3/users/{alice}", None),
    ("POST", "/v3/groups", "reader", "/v3/groups", {"group": {"name": "x"}}),
    ("PATCH", "/v3/groups/<group_id>", "reader", "/v3/groups/{group}",
     {"group": {"name": "y"}}),
    ("DELETE", "/v3/groups/<group_id>", "reader", "/v3/groups/{group}", None),
    ("PUT", "/v3/groups/<group_id>/users/<user_id>", "reader",
     "/v3/groups/{group}/users/{reader}", None),
    ("DELETE", "/v3/groups/<group_id>/users/<user_id>", "reader",
     "/v3/groups/{group}/users/{alice}", None),
    ("POST", "/v3/roles", "member", "/v3/roles", {"role": {"name": "x"}}),
    ("PATCH", "/v3/roles/<role_id>", "member", "/v3/roles/{role}", {"role": {"name": "y"}}),
    ("DELETE", "/v3/roles/<role_id>", "member", "/v3/roles/{role}", None),
    ("PUT", "/v3/roles/<prior_id>/implies/<implied_id>", "member",
     "/v3/roles/{role}/implies/{member}", None),
    ("DELETE", "/v3/roles/<prior_id>/implies/<implied_id>", "member",
     "/v3/roles/{member}/implies/{reader_role}", None),
]
for _target, _where in (("projects", "{demo}"), ("domains", "default")):
    for _actor, _who in (("users", "{reader}"), ("groups", "{group}")):
        _rule = f"/v3/{_target}/<target_id>/{_actor}/<actor_id>/roles/<role_id>"
        _path = f"/v3/{_target}/{_where}/{_actor}/{_who}/roles/{{member}}"
        TABLE += [("PUT", _rule, "reader", _path, None),
                  ("DELETE", _rule, "member", _path, None)]
TABLE.append(("PUT", "/v3/domains/<domain_id>/config", "member", "/v3/domains/{domain}/config",
              {"config": {"identity": {"driver": "sql"}}}))
for _suffix, _body in (("", {"identity": {"driver": "x"}}), ("/<group>", {"identity": {
        "driver": "x"}}), ("/<group>/<option>", {"driver": "x"})):
    _path = "/v3/domains/{domain}/config" + _suffix.replace("<group>", "identity").replace(
        "<option>", "driver")
    TABLE += [("PATCH", f"/v3/domains/<domain_id>/config{_suffix}", "member", _path,
               {"config": _body}),
              ("DELETE", f"/v3/domains/<domain_id>/config{_suffix}", "member", _path, None)]
for _actor, _who in (("users", "{reader}"), ("groups", "{group}")):
    _rule = f"/v3/system/{_actor}/<actor_id>/roles/<role_id>"
    _path = f"/v3/system/{_actor}/{_who}/roles/{{member}}"
    TABLE += [("PUT", _rule, "member", _path, None), ("DELETE", _rule, "member", _path, None)]


def core_routes(app) -> set[tuple[str, str]]:
    """The write routes of the core blueprints (not the catalog engineer's)."""
    mine = {rule.rule for rule in app.url_map.iter_rules()
            if rule.endpoint.split(".")[0] in CORE_BLUEPRINTS}
    return {(method, rule) for method, rule in write_routes(app) if rule in mine}


@pytest.fixture
def setup(identity_env: IdentityEnv) -> dict[str, str]:
    """Resources the table's rows act on, made by the admin."""
    env = identity_env
    group = env.admin.ok("POST", "/v3/groups", 201, json={"group": {"name": "g"}})["group"]
    env.admin.ok("PUT", f"/v3/groups/{group['id']}/users/{env.user_ids['alice']}", 204)
    role = env.admin.ok("POST", "/v3/roles", 201, json={"role": {"name": "r"}})["role"]
    domain = env.admin.ok("POST", "/v3/domains", 201, json={"domain": {"name": "d"}})["domain"]
    env.admin.ok("PUT", f"/v3/projects/{env.ids['demo']}/tags/keep", 201)
    return {"demo": env.ids["demo"], "reader": env.user_ids["reader"],
            "alice": env.user_ids["alice"], "group": group["id"], "role": role["id"],
            "member": env.role_id("member"), "reader_role": env.role_id("reader"),
            "domain": domain["id"]}


def test_table_covers_every_core_write_route(identity_env: IdentityEnv):
    routes, table = core_routes(identity_env.app), {(m, r) for m, r, *_ in TABLE}
    assert not routes - table, f"write routes with no role test: {sorted(routes - table)}"
    assert not table - routes, f"rows for routes that do not exist: {sorted(table - routes)}"


@pytest.mark.parametrize("method, rule, who, path, body", TABLE,
                         ids=[f"{m} {r} as {w}" for m, r, w, _, _ in TABLE])
def test_refused(identity_env: IdentityEnv, setup: dict[str, str], method: str, rule: str,
                 who: str, path: str, body: dict | None):
    env = identity_env
    client = env.reader if who == "reader" else env.alice
    headers = {"X-Subject-Token": env.alice.token} if rule == "/v3/auth/tokens" else {}
    err(client.call(method, path.format(**setup), json=body, headers=headers), 403)


def test_reader_reads(identity_env: IdentityEnv, setup: dict[str, str]):
    env = identity_env
    reader = env.reader
    assert reader.ok("GET", f"/v3/projects/{setup['demo']}")["project"]["name"] == "demo"
    assert reader.ok("GET", f"/v3/projects/{setup['demo']}/tags")["tags"] == ["keep"]
    assert reader.ok("GET", f"/v3/users/{setup['reader']}")["user"]["name"] == "reader"
    assert [p["name"] for p in reader.ok("GET", "/v3/auth/projects")["projects"]] == ["demo"]
    assert reader.ok("GET", "/v3/domains/default")["domain"]["name"] == "Default"
    assert reader.ok("GET", "/v3/auth/tokens", headers={"X-Subject-Token": reader.token})
    # ...and the writes above changed nothing.
    assert env.admin.ok("GET", f"/v3/groups/{setup['group']}/users")["users"][0]["name"] \
        == "alice"
    # A reader revokes its own token (the one write it may do on tokens).
    reader.ok("DELETE", "/v3/auth/tokens", 204, headers={"X-Subject-Token": reader.token})
