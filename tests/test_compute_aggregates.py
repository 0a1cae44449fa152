"""Host aggregates, the availability zones they define, image pre-caching (2.81), and the
images a server boots checked as its creator (kernel and ramdisk included), over the compute
API in-process with fake image/volume services and several fake hosts."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from compute.hosts import service_id
from compute.models import ComputeTask, Instance
from compute.policies import RULES
from minicloud.errors import NotFound
from minicloud.policy import Enforcer
from tests.compute_fixtures import *  # noqa: F403
from tests.compute_fixtures import IMAGE_ID, RAW, err, mv
from tests.multihost_fixtures import with_hosts
from tests.tempest_schemas import COMPUTE_CLIENTS as CLIENTS
from tests.tempest_schemas import assert_valid

AGGS = "/v2.1/os-aggregates"
KERNEL = "5e7c8a46-6f4f-4b8e-9d4c-7d0b1b1e00a1"
RAMDISK = "5e7c8a46-6f4f-4b8e-9d4c-7d0b1b1e00a2"
AMI = "5e7c8a46-6f4f-4b8e-9d4c-7d0b1b1e00a3"
PRIVATE = "5e7c8a46-6f4f-4b8e-9d4c-7d0b1b1e00a4"


def create(env, name: str, zone: str | None = None, version: str = "2.1") -> dict:
    body = {"name": name, **({"availability_zone": zone} if zone else {})}
    resp = env.admin.post(AGGS, json={"aggregate": body}, headers=mv(version))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["aggregate"]


def action(env, agg_id: int, name: str, args: dict, version: str = "2.1"):
    return env.admin.post(f"{AGGS}/{agg_id}/action", json={name: args}, headers=mv(version))


def zones(env, detail: bool = False) -> dict:
    path = "/v2.1/os-availability-zone" + ("/detail" if detail else "")
    who = env.admin if detail else env.alice
    return {z["zoneName"]: z for z in who.get(path).get_json()["availabilityZoneInfo"]}


# -- aggregates ---------------------------------------------------------------------------------
def test_crud_and_shapes(compute_env):
    env = compute_env
    made = create(env, "rack1", "az1")
    assert set(made) == {"id", "name", "availability_zone", "created_at", "updated_at",
                         "deleted", "deleted_at"}
    assert (made["name"], made["availability_zone"], made["deleted"]) == ("rack1", "az1",
                                                                          False)
    made41 = create(env, "rack2", version="2.41")
    assert "uuid" in made41 and made41["availability_zone"] is None
    shown = env.admin.get(f"{AGGS}/{made['id']}").get_json()["aggregate"]
    assert (shown["hosts"], shown["metadata"]) == ([], {"availability_zone": "az1"})
    assert "uuid" not in shown
    assert "uuid" in env.admin.get(f"{AGGS}/{made['id']}", headers=mv("2.41")).get_json()[
        "aggregate"]
    listed = env.admin.get(AGGS).get_json()["aggregates"]
    assert [a["name"] for a in listed] == ["rack1", "rack2"]
    renamed = env.admin.put(f"{AGGS}/{made41['id']}", json={"aggregate": {
        "name": "rack-two", "availability_zone": "az2"}}).get_json()["aggregate"]
    assert (renamed["name"], renamed["availability_zone"]) == ("rack-two", "az2")
    assert renamed["updated_at"] is not None
    meta = action(env, made["id"], "set_metadata", {"metadata": {"ssd": "true", "x": "1"}})
    assert meta.get_json()["aggregate"]["metadata"] == {"availability_zone": "az1",
                                                        "ssd": "true", "x": "1"}
    meta = action(env, made["id"], "set_metadata", {"metadata": {"x": None}})
    assert meta.get_json()["aggregate"]["metadata"] == {"availability_zone": "az1",
                                                        "ssd": "true"}
    resp = env.admin.delete(f"{AGGS}/{made['id']}")
    assert (resp.status_code, resp.data) == (200, b"")
    err(env.admin.get(f"{AGGS}/{made['id']}"), 404, f"Aggregate {made['id']} could not")


def test_refusals(compute_env):
    env = compute_env
    agg = create(env, "rack1")
    err(env.admin.post(AGGS, json={"aggregate": {"name": "rack1"}}), 409, "already exists")
    create(env, "rack2")
    err(env.admin.put(f"{AGGS}/{agg['id']}", json={"aggregate": {"name": "rack2"}}), 409,
        "already exists")
    err(env.admin.put(f"{AGGS}/{agg['id']}", json={"aggregate": {}}), 400, "aggregate")
    err(env.admin.post(AGGS, json={"aggregate": {"name": "r", "availability_zone": "a:b"}}),
        400, "availability_zone")
    err(env.admin.get(f"{AGGS}/abc"), 400, "id must be an integer")
    err(env.admin.get(f"{AGGS}/999"), 404, "could not be found")
    err(env.admin.delete(f"{AGGS}/-1"), 404, "Aggregate -1 could not be found")
    err(env.admin.get(f"{AGGS}/1.5"), 400, "id must be an integer")
    err(action(env, 999, "add_host", {"host": "node1"}), 404, "could not be found")
    err(action(env, agg["id"], "add_host", {"host": "nowhere"}), 404,
        "Compute host nowhere could not be found")
    assert action(env, agg["id"], "add_host", {"host": "node1"}).status_code == 200
    err(action(env, agg["id"], "add_host", {"host": "node1"}), 409, "already has host node1")
    err(env.admin.delete(f"{AGGS}/{agg['id']}"), 400, "Host aggregate is not empty")
    err(action(env, agg["id"], "remove_host", {"host": "node2"}), 404,
        "Cannot remove host node2")
    err(env.admin.post(f"{AGGS}/{agg['id']}/action", json={
        "add_host": {"host": "node1"}, "remove_host": {"host": "node1"}}), 400, "")
    err(env.admin.post(f"{AGGS}/{agg['id']}/action", json={"reboot": {}}), 400, "reboot")
    removed = action(env, agg["id"], "remove_host", {"host": "node1"}).get_json()
    assert removed["aggregate"]["hosts"] == []
    assert env.admin.delete(f"{AGGS}/{agg['id']}").status_code == 200


# -- availability zones -------------------------------------------------------------------------
def test_a_zone_is_what_an_aggregate_says(compute_env):
    env = compute_env
    with_hosts(env, "node2")
    assert set(zones(env)) == {"nova"}
    agg = create(env, "fast", "az-fast")
    assert set(zones(env)) == {"nova"}  # a zone with no host is not shown (as Nova)
    action(env, agg["id"], "add_host", {"host": "node2"})
    assert set(zones(env)) == {"nova", "az-fast"}
    detail = zones(env, detail=True)
    assert set(detail["az-fast"]["hosts"]) == {"node2"}
    assert set(detail["nova"]["hosts"]) == {"node1"}
    services = env.admin.get("/v2.1/os-services").get_json()["services"]
    assert {s["host"]: s["zone"] for s in services} == {"node1": "nova", "node2": "az-fast"}
    for i in range(3):
        sid = env.create_server(name=f"z{i}", active=False, availability_zone="az-fast")
        shown = env.admin.get(f"/v2.1/servers/{sid}").get_json()["server"]
        assert (shown["OS-EXT-SRV-ATTR:host"], shown["OS-EXT-AZ:availability_zone"]) == (
            "node2", "az-fast")
    loose = env.create_server(name="loose", active=False)
    shown = env.admin.get(f"/v2.1/servers/{loose}").get_json()["server"]
    assert shown["OS-EXT-AZ:availability_zone"] == (
        "az-fast" if shown["OS-EXT-SRV-ATTR:host"] == "node2" else "nova")
    body = {"server": {"name": "x", "imageRef": IMAGE_ID, "flavorRef": "6",
                       "availability_zone": "mars"}}
    err(env.alice.post("/v2.1/servers", json=body), 400,
        "The requested availability zone is not available")
    # Disabled hosts leave their zone listed as unavailable.
    env.admin.put(f"/v2.1/os-services/{service_id('node2')}", headers=mv("2.53"),
                  json={"status": "disabled"})
    assert zones(env)["az-fast"]["zoneState"] == {"available": False}
    err(env.alice.post("/v2.1/servers", json=dict(body, server=dict(
        body["server"], availability_zone="az-fast"))), 400, "not available")


def test_nova_keeps_a_host_in_one_zone(compute_env):
    env = compute_env
    with_hosts(env, "node2")
    first, second = create(env, "a", "az1"), create(env, "b", "az2")
    plain = create(env, "plain")
    action(env, first["id"], "add_host", {"host": "node2"})
    err(action(env, second["id"], "add_host", {"host": "node2"}), 409,
        "One or more hosts already in availability zone(s) ['az1']")
    assert action(env, plain["id"], "add_host", {"host": "node2"}).status_code == 200
    err(action(env, plain["id"], "set_metadata", {"metadata": {"availability_zone": "az9"}}),
        400, "already in availability zone(s) ['az1']")
    err(env.admin.put(f"{AGGS}/{plain['id']}", json={"aggregate": {
        "availability_zone": "az9"}}), 400, "already in availability zone(s)")
    err(action(env, first["id"], "set_metadata", {"metadata": {"availability_zone": None}}),
        400, "does not support empty named availability zone")
    same = create(env, "same", "az1")
    assert action(env, same["id"], "add_host", {"host": "node2"}).status_code == 200


def test_a_zone_never_changes_under_servers(compute_env):
    env = compute_env
    env.create_server(name="on-node1")  # node1 runs a server, in zone nova
    agg = create(env, "rack", "az1")
    err(action(env, agg["id"], "add_host", {"host": "node1"}), 409,
        "availability zone of the host would change from 'nova' to 'az1'")
    plain = create(env, "plain")
    action(env, plain["id"], "add_host", {"host": "node1"})
    err(action(env, plain["id"], "set_metadata", {"metadata": {"availability_zone": "az2"}}),
        400, "One or more hosts contain instances in this zone")
    # Metadata other than the zone changes freely.
    assert action(env, plain["id"], "set_metadata", {"metadata": {"k": "v"}}
                  ).status_code == 200


def test_deleting_a_service_takes_it_out_of_its_aggregates(compute_env):
    env = compute_env
    with_hosts(env, "node2")
    agg = create(env, "rack", "az1")
    action(env, agg["id"], "add_host", {"host": "node2"})
    assert env.admin.delete(f"/v2.1/os-services/{service_id('node2')}").status_code == 204
    assert env.admin.get(f"{AGGS}/{agg['id']}").get_json()["aggregate"]["hosts"] == []


# -- image pre-caching --------------------------------------------------------------------------
class Scoped:
    """The fake image service as one caller sees it: an image of ``owners`` is visible to
    its owner's token alone (admins see everything, as Glance's)."""

    def __init__(self, images, token: str, owners: dict[str, str], admin: str) -> None:
        self.images, self.token, self.owners, self.admin = images, token, owners, admin

    def get(self, image_id: str) -> dict:
        owner = self.owners.get(image_id)
        if owner is not None and self.token not in (owner, self.admin):
            raise NotFound(f"image {image_id}")
        return self.images.get(image_id)

    def __getattr__(self, name: str):
        return getattr(self.images, name)


def _image(image_id: str, disk_format: str = "raw", **props) -> dict:
    return {"id": image_id, "status": "active", "disk_format": disk_format, "min_ram": 0,
            "min_disk": 0, "size": len(RAW), "virtual_size": len(RAW),
            "checksum": hashlib.md5(RAW).hexdigest(), "os_hash_algo": "sha512",
            "os_hash_value": hashlib.sha512(RAW).hexdigest(), **props}


@pytest.fixture
def scoped(compute_env):
    """Images as the callers see them: ``PRIVATE`` is bob's; a counter of downloads."""
    env = compute_env
    env.images.images[PRIVATE] = _image(PRIVATE)
    owners = {PRIVATE: env.bob.token}
    downloads: list[str] = []
    plain_download = env.images.download

    def download(image_id: str, chunk_size: int = 1 << 20):
        downloads.append(image_id)
        yield from plain_download(image_id, chunk_size)

    env.images.download = download
    env.app.extensions["compute"].service.image_client = lambda token: Scoped(
        env.images, token, owners, env.admin.token)
    return owners, downloads


