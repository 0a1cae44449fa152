"""Volume and attachment lists: pages (limit, marker, next links), sorting, filters per
microversion (Cinder's resource filters), all_tenants, with_count, the volume summary."""
from __future__ import annotations

import pytest

from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, err

SERVER = "0b3b4f4e-1111-4c1e-9d7a-3a3a3a3a3a3a"


def _hdr(version: str) -> dict:
    return {"OpenStack-API-Version": f"volume {version}"}


@pytest.fixture
def volenv(make_volenv):
    """No agent thread: the volumes stay ``creating``, so status filters are deterministic."""
    return make_volenv(agent=False)


@pytest.fixture
def five(volenv):
    """Five of alice's volumes (sizes 1..5, names v1..v5), one of bob's."""
    vols = [volenv.create(name=f"v{i}", size=i, metadata={"n": str(i), "even": str(i % 2 == 0)})
            for i in range(1, 6)]
    volenv.create(name="bobs", who=volenv.bob)
    return vols


def _walk(client, url: str, headers: dict | None = None) -> list[dict]:
    """Follow volumes_links to the end, as clients do."""
    seen: list[dict] = []
    while url:
        body = client.get(url, headers=headers or MV).json
        seen += body["volumes"]
        nxt = [link["href"] for link in body.get("volumes_links", []) if link["rel"] == "next"]
        url = nxt[0].split("://", 1)[1].split("/", 1)[1] if nxt else ""
        url = "/" + url if url else ""
    return seen


@pytest.mark.parametrize("path", ["/v3/volumes", "/v3/volumes/detail"])
def test_pages_cover_every_volume_once_in_order(volenv, five, path):
    walked = _walk(volenv.alice, f"{path}?limit=2&sort=size:asc")
    assert [v["name"] for v in walked] == ["v1", "v2", "v3", "v4", "v5"]
    first = volenv.alice.get(f"{path}?limit=2&sort=size:asc", headers=MV).json
    [link] = first["volumes_links"]
    assert link["rel"] == "next" and f"marker={first['volumes'][-1]['id']}" in link["href"]
    assert "limit=2" in link["href"] and "sort=size%3Aasc" in link["href"]
    assert link["href"].startswith("http://localhost/v3/volumes")


def test_project_path_is_kept_in_next_links(volenv, five):
    project = volenv.alice.project_id
    body = volenv.alice.get(f"/v3/{project}/volumes/detail?limit=4", headers=MV).json
    assert f"/v3/{project}/volumes/detail?" in body["volumes_links"][0]["href"]
    assert len(_walk(volenv.alice, f"/v3/{project}/volumes/detail?limit=4")) == 5


def test_bad_pages_are_400(volenv, five):
    err(volenv.alice.get("/v3/volumes?marker=nope", headers=MV), 400, "marker")
    theirs = volenv.bob.get("/v3/volumes").json["volumes"][0]["id"]
    err(volenv.alice.get(f"/v3/volumes?marker={theirs}", headers=MV), 400, "marker")
    err(volenv.alice.get("/v3/volumes?limit=-1", headers=MV), 400, "limit")
    err(volenv.alice.get("/v3/volumes?limit=two", headers=MV), 400, "limit")
    err(volenv.alice.get("/v3/volumes?limit=%C2%B2", headers=MV), 400, "limit")
    assert volenv.alice.get("/v3/volumes?limit=0", headers=MV).json["volumes"] == []
    err(volenv.alice.get("/v3/volumes?offset=2", headers=MV), 400, "offset")
    assert len(volenv.alice.get("/v3/volumes?offset=0", headers=MV).json["volumes"]) == 5


def test_default_order_is_newest_first(volenv, five):
    names = [v["name"] for v in volenv.alice.get("/v3/volumes", headers=MV).json["volumes"]]
    assert names == ["v5", "v4", "v3", "v2", "v1"]


