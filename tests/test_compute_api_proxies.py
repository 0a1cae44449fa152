"""The proxy APIs Nova still serves up to 2.35 (images, image metadata to 2.38, volumes,
volume snapshots, networks) and the extension list, in-process against the fake image and
volume APIs.

Every proxied call is made with the caller's own token (the other service decides what they
see); bodies are checked against Tempest 47's own response schemas.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from compute.routes.extensions import extensions
from minicloud.errors import Forbidden, NotFound, RequestTooLarge
from tests.compute_fixtures import *  # noqa: F403
from tests.compute_fixtures import IMAGE_ID, VOLUME_IDS, err, mv
from tests.tempest_schemas import COMPUTE_SCHEMAS, assert_valid

NEW = mv("2.36")


@pytest.fixture
def images(compute_env):
    """Three Glance images of the fake: two plain ones and a snapshot of a server."""
    fake = compute_env.images
    fake.images[IMAGE_ID].update(name="base", created_at="2025-01-01T00:00:00Z",
                                 updated_at="2025-01-01T00:00:00Z")
    old = fake.add("old", {"os_distro": "debian"}, created_at="2026-01-01T00:00:00Z",
                   min_ram=512)
    new = fake.add("new", created_at="2026-03-01T00:00:00Z", min_disk=2)
    snap = fake.add("snap", {"image_type": "snapshot",
                             "instance_uuid": "a7a7a7a7-0000-4000-8000-000000000001"},
                    created_at="2026-02-01T00:00:00Z", status="saving")
    return {"old": old["id"], "new": new["id"], "snap": snap["id"]}


def _ids(resp) -> list[str]:
    assert resp.status_code == 200, resp.get_json()
    return [i["id"] for i in resp.get_json()["images"]]


# -- images ----------------------------------------------------------------------------------------
def test_image_list_and_detail_in_novas_shape(compute_env, images):
    listed = compute_env.alice.get("/v2.1/images").get_json()["images"]
    first = next(i for i in listed if i["id"] == images["old"])
    assert set(first) == {"id", "name", "links"}
    assert [link["rel"] for link in first["links"]] == ["self", "bookmark", "alternate"]
    assert first["links"][0]["href"].endswith(f"/v2.1/images/{images['old']}")
    assert first["links"][2]["type"] == "application/vnd.openstack.image"
    detail = {i["id"]: i for i in compute_env.alice.get("/v2.1/images/detail")
              .get_json()["images"]}
    old, snap = detail[images["old"]], detail[images["snap"]]
    assert (old["status"], old["progress"], old["minRam"], old["minDisk"]) == (
        "ACTIVE", 100, 512, 0)
    assert old["metadata"] == {"os_distro": "debian"}       # custom properties only
    assert (old["created"], old["OS-EXT-IMG-SIZE:size"]) == ("2026-01-01T00:00:00Z", 1024)
    assert "server" not in old
    assert (snap["status"], snap["progress"]) == ("SAVING", 50)
    assert snap["server"]["id"] == "a7a7a7a7-0000-4000-8000-000000000001"
    shown = compute_env.alice.get(f"/v2.1/images/{images['snap']}").get_json()["image"]
    assert shown == snap


@pytest.mark.parametrize("query, expected", [
    ("name=old", ["old"]),
    ("status=SAVING", ["snap"]),
    ("status=active", ["new", "old"]),
    ("type=snapshot", ["snap"]),
    ("server=a7a7a7a7-0000-4000-8000-000000000001", ["snap"]),
    ("server=http://x/v2.1/servers/a7a7a7a7-0000-4000-8000-000000000001", ["snap"]),
    ("property-os_distro=debian", ["old"]),
    ("changes-since=2026-02-01T00:00:00Z", ["new", "snap"]),
    ("minRam=256", ["old"]),
    ("minDisk=1", ["new"]),
])
def test_image_filters(compute_env, images, query, expected):
    for path in ("/v2.1/images", "/v2.1/images/detail"):
        found = _ids(compute_env.alice.get(f"{path}?{query}"))
        assert [i for i in found if i in images.values()] == [images[n] for n in expected]


def test_image_pages_follow_the_next_link(compute_env, images):
    seen, path = [], "/v2.1/images/detail?limit=2"
    while path:
        body = compute_env.alice.get(path).get_json()
        seen += [i["id"] for i in body["images"]]
        links = body.get("images_links")
        path = links[0]["href"].split("localhost", 1)[1] if links else None
    assert sorted(seen) == sorted([*images.values(), *compute_env.images.images][:4])
    assert len(seen) == len(set(seen)) == len(compute_env.images.images)
    err(compute_env.alice.get("/v2.1/images?marker=nope"), 400, "marker")
    err(compute_env.alice.get("/v2.1/images?limit=-1"), 400, "limit")
    err(compute_env.alice.get("/v2.1/images?changes-since=yesterday"), 400, "changes-since")
    err(compute_env.alice.get("/v2.1/images?minRam=x"), 400, "minRam")


def test_image_show_and_delete(compute_env, images):
    err(compute_env.alice.get("/v2.1/images/missing"), 404, "Image not found.")
    assert compute_env.alice.delete(f"/v2.1/images/{images['new']}").status_code == 204
    assert images["new"] not in compute_env.images.images

    def gone(image_id):  # the image API's answer for an image that is not there
        raise NotFound(f"No image found with ID {image_id}")

    compute_env.images.delete = gone
    err(compute_env.alice.delete(f"/v2.1/images/{images['new']}"), 404, "Image not found.")


def test_the_image_api_decides_as_the_caller(compute_env, images):
    """Each call carries the caller's token; the image API's 403 is theirs."""
    tokens = []

    class Refusing:
        def __getattr__(self, name):
            return getattr(compute_env.images, name)

        def delete(self, image_id):
            raise Forbidden("You are not authorized to complete delete_image action.")

    def client(token):
        tokens.append(token)
        return Refusing()

    compute_env.app.extensions["compute"].service.image_client = client
    compute_env.reader.get("/v2.1/images")
    err(compute_env.bob.delete(f"/v2.1/images/{images['old']}"), 403,
        "not allowed to delete the image")
    assert tokens == [compute_env.reader.token, compute_env.bob.token]
    assert images["old"] in compute_env.images.images


@pytest.mark.parametrize("path", ["/v2.1/images", "/v2.1/images/detail",
                                  "/v2.1/images/{old}"])
def test_images_end_at_2_35(compute_env, images, path):
    path = path.format(**images)
    assert compute_env.alice.get(path, headers=mv("2.35")).status_code == 200
    err(compute_env.alice.get(path, headers=NEW), 404, "not supported")
    err(compute_env.alice.delete(f"/v2.1/images/{images['old']}", headers=NEW), 404,
        "not supported")
    assert images["old"] in compute_env.images.images


# -- image metadata --------------------------------------------------------------------------------
def test_image_metadata_changes_glance_properties(compute_env, images):
    alice, url = compute_env.alice, f"/v2.1/images/{images['old']}/metadata"
    stored = compute_env.images.images[images["old"]]
    assert alice.get(url).get_json() == {"metadata": {"os_distro": "debian"}}
    resp = alice.post(url, json={"metadata": {"os_version": "12"}})
    assert resp.get_json() == {"metadata": {"os_distro": "debian", "os_version": "12"}}
    stored["os_glance_failed_import"] = ""     # the image API's own: a replace keeps it
    resp = alice.put(url, json={"metadata": {"architecture": "x86_64"}})
    assert resp.get_json() == {"metadata": {"architecture": "x86_64"}}
    assert "os_distro" not in stored and stored["architecture"] == "x86_64"
    assert stored.pop("os_glance_failed_import") == ""
    assert stored["min_ram"] == 512 and stored["name"] == "old"   # Glance's own: untouched
    assert alice.put(f"{url}/hw_disk_bus", json={"meta": {"hw_disk_bus": "scsi"}}
                     ).get_json() == {"meta": {"hw_disk_bus": "scsi"}}
    assert alice.get(f"{url}/hw_disk_bus").get_json() == {"meta": {"hw_disk_bus": "scsi"}}
    assert alice.delete(f"{url}/architecture").status_code == 204
    assert alice.get(url).get_json() == {"metadata": {"hw_disk_bus": "scsi"}}


def test_image_metadata_refusals(compute_env, images):
    alice, url = compute_env.alice, f"/v2.1/images/{images['old']}/metadata"
    err(alice.get(f"{url}/nope"), 404, "not found")
    err(alice.delete(f"{url}/nope"), 404, "Invalid metadata key")
    err(alice.put(f"{url}/a", json={"meta": {"b": "c"}}), 400, "Request body and URI mismatch")
    err(alice.put(f"{url}/a", json={"meta": {"a": "1", "b": "2"}}), 400, "meta")
    err(alice.post(url, json={"metadata": {"a": 1}}), 400, "metadata")
    err(alice.post(url, json={"metadata": {"a/b": "1"}}), 400, "a/b")
    err(alice.get("/v2.1/images/missing/metadata"), 404, "Image not found.")
    err(alice.post("/v2.1/images/missing/metadata", json={"metadata": {"a": "1"}}), 404,
        "Image not found.")
    many = {f"k{i}": "v" for i in range(128)}
    err(alice.post(url, json={"metadata": many}), 403, "Image metadata limit exceeded")
    err(alice.put(url, json={"metadata": {**many, "x": "y"}}), 403, "limit exceeded")
    assert alice.put(url, json={"metadata": many}).status_code == 200
    err(alice.put(f"{url}/new", json={"meta": {"new": "1"}}), 403, "limit exceeded")
    assert "new" not in compute_env.images.images[images["old"]]


def test_image_metadata_ends_at_2_38(compute_env, images):
    url = f"/v2.1/images/{images['old']}/metadata"
    assert compute_env.alice.get(url, headers=mv("2.38")).status_code == 200
    err(compute_env.alice.get(url, headers=mv("2.39")), 404, "not supported")
    err(compute_env.alice.post(url, json={"metadata": {"a": "b"}}, headers=mv("2.39")), 404,
        "not supported")
    assert "a" not in compute_env.images.images[images["old"]]


# -- volumes ---------------------------------------------------------------------------------------
def test_volume_create_show_list_delete(compute_env):
    alice = compute_env.alice
    resp = alice.post("/v2.1/os-volumes", json={"volume": {
        "size": "2", "display_name": "v", "display_description": "d",
        "metadata": {"Type": "work"}, "availability_zone": "nova"}})
    assert resp.status_code == 200, resp.get_json()
    vol = resp.get_json()["volume"]
    assert resp.headers["Location"].endswith(f"/v2.1/os-volumes/{vol['id']}")
    assert compute_env.volumes.details[vol["id"]] == {
        "size": 2, "name": "v", "description": "d", "metadata": {"Type": "work"},
        "availability_zone": "nova"}
    assert (vol["displayName"], vol["displayDescription"], vol["size"], vol["metadata"],
            vol["attachments"], vol["availabilityZone"]) == (
        "v", "d", 2, {"Type": "work"}, [{}], "nova")
    shown = compute_env.reader.get(f"/v2.1/os-volumes/{vol['id']}").get_json()["volume"]
    assert shown == vol
    listed = compute_env.reader.get("/v2.1/os-volumes").get_json()["volumes"]
    assert shown in listed
    assert listed == compute_env.reader.get("/v2.1/os-volumes/detail").get_json()["volumes"]
    assert alice.delete(f"/v2.1/os-volumes/{vol['id']}").status_code == 202
    err(alice.get(f"/v2.1/os-volumes/{vol['id']}"), 404, "could not be found")
    err(alice.delete(f"/v2.1/os-volumes/{vol['id']}"), 404, "could not be found")


def test_volume_attachments_in_novas_shape(compute_env):
    compute_env.volumes.status[VOLUME_IDS[0]] = "in-use"
    compute_env.volumes.details[VOLUME_IDS[0]] = {"attachments": [
        {"server_id": "s1", "device": "/dev/vdc", "volume_id": VOLUME_IDS[0]}]}
    vol = compute_env.alice.get(f"/v2.1/os-volumes/{VOLUME_IDS[0]}").get_json()["volume"]
    assert vol["attachments"] == [{"id": VOLUME_IDS[0], "volumeId": VOLUME_IDS[0],
                                   "serverId": "s1", "device": "/dev/vdc"}]


def test_volume_list_offset_and_limit(compute_env):
    def ids(query: str) -> list[str]:
        return [v["id"] for v in compute_env.alice.get(f"/v2.1/os-volumes{query}")
                .get_json()["volumes"]]

    everything = ids("")
    assert len(everything) == 2
    assert ids("?limit=1") == everything[:1]
    assert ids("?limit=0") == everything  # Nova's common.limited: 0 is the maximum
    assert ids("/detail?offset=1&limit=1") == everything[1:2]
    err(compute_env.alice.get("/v2.1/os-volumes?offset=-1"), 400, "offset")
    err(compute_env.alice.get("/v2.1/os-volumes?limit=x"), 400, "limit")


@pytest.mark.parametrize("body, text", [
    ({"volume": {"size": 0}}, "size"),
    ({"volume": {"size": "0"}}, "size"),
    ({"volume": {"size": "#$%"}}, "size"),
    ({"volume": {"size": ""}}, "size"),
    ({"volume": {"display_name": "v"}}, "size"),
    ({"volume": {"size": 1, "name": "v"}}, "name"),
    ({"size": 1}, "volume"),
])
def test_volume_create_refusals(compute_env, body, text):
    err(compute_env.alice.post("/v2.1/os-volumes", json=body), 400, text)
    assert len(compute_env.volumes.status) == 2


def test_volume_over_quota_is_a_403(compute_env):
    def over(body):
        raise RequestTooLarge("VolumeLimitExceeded: Maximum number of volumes allowed (10) "
                              "exceeded for quota 'volumes'.")

    compute_env.volumes.create = over
    err(compute_env.alice.post("/v2.1/os-volumes", json={"volume": {"size": 1}}), 403,
        "Maximum number of volumes")


def test_volumes_end_at_2_35_and_need_their_roles(compute_env):
    alice = compute_env.alice
    err(alice.get("/v2.1/os-volumes", headers=NEW), 404, "not supported")
    err(alice.post("/v2.1/os-volumes", json={"volume": {"size": 1}}, headers=NEW), 404,
        "not supported")
    err(alice.delete(f"/v2.1/os-volumes/{VOLUME_IDS[0]}", headers=NEW), 404, "not supported")
    err(compute_env.reader.post("/v2.1/os-volumes", json={"volume": {"size": 1}}), 403,
        "doesn't allow")
    err(compute_env.reader.delete(f"/v2.1/os-volumes/{VOLUME_IDS[0]}"), 403, "doesn't allow")
    assert set(compute_env.volumes.status) == set(VOLUME_IDS)


# -- volume snapshots ------------------------------------------------------------------------------
def test_snapshot_create_show_list_delete(compute_env):
    alice, volumes = compute_env.alice, compute_env.volumes
    resp = alice.post("/v2.1/os-snapshots", json={"snapshot": {
        "volume_id": VOLUME_IDS[0], "display_name": "s", "display_description": "d"}})
    assert resp.status_code == 200, resp.get_json()
    snap = resp.get_json()["snapshot"]
    assert snap == {"id": snap["id"], "volumeId": VOLUME_IDS[0], "status": "creating",
                    "size": 1, "createdAt": "2026-01-02T00:00:00.000000",
                    "displayName": "s", "displayDescription": "d"}
    assert volumes.snapshots[snap["id"]]["force"] is False  # Nova's default
    shown = compute_env.reader.get(f"/v2.1/os-snapshots/{snap['id']}").get_json()["snapshot"]
    assert shown == dict(snap, status="available")
    listed = compute_env.reader.get("/v2.1/os-snapshots").get_json()["snapshots"]
    assert listed == [shown]
    assert compute_env.reader.get("/v2.1/os-snapshots/detail").get_json()["snapshots"] == [
        shown]
    assert alice.delete(f"/v2.1/os-snapshots/{snap['id']}").status_code == 202
    assert volumes.snapshots == {}
    err(alice.get(f"/v2.1/os-snapshots/{snap['id']}"), 404, "could not be found")
    err(alice.delete(f"/v2.1/os-snapshots/{snap['id']}"), 404, "could not be found")


def test_snapshot_of_an_in_use_volume_needs_force(compute_env):
    compute_env.volumes.status[VOLUME_IDS[0]] = "in-use"
    body = {"snapshot": {"volume_id": VOLUME_IDS[0]}}
    err(compute_env.alice.post("/v2.1/os-snapshots", json=body), 400, "must be available")
    body["snapshot"]["force"] = "True"
    resp = compute_env.alice.post("/v2.1/os-snapshots", json=body)
    assert resp.status_code == 200, resp.get_json()
    snap = resp.get_json()["snapshot"]
    assert (snap["displayName"], snap["displayDescription"]) == (None, None)
    assert compute_env.volumes.snapshots[snap["id"]]["force"] is True


def test_snapshot_list_offset_and_limit(compute_env):
    for _ in range(3):
        compute_env.volumes.create_snapshot(VOLUME_IDS[1], "s")

    def ids(query: str) -> list[str]:
        return [s["id"] for s in compute_env.alice.get(f"/v2.1/os-snapshots{query}")
                .get_json()["snapshots"]]

    everything = ids("")
    assert len(everything) == 3
    assert ids("?limit=2") == everything[:2]
    assert ids("?limit=0&offset=1") == everything[1:]
    assert ids("/detail?offset=2") == everything[2:]
    err(compute_env.alice.get("/v2.1/os-snapshots?limit=-1"), 400, "limit")


@pytest.mark.parametrize("body, text", [
    ({"snapshot": {}}, "volume_id"),
    ({"snapshot": {"volume_id": VOLUME_IDS[0], "force": "maybe"}}, "force"),
    ({"snapshot": {"volume_id": VOLUME_IDS[0], "force": "t"}}, "force"),  # not Nova's
    ({"snapshot": {"volume_id": VOLUME_IDS[0], "name": "s"}}, "name"),
    ({"snapshot": {"volume_id": 7}}, "volume_id"),
    ({"volume_id": VOLUME_IDS[0]}, "snapshot"),
])
def test_snapshot_create_refusals(compute_env, body, text):
    err(compute_env.alice.post("/v2.1/os-snapshots", json=body), 400, text)
    assert compute_env.volumes.snapshots == {}


def test_snapshot_errors_of_the_volume_api_reach_the_caller(compute_env):
    err(compute_env.alice.post("/v2.1/os-snapshots", json={"snapshot": {
        "volume_id": "0c1f6f5e-0000-4000-8000-000000000099"}}), 404, "could not be found")

    def over(*args, **kw):
        raise RequestTooLarge("SnapshotLimitExceeded: Maximum number of snapshots allowed "
                              "(10) exceeded")

    compute_env.volumes.create_snapshot = over
    err(compute_env.alice.post("/v2.1/os-snapshots", json={"snapshot": {
        "volume_id": VOLUME_IDS[0]}}), 403, "Maximum number of snapshots")


def test_snapshots_end_at_2_35_and_need_their_roles(compute_env):
    alice, reader = compute_env.alice, compute_env.reader
    snap = compute_env.volumes.create_snapshot(VOLUME_IDS[0], "s")
    body = {"snapshot": {"volume_id": VOLUME_IDS[0]}}
    err(alice.get("/v2.1/os-snapshots", headers=NEW), 404, "not supported")
    err(alice.get(f"/v2.1/os-snapshots/{snap['id']}", headers=NEW), 404, "not supported")
    err(alice.post("/v2.1/os-snapshots", json=body, headers=NEW), 404, "not supported")
    err(alice.delete(f"/v2.1/os-snapshots/{snap['id']}", headers=NEW), 404, "not supported")
    for path in ("/v2.1/os-snapshots", "/v2.1/os-volumes"):  # the route is gone, whatever
        err(alice.post(path, json=[], headers=NEW), 404, "not supported")  # the body
    err(alice.post(f"/v2.1/images/{IMAGE_ID}/metadata", json=[], headers=mv("2.39")), 404,
        "not supported")
    err(reader.post("/v2.1/os-snapshots", json=body), 403, "doesn't allow")
    err(reader.delete(f"/v2.1/os-snapshots/{snap['id']}"), 403, "doesn't allow")
    assert list(compute_env.volumes.snapshots) == [snap["id"]]


# -- networks and extensions -----------------------------------------------------------------------
def test_networks_are_none(compute_env):
    assert compute_env.reader.get("/v2.1/os-networks").get_json() == {"networks": []}
    err(compute_env.reader.get("/v2.1/os-networks/net1"), 404, "Network could not be found.")
    err(compute_env.reader.get("/v2.1/os-networks", headers=NEW), 404, "not supported")


def test_extensions_list_what_is_served(compute_env):
    listed = compute_env.reader.get("/v2.1/extensions").get_json()["extensions"]
    aliases = [e["alias"] for e in listed]
    assert aliases == sorted(aliases)
    assert {"os-volumes", "OS-EXT-IMG-SIZE", "os-server-start-stop", "os-console-output",
            "os-flavor-manage", "os-services", "os-networks"} <= set(aliases)
    # features this cloud does not have are not claimed
    assert not {"os-consoles", "os-personality", "os-shelve",
                "os-console-auth-tokens"} & set(aliases)
    # accepted by the action schema only to be refused with Nova's reason
    assert "os-migrate-server" not in aliases and "os-lock-server" in aliases
    assert "os-migrations" in aliases  # GET /os-migrations is served (an empty list)
    assert "os-server-external-events" in aliases
    shown = compute_env.reader.get("/v2.1/extensions/os-volumes").get_json()["extension"]
    assert shown == {"name": "Volumes", "alias": "os-volumes", "description":
                     "Volumes support.", "namespace":
                     "http://docs.openstack.org/compute/ext/fake_xml",
                     "updated": "2014-12-03T00:00:00Z", "links": []}
    err(compute_env.reader.get("/v2.1/extensions/os-consoles"), 404, "could not be found")


def test_an_extension_appears_with_its_route(compute_env):
    """Derived from the app: a route added later is listed with no edit."""
    from flask import Blueprint

    app = compute_env.app            # no request yet: routes may still be added
    assert "os-console-auth-tokens" not in [e["alias"] for e in extensions(app)]
    extra = Blueprint("extra", __name__)
    extra.add_url_rule("/v2.1/os-console-auth-tokens/<console_token>", "tokens", lambda: "")
    app.register_blueprint(extra)
    assert "os-console-auth-tokens" in [e["alias"] for e in extensions(app)]
    shown = compute_env.reader.get("/v2.1/extensions/os-console-auth-tokens").get_json()[
        "extension"]
    assert shown["alias"] == "os-console-auth-tokens"


# -- Tempest's schemas -----------------------------------------------------------------------------
SCHEMAS = COMPUTE_SCHEMAS + "."


def test_bodies_pass_tempest_schemas(compute_env, images, tmp_path: Path):
    compute_env.volumes.status[VOLUME_IDS[0]] = "in-use"
    compute_env.volumes.details[VOLUME_IDS[0]] = {"attachments": [
        {"server_id": "s1", "device": "/dev/vdc", "volume_id": VOLUME_IDS[0]}]}
    cases = []
    for version in ("2.1", "2.35"):
        def add(module: str, op: str, method: str, path: str, version=version, **kw) -> None:
            resp = compute_env.alice._call(method, path, headers=mv(version), **kw)
            assert resp.status_code < 300, (path, resp.get_json())
            cases.append({"module": SCHEMAS + module, "op": op, "version": version,
                          "status": resp.status_code, "body": resp.get_json()})

        meta = f"/v2.1/images/{images['snap']}/metadata"
        add("images", "list_images", "GET", "/v2.1/images?limit=1")
        add("images", "list_images_details", "GET", "/v2.1/images/detail")
        add("images", "get_image", "GET", f"/v2.1/images/{images['snap']}")
        add("images", "image_metadata", "GET", meta)
        add("images", "image_metadata", "POST", meta, json={"metadata": {"a": "b"}})
        add("images", "image_metadata", "PUT", meta, json={"metadata": {"a": "b"}})
        add("images", "image_meta_item", "GET", f"{meta}/a")
        add("images", "image_meta_item", "PUT", f"{meta}/a", json={"meta": {"a": "c"}})
        add("volumes", "list_volumes", "GET", "/v2.1/os-volumes")
        add("volumes", "list_volumes", "GET", "/v2.1/os-volumes/detail")
        add("volumes", "create_get_volume", "GET", f"/v2.1/os-volumes/{VOLUME_IDS[0]}")
        add("volumes", "create_get_volume", "POST", "/v2.1/os-volumes",
            json={"volume": {"size": 1, "display_name": "v"}})
        snap = compute_env.alice.post("/v2.1/os-snapshots", headers=mv(version), json={
            "snapshot": {"volume_id": VOLUME_IDS[1], "display_name": "s"}}).get_json()
        add("snapshots", "create_get_snapshot", "GET",
            f"/v2.1/os-snapshots/{snap['snapshot']['id']}")
        add("snapshots", "create_get_snapshot", "POST", "/v2.1/os-snapshots",
            json={"snapshot": {"volume_id": VOLUME_IDS[1], "force": True}})
        add("snapshots", "list_snapshots", "GET", "/v2.1/os-snapshots")
        add("snapshots", "list_snapshots", "GET", "/v2.1/os-snapshots/detail")
        add("extensions", "list_extensions", "GET", "/v2.1/extensions")
        add("tenant_networks", "list_tenant_networks", "GET", "/v2.1/os-networks")
    assert_valid(cases, tmp_path)