def test_pre_caching_fills_each_hosts_cache_before_the_first_boot(compute_env, scoped):
    env = compute_env
    _, downloads = scoped
    hosts = with_hosts(env, "node2")
    agg = create(env, "cache-me")
    for host in ("node1", "node2"):
        action(env, agg["id"], "add_host", {"host": host})
    body = {"cache": [{"id": IMAGE_ID}]}
    err(env.admin.post(f"{AGGS}/{agg['id']}/images", json=body, headers=mv("2.80")), 404, "")
    resp = env.admin.post(f"{AGGS}/{agg['id']}/images", json=body, headers=mv("2.81"))
    assert (resp.status_code, resp.data) == (202, b"")
    uuid = env.admin.get(f"{AGGS}/{agg['id']}", headers=mv("2.41")).get_json()[
        "aggregate"]["uuid"]
    with env.db.session() as s:
        tasks = s.query(ComputeTask).filter_by(action="cache_images").all()
        assert sorted(t.host for t in tasks) == ["node1", "node2"]
        assert {t.instance_id for t in tasks} == {uuid}
    assert hosts.work() == 2
    bases = {name: agent.cache.path(IMAGE_ID)
             for name, agent in [("node1", env.agent), *hosts.agents.items()]}
    assert all(path.exists() for path in bases.values())
    assert downloads == [IMAGE_ID, IMAGE_ID]
    before = {name: (p.stat().st_ino, p.stat().st_mtime_ns) for name, p in bases.items()}
    sid = env.create_server(user="admin", name="warm", active=False,
                            availability_zone="nova:node2")
    hosts.work()
    assert env.admin.get(f"/v2.1/servers/{sid}").get_json()["server"]["status"] == "ACTIVE"
    assert downloads == [IMAGE_ID, IMAGE_ID]  # the boot downloaded nothing
    after = {name: (p.stat().st_ino, p.stat().st_mtime_ns) for name, p in bases.items()}
    assert after == before


