"""The unmodified `openstack image metadef ...` commands (python-openstackclient 10.5.0 in
`.venv-osc`) against a cloud of this module's own (services under gunicorn, no host
daemons): the catalog `minicloud up` loaded, then namespaces, objects, properties, tags and
resource-type associations created, changed and deleted by an admin."""
from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import OSC_BIN, RunningCloud, osc_runner, start_cloud

pytestmark = [pytest.mark.osc]


@pytest.fixture(scope="module")
def metadef_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    cloud = start_cloud(tmp_path_factory.mktemp("metadefs-osc"))
    try:
        yield cloud
    finally:
        cloud.minicloud("down", check=False)


@pytest.fixture(scope="module")
def osc(metadef_cloud: RunningCloud) -> Callable[..., object]:
    """``osc(*args)``: the output (parsed with ``as_json``); with ``check=False`` the
    CompletedProcess, whatever the exit status."""
    run = osc_runner(metadef_cloud.os_env())

    def call(*args: str, check: bool = True, as_json: bool = False):
        args = ("image", "metadef", *args)
        if as_json:
            return run(*args, as_json=True)
        proc = run(*args, check=check)
        return proc.stdout if check else proc

    return call


def test_the_catalog_is_there(osc):
    types = [r["Name"] for r in osc("resource", "type", "list", as_json=True)]
    assert "OS::Glance::Image" in types and "OS::Nova::Flavor" in types
    listed = [n["namespace"] for n in osc("namespace", "list", as_json=True)]
    assert "OS::Compute::LibvirtImage" in listed
    props = {p["name"] for p in osc("property", "list", "OS::Compute::LibvirtImage",
                                    as_json=True)}
    assert {"hw_disk_bus", "hw_video_model", "hw_firmware_type"} <= props
    shown = osc("property", "show", "OS::Compute::LibvirtImage", "hw_disk_bus", as_json=True)
    assert shown["type"] == "string" and "virtio" in shown["enum"]
    # protected: the CLI reports the refusal and the namespace stays
    proc = osc("namespace", "delete", "OS::Compute::Hypervisor", check=False)
    assert proc.returncode != 0
    assert osc("namespace", "show", "OS::Compute::Hypervisor", as_json=True)["protected"]


def test_namespace_lifecycle(osc):
    created = osc("namespace", "create", "--display-name", "Lab", "--description", "d",
                  "--public", "--protected", "lab", as_json=True)
    assert created["namespace"] == "lab" and created["visibility"] == "public"
    osc("namespace", "set", "--description", "changed", "--unprotected", "--tag", "a",
        "--tag", "b", "lab")
    shown = osc("namespace", "show", "lab", as_json=True)
    assert shown["description"] == "changed" and shown["protected"] is False
    # `set` PUTs only what it changes, and a Glance PUT resets what is omitted:
    # the display name is gone and the visibility is back to private, as against Glance
    assert "display_name" not in shown and shown["visibility"] == "private", shown
    assert sorted(t["name"] for t in shown["tags"]) == ["a", "b"]
    osc("namespace", "unset", "--tag", "a", "lab")
    assert [t["name"] for t in osc("namespace", "show", "lab", as_json=True)["tags"]] == ["b"]
    osc("namespace", "unset", "--all-tags", "lab")
    assert not osc("namespace", "show", "lab", as_json=True).get("tags")
    osc("namespace", "delete", "lab")
    assert "lab" not in [n["namespace"] for n in osc("namespace", "list", as_json=True)]
    assert osc("namespace", "show", "lab", check=False).returncode != 0


