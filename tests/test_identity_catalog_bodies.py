"""Every body the schemas of the catalog and credential routes accept is answered without a
server error: bodies generated from each route's own schema (``minicloud_schemas``), sent
by an administrator (and by a member, for what users own)."""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis_jsonschema import from_schema

from tests.identity_catalog_fixtures import *  # noqa: F403
from tests.identity_catalog_fixtures import CatalogEnv, make_resources

BLUEPRINTS = ("identity_catalog", "identity_credentials")


def _schema_routes(app) -> list[tuple[str, str, dict]]:
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in BLUEPRINTS:
            continue
        view = app.view_functions[rule.endpoint]
        for schema, *_ in getattr(view, "minicloud_schemas", []):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS", "GET"}):
                out.append((method, rule.rule, schema))
    return out


def test_every_body_reading_route_declares_a_schema(catalog_env: CatalogEnv):
    routes = {(m, r) for m, r, _ in _schema_routes(catalog_env.app)}
    assert len(routes) == 17  # creates (PUT of a region too) and updates
    assert ("POST", "/v3/users/<user_id>/application_credentials") in routes


@pytest.mark.parametrize("index", range(17))
def test_generated_bodies_never_crash(catalog_env: CatalogEnv, index: int):
    env = catalog_env
    method, rule, schema = sorted(_schema_routes(env.app), key=lambda r: r[:2])[index]
    names = make_resources(env)
    # the id of an existing resource of the route's kind, so updates reach the logic
    kind = {"regions": "region", "services": "service", "endpoints": "endpoint",
            "endpoint_groups": "group", "policies": "policy", "consumers": "consumer"}
    item = next((names[v] for k, v in kind.items() if f"/{k}/" in rule), "")
    ids = {"user_id": env.alice.user_id, "item_id": item, "region_id": "generated",
           "credential_id": names["credential"]}
    path = re.sub(r"<(\w+)>", lambda m: ids[m.group(1)], rule)
    caller = env.alice if "/users/" in rule or "credentials" in rule else env.admin

    @settings(max_examples=25, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(body=from_schema(schema))
    def check(body):
        resp = caller.call(method, path, json=body)
        assert resp.status_code < 500, (method, path, body, resp.get_data(as_text=True))

    check()