def test_pre_caching_refusals(compute_env, scoped):
    env = compute_env
    owners, downloads = scoped
    agg = create(env, "cache-me")
    action(env, agg["id"], "add_host", {"host": "node1"})

    def post(ids: list[str], who=None, agg_id=agg["id"]):
        return (who or env.admin).post(f"{AGGS}/{agg_id}/images", headers=mv("2.81"),
                                       json={"cache": [{"id": i} for i in ids]})

    missing = "5e7c8a46-6f4f-4b8e-9d4c-7d0b1b1e0fff"
    err(post([missing]), 400, f"Image {missing} could not be found")
    err(post([IMAGE_ID, IMAGE_ID]), 400, "Duplicate images in request")
    err(post([]), 400, "cache")
    err(post(["not-a-uuid"]), 400, "id")
    err(post([IMAGE_ID], agg_id=999), 404, "could not be found")
    err(post([IMAGE_ID], who=env.alice), 403, "doesn't allow")
    env.images.images[missing] = dict(_image(missing), status="queued")
    err(post([missing]), 400, "is not active")
    with env.db.session() as s:
        assert s.query(ComputeTask).filter_by(action="cache_images").count() == 0
    assert env.work() == 0 and downloads == []


def test_a_member_opened_to_pre_caching_cannot_cache_an_image_it_cannot_see(
        compute_env, scoped, tmp_path):
    """With the images rule opened to members (policy.yaml), the image is still checked
    as the caller: another project's private image is a 400."""
    env = compute_env
    policy = tmp_path / "policy.yaml"
    policy.write_text('"compute:aggregates:images": "role:member"\n')
    env.app.extensions["minicloud"].policy = Enforcer(RULES, policy)
    agg = create(env, "open")
    action(env, agg["id"], "add_host", {"host": "node1"})
    resp = env.alice.post(f"{AGGS}/{agg['id']}/images", headers=mv("2.81"),
                          json={"cache": [{"id": PRIVATE}]})
    err(resp, 400, f"Image {PRIVATE} could not be found")
    resp = env.bob.post(f"{AGGS}/{agg['id']}/images", headers=mv("2.81"),
                        json={"cache": [{"id": PRIVATE}]})
    assert resp.status_code == 202


