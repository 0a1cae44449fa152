"""``[volume] storage_availability_zone``: the zone of new volumes, of the service, and the
one zone the API lists."""
from __future__ import annotations

from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, err


def test_the_configured_zone_is_the_only_one(make_volenv):
    env = make_volenv(**{"volume.storage_availability_zone": "lab-a"})
    zones = env.alice.get("/v3/os-availability-zone").json["availabilityZoneInfo"]
    assert [z["zoneName"] for z in zones] == ["lab-a"]
    vol = env.create(name="z")
    assert vol["availability_zone"] == "lab-a"
    assert env.create(name="y", availability_zone="lab-a")["availability_zone"] == "lab-a"
    err(env.alice.post("/v3/volumes", json={"volume": {"size": 1, "availability_zone": "nova"}}),
        400, "nova")
    services = env.admin.get("/v3/os-services", headers=MV).json["services"]
    assert [s["zone"] for s in services] == ["lab-a", "lab-a"]  # cinder-volume, -backup


def test_the_default_zone_is_nova(volenv):
    assert volenv.create(name="n")["availability_zone"] == "nova"
    zones = volenv.alice.get("/v3/os-availability-zone").json["availabilityZoneInfo"]
    assert [z["zoneName"] for z in zones] == ["nova"]