def test_objects_properties_and_associations(osc):
    osc("namespace", "create", "--private", "parts")
    prop = osc("property", "create", "--name", "cores", "--title", "Cores", "--type",
               "integer", "--schema", '{"minimum": 1, "maximum": 64}', "parts",
               as_json=True)
    assert prop["name"] == "cores" and prop["maximum"] == 64
    osc("property", "set", "--title", "CPU cores", "parts", "cores")
    shown = osc("property", "show", "parts", "cores", as_json=True)
    assert shown["title"] == "CPU cores" and shown["minimum"] == 1  # the rest kept
    refused = osc("property", "create", "--name", "bad", "--title", "B", "--type",
                  "integer", "--schema", '{"enum": ["x"]}', "parts", check=False)
    assert refused.returncode != 0 and "does not match" in refused.stderr

    obj = osc("object", "create", "--namespace", "parts", "CPU", as_json=True)
    assert obj["name"] == "CPU"
    osc("object", "update", "--name", "Processor", "parts", "CPU")
    assert [o["name"] for o in osc("object", "list", "parts", as_json=True)] == ["Processor"]
    assert osc("object", "show", "parts", "Processor", as_json=True)["name"] == "Processor"
    osc("object", "delete", "parts", "Processor")
    assert osc("object", "list", "parts", as_json=True) == []

    assoc = osc("resource", "type", "association", "create", "--properties-target",
                "image", "parts", "OS::Cinder::Volume", as_json=True)
    assert assoc["name"] == "OS::Cinder::Volume"
    names = [a["Name"] for a in osc("resource", "type", "association", "list", "parts",
                                    as_json=True)]
    assert names == ["OS::Cinder::Volume"]
    osc("resource", "type", "association", "delete", "parts", "OS::Cinder::Volume")
    assert osc("resource", "type", "association", "list", "parts", as_json=True) == []

    osc("property", "delete", "parts", "cores")
    assert osc("property", "list", "parts", as_json=True) == []
    osc("namespace", "delete", "parts")


GLANCECLIENT_SCRIPT = """
import json, os
from glanceclient import Client
from keystoneauth1 import session
from keystoneauth1.identity import v3

auth = v3.Password(auth_url=os.environ["OS_AUTH_URL"], username=os.environ["OS_USERNAME"],
                   password=os.environ["OS_PASSWORD"],
                   project_name=os.environ["OS_PROJECT_NAME"],
                   user_domain_name="Default", project_domain_name="Default")
gc = Client("2", session=session.Session(auth=auth))
# each create/update below is validated by glanceclient against /v2/schemas/metadefs/*
gc.metadefs_namespace.create(namespace="gc", visibility="public", display_name="GC")
gc.metadefs_property.create("gc", name="speed", title="Speed", type="integer", minimum=1)
gc.metadefs_object.create("gc", name="Disk", properties={
    "iops": {"title": "IOPS", "type": "integer"}})
list(gc.metadefs_tag.create_multiple("gc", tags=["x", "y"]))  # a generator: run it
gc.metadefs_resource_type.associate("gc", name="OS::Glance::Image", prefix="gc_")
ns = gc.metadefs_namespace.get("gc")
gc.metadefs_namespace.model(**dict(ns))  # a shown namespace conforms to its schema
updated = gc.metadefs_namespace.update("gc", namespace="gc", visibility="public",
                                       description="updated")
print(json.dumps({
    "listed": [n["namespace"] for n in gc.metadefs_namespace.list()],
    "properties": sorted(ns["properties"]),
    "objects": [o["name"] for o in ns["objects"]],
    "tags": sorted(t["name"] for t in ns["tags"]),
    "description": updated["description"],
    "types": [r["name"] for r in gc.metadefs_resource_type.list()],
    "prefixed": sorted(gc.metadefs_namespace.get("gc",
                                                 resource_type="OS::Glance::Image")
                       ["properties"]),
}))
"""


def test_python_glanceclient_metadefs(metadef_cloud):
    """glanceclient's metadef controllers validate bodies against the published schemas."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(metadef_cloud.os_env())
    proc = subprocess.run([str(OSC_BIN.parent / "python"), "-c", GLANCECLIENT_SCRIPT],
                          capture_output=True, env=env, timeout=120, check=False,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    out = json.loads(proc.stdout)
    assert "gc" in out["listed"] and "OS::Compute::LibvirtImage" in out["listed"]
    assert out["properties"] == ["speed"] and out["objects"] == ["Disk"]
    assert out["tags"] == ["x", "y"] and out["description"] == "updated"
    assert "OS::Glance::Image" in out["types"] and out["prefixed"] == ["gc_speed"]
