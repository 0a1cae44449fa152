"""minicloud's metadata-definitions catalog (``images/metadef_catalog/``): what it holds (the
seed's appendix A), that ``minicloud up`` loads it once without ever undoing an operator's
change, and ``[image] validate_properties_with_metadefs``."""
from __future__ import annotations

import pytest

from images import metadef_catalog
from images.metadef_models import MetadefNamespace
from minicloud.config import Config
from minicloud.db import Database
from minicloud.errors import ConfigError
from minicloud.runner import Runner
from tests.images_fixtures import *  # noqa: F403 - the fixtures
from tests.images_fixtures import PATCH_TYPE, Env, err

NS = "/v2/metadefs/namespaces"
CATALOG = ["OS::Glance::CommonImageProperties", "OS::Compute::Hypervisor",
           "OS::Compute::LibvirtImage", "OS::Compute::VMware"]


def _load(env: Env) -> list[str]:
    return metadef_catalog.load(env.db, env.admin.project_id)


def _image_properties(env: Env) -> dict:
    """Every property key the catalog defines for images -> its definition."""
    out = {}
    for name in CATALOG:
        shown = env.reader.get(f"{NS}/{name}?resource_type=OS::Glance::Image").json
        assert "OS::Glance::Image" in [a["name"] for a in shown["resource_type_associations"]]
        out.update(shown["properties"])
    return out


def test_the_catalog_holds_the_seeds_property_keys(images_env):
    assert sorted(_load(images_env)) == sorted(CATALOG)
    props = _image_properties(images_env)
    assert {"architecture", "hypervisor_type", "os_distro", "os_version", "os_type",
            "kernel_id", "ramdisk_id", "instance_uuid", "vm_mode", "hw_disk_bus",
            "hw_cdrom_bus", "hw_qemu_guest_agent", "hw_video_model", "hw_watchdog_action",
            "hw_vif_model", "hw_scsi_model", "hw_numa_nodes", "hw_firmware_type",
            "vmware_adaptertype", "auto_disk_config"} <= set(props)
    assert "x86_64" in props["architecture"]["enum"] and "redhat" not in props[
        "os_distro"]["enum"]
    assert props["hw_disk_bus"]["enum"] == ["scsi", "virtio", "ide", "usb"]
    assert props["hw_watchdog_action"]["enum"] == ["disabled", "reset", "poweroff", "pause",
                                                   "none"]
    assert props["hw_numa_nodes"]["type"] == "integer"
    rts = [r["name"] for r in images_env.reader.get("/v2/metadefs/resource_types")
           .json["resource_types"]]
    assert rts[0] == "OS::Glance::Image" and set(metadef_catalog.RESOURCE_TYPES) <= set(rts)
    shown = images_env.admin.get(f"{NS}/OS::Compute::Hypervisor").json
    assert shown["visibility"] == "public" and shown["protected"] is True
    assert shown["owner"] == images_env.admin.project_id


def test_loading_again_keeps_what_the_operator_changed(images_env):
    env = images_env
    _load(env)
    admin = env.admin
    url = f"{NS}/OS::Compute::Hypervisor/properties/hypervisor_type"
    resp = admin.put(url, json={"name": "hypervisor_type", "title": "Mine",
                                "type": "string", "enum": ["kvm"]})
    assert resp.status_code == 200
    resp = admin.put(f"{NS}/OS::Compute::VMware", json={
        "namespace": "OS::Compute::VMware", "visibility": "public", "protected": False})
    assert resp.status_code == 200
    assert admin.delete(f"{NS}/OS::Compute::VMware").status_code == 204
    before = admin.get(f"{NS}?limit=100").json["namespaces"]
    assert _load(env) == []
    assert _load(env) == []
    assert admin.get(url).json["enum"] == ["kvm"] and admin.get(url).json["title"] == "Mine"
    err(admin.get(f"{NS}/OS::Compute::VMware"), 404, "not found")  # stays deleted
    assert admin.get(f"{NS}?limit=100").json["namespaces"] == before


