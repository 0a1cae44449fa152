"""The libvirt side of pause and suspend on the simulated ``test:///default`` driver:
Guest.pause/unpause, the managed save (suspend) and its removal with the definition."""
from __future__ import annotations

from compute import states
from compute.virt.host import Host
from tests.test_virt_host import TEST_URI, designed


def test_pause_save_resume_and_undefine_with_a_saved_image() -> None:
    with Host(TEST_URI) as host:
        config = designed()
        guest = host.define(config)
        guest.start()
        guest.pause()
        assert guest.power_state() == states.PAUSED
        guest.unpause()
        assert guest.power_state() == states.RUNNING
        assert not guest.has_saved_state()
        guest.save()
        assert (guest.power_state(), guest.has_saved_state()) == (states.SHUTDOWN, True)
        guest.start()  # restored from the save image, which is then gone
        assert (guest.power_state(), guest.has_saved_state()) == (states.RUNNING, False)
        guest.save()
        guest.discard_saved_state()
        assert not guest.has_saved_state()
        guest.discard_saved_state()  # none: tolerated
        guest.start()
        guest.save()
        guest.undefine()  # the saved image goes with the definition
        assert host.lookup(config.uuid) is None


def _driver(tmp_path):
    """The libvirt driver on test:///default (real qemu-img disks, simulated guests)."""
    from compute.virt.driver import LibvirtDriver
    from minicloud.config import Config

    conf = Config.load(tmp_path, overrides={"compute.connection_uri": "test:///default",
                                            "compute.shutdown_timeout": 0.1}, environ={})
    return LibvirtDriver(conf, "cloud-a")


def _spawned(driver, tmp_path):
    import uuid

    from compute import disks
    from compute.driver import InstanceSpec

    base = tmp_path / "base.qcow2"
    disks.create_blank(base, 1)
    spec = InstanceSpec(id=str(uuid.uuid4()), name="vm", image_meta={},
                        flavor={"vcpus": 1, "ram": 128, "disk": 1, "ephemeral": 1},
                        base_image=base, base_format="qcow2",
                        instance_dir=tmp_path / "inst")
    driver.spawn(spec)
    return spec


def test_libvirt_driver_rebuild_rescue_and_suspend(tmp_path) -> None:
    from dataclasses import replace

    driver = _driver(tmp_path)
    spec = _spawned(driver, tmp_path)
    guest = driver.host.lookup(spec.id)
    root, eph = spec.instance_dir / "disk", spec.instance_dir / "disk.eph0"
    inodes = (root.stat().st_ino, eph.stat().st_ino)
    try:
        driver.rebuild(spec.id, spec.instance_dir, spec.base_image, "qcow2", 1, power_on=False)
        assert driver.power_state(spec.id) == states.SHUTDOWN
        assert root.stat().st_ino != inodes[0] and eph.stat().st_ino == inodes[1]
        assert not (spec.instance_dir / "disk.rebuild").exists()
        driver.power_on(spec.id)
        own = guest.definition()
        driver.rescue(replace(spec, base_image=spec.base_image))
        rescued = guest.definition()
        assert "disk.rescue" in rescued and "disk.eph0" not in rescued
        assert driver.power_state(spec.id) == states.RUNNING
        driver.unrescue(spec.id, spec.instance_dir)
        assert guest.definition() == own
        assert not (spec.instance_dir / "disk.rescue").exists()
        assert not (spec.instance_dir / "unrescue.xml").exists()
        driver.suspend(spec.id)
        assert guest.has_saved_state()
        driver.resume(spec.id)
        driver.pause(spec.id)
        driver.power_off(spec.id)  # a paused guest is powered off at once
        assert driver.power_state(spec.id) == states.SHUTDOWN
    finally:
        driver.destroy(spec.id, spec.instance_dir)


def test_libvirt_driver_failed_rescue_or_rebuild_leaves_the_guest_as_it_was(tmp_path) -> None:
    from dataclasses import replace

    import pytest

    from minicloud.errors import MinicloudError

    driver = _driver(tmp_path)
    spec = _spawned(driver, tmp_path)
    guest = driver.host.lookup(spec.id)
    own, root = guest.definition(), (spec.instance_dir / "disk").read_bytes()
    try:
        missing = tmp_path / "no-such-image"
        with pytest.raises(MinicloudError):
            driver.rescue(replace(spec, base_image=missing))
        with pytest.raises(MinicloudError):
            driver.rebuild(spec.id, spec.instance_dir, missing, "qcow2", 1, power_on=True)
        assert guest.definition() == own and driver.power_state(spec.id) == states.RUNNING
        assert (spec.instance_dir / "disk").read_bytes() == root
        assert sorted(p.name for p in spec.instance_dir.iterdir()) == ["disk", "disk.eph0"]
    finally:
        driver.destroy(spec.id, spec.instance_dir)


def test_libvirt_driver_rebuild_rewrites_the_config_drive(tmp_path) -> None:
    from dataclasses import replace

    from compute.configdrive import FILE_NAME, ConfigDrive

    driver = _driver(tmp_path)
    spec = _spawned(driver, tmp_path)
    driver.destroy(spec.id, spec.instance_dir)  # again, with a drive
    old = ConfigDrive({"openstack/latest/meta_data.json": b'{"name": "old"}'})
    spec = replace(spec, config_drive=old)
    driver.spawn(spec)
    drive = spec.instance_dir / FILE_NAME
    try:
        before = drive.read_bytes()
        new = ConfigDrive({"openstack/latest/meta_data.json": b'{"name": "new"}'})
        driver.rebuild(spec.id, spec.instance_dir, None, "qcow2", 1, True, new)
        assert drive.read_bytes() != before and b'"new"' in drive.read_bytes()
        assert not (spec.instance_dir / f"{FILE_NAME}.rebuild").exists()
    finally:
        driver.destroy(spec.id, spec.instance_dir)
