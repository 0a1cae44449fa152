"""Role tests of the catalog and credential APIs: every write route of their blueprints is
refused to callers the default policy (Keystone's) does not admit.

Keystone's rules come in two kinds, so the table has two kinds of rows:

* administrators' resources (regions, services, endpoints, endpoint groups, policy blobs,
  OAuth1 consumers): refused to a *reader* and to a *member* of a project;
* what a user owns (credentials, EC2 credentials, application credentials, access rules):
  Keystone lets the owner manage them whatever its role, so they are refused to *another
  user*: the reader of the owner's project, and a member of another project.

The table must name every write route of those blueprints (a route added later without a
row fails :func:`test_the_table_covers_every_write_route`).
"""
from __future__ import annotations

import pytest

from tests.identity_catalog_fixtures import *  # noqa: F403
from tests.identity_catalog_fixtures import CatalogEnv, err, make_resources
from tests.roles import READ_METHODS, write_routes

BLUEPRINTS = ("identity_catalog", "identity_credentials")
ADMIN_ONLY, OWNED = ("reader", "alice"), ("reader", "bob")

#: (method, Flask rule) -> (who is refused, path template, body). The template is filled
#: with the resources ``make_resources`` creates (owned ones belong to alice).
TABLE: dict[tuple[str, str], tuple[tuple[str, ...], str, object]] = {
    ("POST", "/v3/regions"): (ADMIN_ONLY, "/v3/regions", {"region": {}}),
    ("PUT", "/v3/regions/<region_id>"): (ADMIN_ONLY, "/v3/regions/new", {"region": {}}),
    ("PATCH", "/v3/regions/<item_id>"): (ADMIN_ONLY, "/v3/regions/{region}",
                                         {"region": {"description": "x"}}),
    ("DELETE", "/v3/regions/<item_id>"): (ADMIN_ONLY, "/v3/regions/{region}", None),
    ("POST", "/v3/services"): (ADMIN_ONLY, "/v3/services", {"service": {"type": "t"}}),
    ("PATCH", "/v3/services/<item_id>"): (ADMIN_ONLY, "/v3/services/{service}",
                                          {"service": {"enabled": False}}),
    ("DELETE", "/v3/services/<item_id>"): (ADMIN_ONLY, "/v3/services/{service}", None),
    ("POST", "/v3/endpoints"): (ADMIN_ONLY, "/v3/endpoints", {"endpoint": {
        "service_id": "{service}", "interface": "public", "url": "http://evil"}}),
    ("PATCH", "/v3/endpoints/<item_id>"): (ADMIN_ONLY, "/v3/endpoints/{endpoint}",
                                           {"endpoint": {"url": "http://evil"}}),
    ("DELETE", "/v3/endpoints/<item_id>"): (ADMIN_ONLY, "/v3/endpoints/{endpoint}", None),
    ("POST", "/v3/OS-EP-FILTER/endpoint_groups"): (
        ADMIN_ONLY, "/v3/OS-EP-FILTER/endpoint_groups",
        {"endpoint_group": {"name": "g", "filters": {"interface": "public"}}}),
    ("PATCH", "/v3/OS-EP-FILTER/endpoint_groups/<item_id>"): (
        ADMIN_ONLY, "/v3/OS-EP-FILTER/endpoint_groups/{group}",
        {"endpoint_group": {"name": "x"}}),
    ("DELETE", "/v3/OS-EP-FILTER/endpoint_groups/<item_id>"): (
        ADMIN_ONLY, "/v3/OS-EP-FILTER/endpoint_groups/{group}", None),
    ("POST", "/v3/policies"): (ADMIN_ONLY, "/v3/policies", {"policy": {"blob": "b",
                                                                        "type": "t"}}),
    ("PATCH", "/v3/policies/<item_id>"): (ADMIN_ONLY, "/v3/policies/{policy}",
                                          {"policy": {"blob": "x"}}),
    ("DELETE", "/v3/policies/<item_id>"): (ADMIN_ONLY, "/v3/policies/{policy}", None),
    ("POST", "/v3/OS-OAUTH1/consumers"): (ADMIN_ONLY, "/v3/OS-OAUTH1/consumers",
                                          {"consumer": {}}),
    ("PATCH", "/v3/OS-OAUTH1/consumers/<item_id>"): (
        ADMIN_ONLY, "/v3/OS-OAUTH1/consumers/{consumer}", {"consumer": {"description": "x"}}),
    ("DELETE", "/v3/OS-OAUTH1/consumers/<item_id>"): (
        ADMIN_ONLY, "/v3/OS-OAUTH1/consumers/{consumer}", None),
    ("POST", "/v3/credentials"): (OWNED, "/v3/credentials", {"credential": {
        "user_id": "{alice}", "type": "cert", "blob": "forged"}}),
    ("PATCH", "/v3/credentials/<credential_id>"): (
        OWNED, "/v3/credentials/{credential}", {"credential": {"blob": "x"}}),
    ("DELETE", "/v3/credentials/<credential_id>"): (OWNED, "/v3/credentials/{credential}",
                                                    None),
    ("POST", "/v3/users/<user_id>/credentials/OS-EC2"): (
        OWNED, "/v3/users/{alice}/credentials/OS-EC2", {"tenant_id": "{demo}"}),
    ("DELETE", "/v3/users/<user_id>/credentials/OS-EC2/<access>"): (
        OWNED, "/v3/users/{alice}/credentials/OS-EC2/{access}", None),
    ("POST", "/v3/users/<user_id>/application_credentials"): (
        OWNED, "/v3/users/{alice}/application_credentials",
        {"application_credential": {"name": "forged"}}),
    ("DELETE", "/v3/users/<user_id>/application_credentials/<app_cred_id>"): (
        OWNED, "/v3/users/{alice}/application_credentials/{app_cred}", None),
    ("DELETE", "/v3/users/<user_id>/access_rules/<rule_id>"): (
        OWNED, "/v3/users/{alice}/access_rules/{access_rule}", None),
}