@pytest.mark.parametrize("query, names", [
    ("sort=size:desc", ["v5", "v4", "v3", "v2", "v1"]),
    ("sort=name:asc", ["v1", "v2", "v3", "v4", "v5"]),
    ("sort=name", ["v5", "v4", "v3", "v2", "v1"]),  # desc by default
    ("sort_key=size&sort_dir=asc", ["v1", "v2", "v3", "v4", "v5"]),
    ("sort=status:asc,size:asc", ["v1", "v2", "v3", "v4", "v5"]),
])
def test_sorting(volenv, five, query, names):
    listed = volenv.alice.get(f"/v3/volumes?{query}", headers=MV).json["volumes"]
    assert [v["name"] for v in listed] == names


@pytest.mark.parametrize("query, message", [
    ("sort=bogus", "Invalid sort key"),
    ("sort=size:sideways", "must be 'desc' or 'asc'"),
    ("sort=size&sort_key=name", "cannot be used with the 'sort' parameter"),
    ("sort_key=password", "Invalid sort key"),
])
def test_bad_sorting_is_400(volenv, query, message):
    err(volenv.alice.get(f"/v3/volumes?{query}", headers=MV), 400, message)


@pytest.mark.parametrize("query, names", [
    ("name=v2", ["v2"]),
    ("status=creating", ["v1", "v2", "v3", "v4", "v5"]),
    ("status=available", []),
    ("size=3", ["v3"]),
    ("size=x", []),
    ("availability_zone=nova", ["v1", "v2", "v3", "v4", "v5"]),
    ("metadata=%7B%27even%27%3A+%27True%27%7D", ["v2", "v4"]),      # {'even': 'True'}
    ("metadata=%7B%22n%22%3A%221%22%7D", ["v1"]),                  # {"n":"1"}
    ("bootable=false", ["v1", "v2", "v3", "v4", "v5"]),
    ("bootable=true", []),
    ("name~=v", ["v1", "v2", "v3", "v4", "v5"]),
    ("group_id=8d7ef0ba-7a8a-4b0a-9f3e-0c6a1a9d4f11", []),
    ("consumes_quota=true", ["v1", "v2", "v3", "v4", "v5"]),
    ("consumes_quota=false", []),
    ("created_at=gt:2000-01-01T00:00:00", ["v1", "v2", "v3", "v4", "v5"]),
    ("created_at=lt:2000-01-01T00:00:00Z", []),
    ("all_tenants=1", ["v1", "v2", "v3", "v4", "v5"]),  # ignored for a member
])
def test_filters_at_3_70(volenv, five, query, names):
    listed = volenv.alice.get(f"/v3/volumes/detail?{query}&sort=name:asc", headers=MV).json
    assert [v["name"] for v in listed["volumes"]] == names


@pytest.mark.parametrize("query, message", [
    ("bootable=maybe", "bootable"),
    ("metadata=not-a-dict", "dictionary"),
    ("metadata=" + "%5B" * 5000, "dictionary"),
    ("project_id=x", "Invalid filters project_id"),
    ("frobnicate=1", "Invalid filters frobnicate"),
    ("created_at=after:2000", "time filter"),
    ("created_at=gt:yesterday", "is not a time"),
])
def test_bad_filters_are_400_from_3_31(volenv, query, message):
    err(volenv.alice.get(f"/v3/volumes?{query}", headers=MV), 400, message)


def test_filters_follow_the_microversion(volenv, five):
    old = _hdr("3.1")
    listed = volenv.alice.get("/v3/volumes?frobnicate=1&bootable=maybe", headers=old).json
    assert len(listed["volumes"]) == 0  # unknown filter ignored; 'maybe' is true before 3.2
    assert len(volenv.alice.get("/v3/volumes?bootable=no", headers=old).json["volumes"]) == 5
    # name~ is a like filter from 3.34 (an unknown filter before); consumes_quota from 3.65
    err(volenv.alice.get("/v3/volumes?name~=v", headers=_hdr("3.33")), 400,
        "Invalid filters name~")
    assert len(volenv.alice.get("/v3/volumes?consumes_quota=false",
                                headers=_hdr("3.64")).json["volumes"]) == 5


