"""The files a real guest leaves on the host are private too (issue 12), probed as nobody.

A real cloud (libvirt guests under QEMU, volumes exported by the host's tgtd) boots the UEFI
lab guest with the flavor's ephemeral disk and a volume attached over iSCSI, so that every
kind of instance file exists: ``disk`` (an overlay on a base in ``_base``), ``disk.eph0``,
``console.log`` (virtlogd) and ``nvram.fd`` (libvirt's copy of the OVMF variables). As uid
65534 none of them (nor the base, the volume file or the catalog) can be opened and the
instance directory cannot be listed, while the disks stay reachable (what QEMU, as
libvirt-qemu, needs). tgtd listens on the portal address only and the volume's target admits
this host's address only.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from minicloud.config import Config
from tests.conftest import start_cloud
from tests.test_host_secrecy import as_nobody, exposed, world_traversable_dir
from volumes.connection import iqn_for
from volumes.targets import TgtTarget

pytestmark = [pytest.mark.real, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def guest_cloud():
    from tests.test_compute_real import remove_domains

    root = world_traversable_dir()
    cloud = start_cloud(root / "state", {"compute": {"driver": "libvirt",
                                                     "shutdown_timeout": 5},
                                         "volume": {"target_helper": "tgtadm"}},
                        daemons=True)
    ids: dict[str, str] = {}
    try:
        cloud.minicloud("lab", "images")

        def cli(*args: str) -> str:
            return cloud.minicloud(*args, "-f", "value", "-c", "id").stdout.decode().strip()

        ids["volume"] = cli("volume", "create", "private-vol", "--size", "1", "--wait")
        ids["server"] = cli("server", "create", "private-vm", "--image", "tiny-uefi",
                            "--flavor", "lab.micro", "--attach-volume", "private-vol", "--wait")
        ids["image"] = cli("image", "show", "tiny-uefi")
        yield cloud, ids
        cloud.minicloud("server", "delete", "--wait", ids["server"], check=False)
        cloud.minicloud("volume", "delete", ids["volume"], check=False)
    finally:
        cloud.minicloud("down", check=False)
        remove_domains(cloud)
        if "volume" in ids:  # tgtd is host-wide: never leave our target behind
            TgtTarget().remove_export(ids["volume"])
        shutil.rmtree(root, ignore_errors=True)


def test_nobody_reads_no_instance_file_of_a_real_guest(guest_cloud):
    cloud, ids = guest_cloud
    conf = Config.load(cloud.state_dir, environ={})
    instances = conf.path(conf.compute.instances_path)
    inst = instances / ids["server"]
    files = [inst / "disk", inst / "disk.eph0", inst / "console.log", inst / "nvram.fd",
             instances / "_base" / ids["image"],
             conf.path(conf.volume.volumes_path) / f"volume-{ids['volume']}",
             cloud.state_dir / "minicloud.db", cloud.state_dir / "minicloud.db-wal"]
    for path in files:
        assert path.exists(), path
    seen = as_nobody([("read", p) for p in files] + [("list", inst), ("list", instances)]
                     + [("stat", inst / "disk"), ("stat", instances / "_base" / ids["image"])])
    assert {k: v for k, v in seen.items() if k[0] != "stat" and v != "denied"} == {}
    assert {k: v for k, v in seen.items() if k[0] == "stat"} == {
        ("stat", str(inst / "disk")): "ok",
        ("stat", str(instances / "_base" / ids["image"])): "ok"}
    assert exposed(cloud.state_dir) == []
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in files[:5]}
    print("instance file modes:", modes, "owners:",
          {p.name: p.owner() for p in files[:5]})


def test_the_volume_is_exported_to_this_host_on_the_portal_only(guest_cloud):
    cloud, ids = guest_cloud
    conf = Config.load(cloud.state_dir, environ={})
    tgt = TgtTarget()
    portals = tgt.portals()
    ours = f"{conf.volume.iscsi_ip_address}:{conf.volume.iscsi_port}"
    assert ours in portals
    assert not any(p.startswith(("0.0.0.0:", "[::]:")) for p in portals), portals
    state = tgt.show()[iqn_for(ids["volume"])]
    assert state.acls == ["127.0.0.1"] and state.sessions >= 1  # the guest is logged in


def test_nobody_cannot_traverse_a_missing_path(guest_cloud):
    """Control: a path that does not exist is reported as such, not as refused (the probe
    tells the two apart)."""
    cloud, _ = guest_cloud
    seen = as_nobody([("stat", Path(cloud.state_dir) / "no-such-file")])
    assert list(seen.values()) == ["FileNotFoundError"]
