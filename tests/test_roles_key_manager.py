"""Roles on the key manager (Barbican's 2023+ secure defaults, ``keymanager/policies.py``): a
*reader* of the owning project gets 403 on every write (Barbican gives readers no secret
rule), a *member* writes in its project. The table covers every write route of the app
(``tests.roles.assert_covers``): a route added later without a row fails here."""
from __future__ import annotations

from tests.keymanager_fixtures import *  # noqa: F403 - the fixtures
from tests.roles import assert_covers

#: (method, Flask rule, path, json, data, content type, rule named in nothing: Barbican's
#: message names the action)
ROWS = [
    ("POST", "/v1/secrets", "/v1/secrets", {"name": "r"}, None, None),
    ("POST", "/v1/secrets/", "/v1/secrets/", {"name": "r"}, None, None),
    ("PUT", "/v1/secrets/<secret_id>", "/v1/secrets/{sid}", None, b"x", "text/plain"),
    ("DELETE", "/v1/secrets/<secret_id>", "/v1/secrets/{sid}", None, None, None),
]


def test_rows_cover_every_write_route(km_env):
    assert_covers(km_env.app, [(m, rule) for m, rule, *_ in ROWS])


def test_reader_changes_nothing_and_member_may(km_env):
    alice, reader = km_env.users["alice"], km_env.users["reader"]
    made = alice.post("/v1/secrets", json={"name": "target"})
    sid = made.json["secret_ref"].rsplit("/", 1)[1]
    for method, _rule, path, body, data, ctype in ROWS:
        headers = {"Content-Type": ctype} if ctype else {}
        resp = reader._call(method, path.format(sid=sid), json=body, data=data,
                            headers=headers)
        assert resp.status_code == 403, (method, path, resp.json)
        assert "not allowed" in resp.json["description"]
    assert alice.get("/v1/secrets").json["total"] == 1
    # the member may do each of them
    for method, _rule, path, body, data, ctype in ROWS:
        headers = {"Content-Type": ctype} if ctype else {}
        resp = alice._call(method, path.format(sid=sid), json=body, data=data,
                           headers=headers)
        assert resp.status_code in (201, 204), (method, path, resp.json)