# -- kernel and ramdisk: checked as the caller --------------------------------------------------
def _ami(env, kernel_owner: str | None, owners: dict[str, str]) -> None:
    env.images.images[KERNEL] = _image(KERNEL, "aki")
    env.images.images[RAMDISK] = _image(RAMDISK, "ari")
    env.images.images[AMI] = _image(AMI, "ami", kernel_id=KERNEL, ramdisk_id=RAMDISK)
    if kernel_owner:
        owners[KERNEL] = kernel_owner


def test_another_projects_private_kernel_is_refused(compute_env, scoped):
    env = compute_env
    owners, downloads = scoped
    _ami(env, env.bob.token, owners)
    body = {"server": {"name": "sneaky", "imageRef": AMI, "flavorRef": "6"}}
    err(env.alice.post("/v2.1/servers", json=body), 400,
        f"Kernel image {KERNEL} of image {AMI} could not be found")
    owners.pop(KERNEL)
    owners[RAMDISK] = env.bob.token
    err(env.alice.post("/v2.1/servers", json=body), 400,
        f"Ramdisk image {RAMDISK} of image {AMI} could not be found")
    assert env.alice.get("/v2.1/servers").get_json()["servers"] == []
    assert env.work() == 0 and downloads == []
    assert not env.agent.cache.path(KERNEL).exists()