def _fill(value: object, names: dict[str, str]) -> object:
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    return value


def _own_write_routes(env: CatalogEnv) -> set[tuple[str, str]]:
    mine = {(method, rule.rule) for rule in env.app.url_map.iter_rules()
            if rule.endpoint.split(".")[0] in BLUEPRINTS
            for method in rule.methods or () if method not in READ_METHODS}
    return write_routes(env.app) & mine


def test_the_table_covers_every_write_route(catalog_env: CatalogEnv):
    routes, table = _own_write_routes(catalog_env), set(TABLE)
    assert not routes - table, f"write routes with no role test: {sorted(routes - table)}"
    assert not table - routes, f"rows for routes that do not exist: {sorted(table - routes)}"


@pytest.mark.parametrize("route", sorted(TABLE), ids=lambda r: f"{r[0]} {r[1]}")
def test_write_routes_refuse_the_callers_policy_denies(catalog_env: CatalogEnv, route):
    env = catalog_env
    names = make_resources(env)
    refused, template, body = TABLE[route]
    method, path = route[0], _fill(template, names)
    for who in refused:
        caller = getattr(env, who)
        resp = caller.call(method, path, **({"json": _fill(body, names)} if body else {}))
        err(resp, 403)
    # nothing changed: the resources are all still there
    admin = env.admin
    for check in (f"/v3/regions/{names['region']}", f"/v3/services/{names['service']}",
                  f"/v3/endpoints/{names['endpoint']}", f"/v3/policies/{names['policy']}",
                  f"/v3/credentials/{names['credential']}",
                  f"/v3/users/{names['alice']}/application_credentials/{names['app_cred']}",
                  f"/v3/OS-OAUTH1/consumers/{names['consumer']}"):
        admin.ok("GET", check)


def test_readers_still_read(catalog_env: CatalogEnv):
    env = catalog_env
    names = make_resources(env)
    reader = env.reader
    assert "RegionOne" in {r["id"] for r in reader.ok("GET", "/v3/regions")["regions"]}
    assert reader.ok("GET", f"/v3/regions/{names['region']}")["region"]["id"] == \
        names["region"]
    assert reader.ok("GET", "/v3/auth/catalog")["catalog"]
    assert reader.ok("GET", f"/v3/users/{reader.user_id}/application_credentials")[
        "application_credentials"] == []
    assert reader.ok("GET", "/v3/credentials")["credentials"] == []  # none of its own
    # the catalog's administration stays with administrators (and system readers)
    for path in ("/v3/services", "/v3/endpoints", "/v3/policies", "/v3/OS-OAUTH1/consumers",
                 "/v3/OS-EP-FILTER/endpoint_groups"):
        err(reader.get(path), 403)
    # a reader manages what it owns: its own application credentials
    mine = reader.ok("POST", f"/v3/users/{reader.user_id}/application_credentials",
                     {"application_credential": {"name": "own"}}, 201)
    assert [r["name"] for r in mine["application_credential"]["roles"]] == ["reader"]