def test_an_operators_namespace_of_a_catalog_name_is_theirs(images_env):
    env = images_env
    resp = env.admin.post(NS, json={"namespace": "OS::Compute::Hypervisor",
                                    "description": "site-specific"})
    assert resp.status_code == 201
    assert "OS::Compute::Hypervisor" not in _load(env)
    shown = env.admin.get(f"{NS}/OS::Compute::Hypervisor").json
    assert shown["description"] == "site-specific" and "properties" not in shown


def test_a_bad_catalog_file_is_a_config_error_naming_it(images_env, tmp_path):
    (tmp_path / "broken.yaml").write_text("namespace: X\nproperties:\n  p: {type: text}\n")
    with pytest.raises(ConfigError, match="broken.yaml"):
        metadef_catalog.load(images_env.db, "admin", tmp_path)
    (tmp_path / "broken.yaml").write_text(
        "namespace: X\nproperties:\n  p: {title: P, type: integer, enum: [a]}\n")
    with pytest.raises(ConfigError, match="namespace X"):
        metadef_catalog.load(images_env.db, "admin", tmp_path)


def test_up_loads_the_catalog_once(tmp_path):
    """``minicloud up``'s bootstrap step, run twice: one load, owned by the admin project."""
    conf = Config.load(tmp_path, environ={})
    runner = Runner(conf, say=lambda _line: None)
    runner.paths.ensure()
    db = Database(conf.database_url)
    try:
        db.upgrade()
        runner.bootstrap(db)
        first = metadef_catalog.load(db, "x")
        runner.bootstrap(db)
        with db.session() as s:
            owners = {ns.namespace: ns.owner for ns in s.query(MetadefNamespace)}
    finally:
        db.dispose()
    assert first == [] and sorted(owners) == sorted(CATALOG)
    assert len(set(owners.values())) == 1 and "x" not in owners.values()


@pytest.fixture
def strict_env(make_images_env) -> Env:
    env = make_images_env(**{"image.validate_properties_with_metadefs": True})
    _load(env)
    return env


def test_validation_refuses_values_the_catalog_does_not_allow(strict_env):
    alice = strict_env.alice
    resp = alice.post("/v2/images", json={"name": "x", "hw_disk_bus": "floppy"})
    err(resp, 400, "allowed values: scsi, virtio, ide, usb")
    assert "hw_disk_bus" in resp.json["badRequest"]["message"]
    err(alice.post("/v2/images", json={"name": "x", "hw_numa_nodes": "two"}), 400,
        "hw_numa_nodes")
    err(alice.post("/v2/images", json={"name": "x", "hw_numa_nodes": "0"}), 400,
        "hw_numa_nodes")
    err(alice.post("/v2/images", json={"name": "x", "kernel_id": "vmlinuz"}), 400,
        "kernel_id")
    assert alice.get("/v2/images").json["images"] == []
    image = alice.create(name="ok", hw_disk_bus="virtio", hw_numa_nodes="2",
                         auto_disk_config="True", architecture="x86_64",
                         site_specific="anything")
    assert image["hw_disk_bus"] == "virtio" and image["site_specific"] == "anything"
    err(alice.patch(f"/v2/images/{image['id']}",
                    [{"op": "add", "path": "/os_distro", "value": "RedHat"}],
                    content_type=PATCH_TYPE), 400, "os_distro")
    assert "os_distro" not in alice.show(image["id"])
    resp = alice.patch(f"/v2/images/{image['id']}",
                       [{"op": "add", "path": "/os_distro", "value": "rhel"}])
    assert resp.status_code == 200 and resp.json["os_distro"] == "rhel"


def test_validation_is_off_by_default(images_env):
    _load(images_env)
    image = images_env.alice.create(name="x", hw_disk_bus="floppy")
    assert image["hw_disk_bus"] == "floppy"