def test_all_tenants_and_project_filter_for_admins(volenv, five):
    everyone = volenv.admin.get("/v3/volumes?all_tenants=True", headers=MV).json["volumes"]
    assert {v["name"] for v in everyone} >= {"v1", "v5", "bobs"}
    bobs = volenv.admin.get(f"/v3/volumes/detail?all_tenants=1&project_id="
                            f"{volenv.bob.project_id}", headers=MV).json["volumes"]
    assert [v["name"] for v in bobs] == ["bobs"]
    assert bobs[0]["os-vol-tenant-attr:tenant_id"] == volenv.bob.project_id
    # an admin's unknown filter matches nothing, as Cinder's database layer answers
    assert volenv.admin.get("/v3/volumes?all_tenants=1&frobnicate=1",
                            headers=MV).json["volumes"] == []


def test_with_count_from_3_45(volenv, five):
    body = volenv.alice.get("/v3/volumes?with_count=true&limit=2", headers=MV).json
    assert body["count"] == 5 and len(body["volumes"]) == 2
    assert "count" not in volenv.alice.get("/v3/volumes?with_count=true",
                                           headers=_hdr("3.44")).json


def test_summary_from_3_12(volenv, five):
    body = volenv.alice.get("/v3/volumes/summary", headers=MV).json["volume-summary"]
    assert (body["total_count"], body["total_size"]) == (5, 15)
    assert body["metadata"] == {"even": ["False", "True"], "n": ["1", "2", "3", "4", "5"]}
    older = volenv.alice.get("/v3/volumes/summary", headers=_hdr("3.35")).json
    assert older == {"volume-summary": {"total_count": 5, "total_size": 15}}
    err(volenv.alice.get("/v3/volumes/summary", headers=_hdr("3.11")), 404, "summary")
    everyone = volenv.admin.get("/v3/volumes/summary?all_tenants=1", headers=MV).json
    assert everyone["volume-summary"]["total_count"] == 6


def test_attachment_lists_page_filter_and_scope(make_volenv):
    volenv = make_volenv()
    vols = [volenv.create(name=f"a{i}")["id"] for i in range(3)]
    for vid in vols:
        volenv.wait(vid, "available")
        resp = volenv.alice.post("/v3/attachments", headers=MV, json={"attachment": {
            "volume_uuid": vid, "instance_uuid": SERVER}})
        assert resp.status_code == 200
    first = volenv.alice.get("/v3/attachments?limit=2&sort=created_at:asc", headers=MV).json
    assert [a["volume_id"] for a in first["attachments"]] == vols[:2]
    marker = first["attachments"][-1]["id"]
    rest = volenv.alice.get(f"/v3/attachments?limit=2&sort=created_at:asc&marker={marker}",
                            headers=MV).json
    assert [a["volume_id"] for a in rest["attachments"]] == vols[2:]
    by_volume = volenv.alice.get(f"/v3/attachments/detail?volume_id={vols[1]}",
                                 headers=MV).json["attachments"]
    assert [a["volume_id"] for a in by_volume] == [vols[1]]
    assert by_volume[0]["attach_mode"] == "rw"
    assert volenv.alice.get("/v3/attachments?status=attached", headers=MV).json == {
        "attachments": []}
    err(volenv.alice.get("/v3/attachments?marker=nope", headers=MV), 400, "marker")
    err(volenv.alice.get("/v3/attachments?sort=size", headers=MV), 400, "sort key")
    err(volenv.alice.get("/v3/attachments?frobnicate=1", headers=MV), 400, "Invalid filters")
    # admins see other projects' attachments with all_tenants only, as in Cinder
    assert volenv.admin.get("/v3/attachments", headers=MV).json["attachments"] == []
    assert len(volenv.admin.get("/v3/attachments?all_tenants=1",
                                headers=MV).json["attachments"]) == 3
    assert volenv.bob.get("/v3/attachments?all_tenants=1", headers=MV).json == {
        "attachments": []}