def test_kernel_and_ramdisk_the_caller_sees_are_fetched(compute_env, scoped):
    env = compute_env
    owners, _ = scoped
    _ami(env, env.alice.token, owners)  # alice's own private kernel
    sid = env.create_server(name="ami", imageRef=AMI)
    assert env.alice.get(f"/v2.1/servers/{sid}").get_json()["server"]["status"] == "ACTIVE"
    for image_id in (AMI, KERNEL, RAMDISK):
        assert env.agent.cache.path(image_id).exists()
    with env.db.session() as s:
        task = s.query(ComputeTask).filter_by(instance_id=sid, action="spawn").one()
        assert task.params["images"] == [AMI, KERNEL, RAMDISK]


def test_the_agent_fetches_only_what_the_api_checked(compute_env, scoped):
    """A spawn whose image properties name a kernel the API did not check (changed after
    the check) fails without fetching it."""
    env = compute_env
    owners, downloads = scoped
    _ami(env, None, owners)
    sid = env.create_server(name="ami", imageRef=AMI, active=False)
    with env.db.session() as s:
        inst = s.get(Instance, sid)
        inst.image_meta = dict(inst.image_meta, kernel_id=PRIVATE)
    env.work()
    shown = env.alice.get(f"/v2.1/servers/{sid}").get_json()["server"]
    assert shown["status"] == "ERROR"
    assert f"Image {PRIVATE} was not checked" in shown["fault"]["message"]
    assert PRIVATE not in downloads and not env.agent.cache.path(PRIVATE).exists()


# -- Tempest's schemas --------------------------------------------------------------------------
def test_bodies_pass_tempest_schemas(compute_env, tmp_path: Path):
    env, cases = compute_env, []
    client = f"{CLIENTS}.aggregates_client.AggregatesClient"
    for version in ("2.1", "2.41", "2.96"):
        def add(op: str, method: str, path: str, body: dict | None = None,
                version: str = version) -> dict:
            resp = env.admin.client.open(path, method=method, json=body, headers={
                "X-Auth-Token": env.admin.token, **mv(version)})
            assert resp.status_code < 300, resp.get_json()
            out = resp.get_json() if resp.data else None
            cases.append({"client": client, "op": op, "version": version,
                          "status": resp.status_code, "body": out})
            return out

        made = add("create_aggregate", "POST", AGGS, {"aggregate": {
            "name": f"a{version}", "availability_zone": f"az{version}"}})["aggregate"]
        path = f"{AGGS}/{made['id']}"
        add("update_aggregate", "PUT", path, {"aggregate": {"name": f"b{version}"}})
        add("aggregate_add_remove_host", "POST", f"{path}/action",
            {"add_host": {"host": "node1"}})
        add("aggregate_set_metadata", "POST", f"{path}/action",
            {"set_metadata": {"metadata": {"k": "v"}}})
        add("get_aggregate", "GET", path)
        add("list_aggregates", "GET", AGGS)
        add("aggregate_add_remove_host", "POST", f"{path}/action",
            {"remove_host": {"host": "node1"}})
        add("delete_aggregate", "DELETE", path)
    assert_valid(cases, tmp_path)


def test_a_fetch_marks_last_use_in_the_access_time_only(compute_env, tmp_path):
    """The cache keeps a base's mtime (when it was verified: a boot from a pre-cached base
    changes nothing) and records each use in its access time, which the manager reads."""
    import os
    import time

    cache = compute_env.agent.cache
    base = cache.fetch(compute_env.images.get(IMAGE_ID))
    old = time.time() - 7200
    os.utime(base, (old, old))
    inode = base.stat().st_ino
    assert cache.fetch(compute_env.images.get(IMAGE_ID)) == base
    st = base.stat()
    assert (st.st_ino, int(st.st_mtime)) == (inode, int(old))
    assert st.st_atime > old + 3600
    assert cache.manage(set(), max_age=3600) == []  # used just now: kept
    os.utime(base, (old, old))
    assert cache.manage(set(), max_age=3600) == [IMAGE_ID]  # unused for two hours: removed
