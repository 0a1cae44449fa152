"""The unmodified python-glanceclient (4.x, in ``.venv-osc``) against a running minicloud on
fake drivers: the ``glance`` CLI (which asks ``/versions``, downloads ``/v2/schemas/image``
and validates every image it creates or updates against it) and the library (each listed
image re-validated as glanceclient's warlock model) in several statuses."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from collections.abc import Callable

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.osc, pytest.mark.real]
GLANCE_BIN = ROOT / ".venv-osc" / "bin" / "glance"
OSC_PYTHON = ROOT / ".venv-osc" / "bin" / "python"

LIST_SCRIPT = """
import json, os
from glanceclient import Client
from keystoneauth1 import session
from keystoneauth1.identity import v3

auth = v3.Password(auth_url=os.environ["OS_AUTH_URL"], username=os.environ["OS_USERNAME"],
                   password=os.environ["OS_PASSWORD"],
                   project_name=os.environ["OS_PROJECT_NAME"],
                   user_domain_name="Default", project_domain_name="Default")
gc = Client("2", session=session.Session(auth=auth))
out = []
for image in gc.images.list():
    gc.images.model(**dict(image))  # raises unless it conforms to /v2/schemas/image
    out.append({"id": image["id"], "status": image["status"], "size": image.get("size")})
print(json.dumps(out))
"""


def _close_stdin() -> None:
    os.close(0)


def _table(text: str) -> dict[str, str]:
    """The Property/Value table glance prints, as a dict."""
    rows = {}
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| Property"):
            key, _, value = line.strip("| \n").partition("|")
            rows[key.strip()] = value.strip()
    return rows


@pytest.fixture(scope="module")
def glance(cloud, tmp_path_factory) -> Callable[..., subprocess.CompletedProcess]:
    if not GLANCE_BIN.exists():
        pytest.fail(f"{GLANCE_BIN} is missing: run `make setup`")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(cloud.os_env())
    env["HOME"] = str(tmp_path_factory.mktemp("glance-home"))  # its schema cache

    def run(*args: str, check: bool = True, python: str | None = None
            ) -> subprocess.CompletedProcess:
        argv = [str(OSC_PYTHON), "-c", python] if python else [str(GLANCE_BIN), *args]
        # stdin closed: glance reads image data from any stdin that is not a terminal
        proc = subprocess.run(argv, capture_output=True, env=env, timeout=120, check=False,
                              preexec_fn=_close_stdin, text=True)
        if check:
            assert proc.returncode == 0, f"glance {' '.join(args)}: {proc.stderr}"
        return proc

    return run


def test_versions_and_schema_are_what_glanceclient_expects(glance):
    # Without --os-image-api-version the CLI asks /versions and caches /v2/schemas/image;
    # a failure there makes it fall back to v1 with a warning.
    proc = glance("image-list")
    assert "falling back to v1" not in proc.stderr
    assert "+" in proc.stdout or proc.stdout == ""


def test_image_lifecycle(glance, tmp_path):
    data = os.urandom(300_000)
    src = tmp_path / "disk.raw"
    src.write_bytes(data)
    queued = _table(glance("image-create", "--name", "gc-queued", "--disk-format", "raw",
                           "--container-format", "bare").stdout)
    assert queued["status"] == "queued" and queued["checksum"] in ("", "None")
    active = _table(glance("image-create", "--name", "gc-active", "--disk-format", "raw",
                           "--container-format", "bare", "--file", str(src),
                           "--property", "lab=one", "--os-distro", "debian").stdout)
    assert active["status"] == "active" and active["size"] == str(len(data))
    assert active["lab"] == "one" and active["os_distro"] == "debian"

    listed = glance("image-list").stdout
    assert "gc-queued" in listed and "gc-active" in listed
    shown = _table(glance("image-show", "--max-column-width", "200", active["id"]).stdout)
    assert shown["checksum"] == hashlib.md5(data).hexdigest()  # noqa: S324 - Glance's md5
    assert shown["os_hash_value"] == hashlib.sha512(data).hexdigest()

    out = tmp_path / "out.raw"
    glance("image-download", "--file", str(out), active["id"])
    assert out.read_bytes() == data

    # image-update validates the updated image: active, then deactivated
    assert _table(glance("image-update", "--property", "extra=x", active["id"]).stdout
                  )["extra"] == "x"
    glance("image-deactivate", active["id"])
    updated = _table(glance("image-update", "--name", "gc-off", active["id"]).stdout)
    assert updated["status"] == "deactivated" and updated["name"] == "gc-off"
    glance("image-reactivate", active["id"])

    glance("image-upload", "--file", str(src), queued["id"])
    assert _table(glance("image-show", queued["id"]).stdout)["status"] == "active"

    glance("image-delete", queued["id"], active["id"])
    gone = glance("image-show", active["id"], check=False)
    assert gone.returncode != 0 and "No image found" in gone.stderr


def test_library_validates_images_in_several_statuses(glance, tmp_path):
    src = tmp_path / "disk.raw"
    src.write_bytes(os.urandom(50_000))
    made = {}
    for status in ("queued", "active", "deactivated"):
        args = ["image-create", "--name", f"gc-{status}", "--disk-format", "raw",
                "--container-format", "bare", "--property", "kernel_id="
                "0b4f3d8e-9a3c-4c44-9e1b-1e4c0d7c3a11", "--tags", "t1"]
        if status != "queued":
            args += ["--file", str(src)]
        made[status] = _table(glance(*args).stdout)["id"]
    glance("image-deactivate", made["deactivated"])
    listed = {i["id"]: i for i in json.loads(glance(python=LIST_SCRIPT).stdout)}
    for status, image_id in made.items():
        assert listed[image_id]["status"] == status
    assert listed[made["queued"]]["size"] is None
    assert listed[made["active"]]["size"] == 50_000
    glance("image-reactivate", made["deactivated"])
    glance("image-delete", *made.values())


def test_staged_import_and_its_tasks(glance, tmp_path):
    """glance-direct through the CLI: the ``uploading`` image validates, the import ends
    ``active``, and ``glance image-tasks`` (API 2.12) shows its successful task."""
    src = tmp_path / "disk.raw"
    src.write_bytes(os.urandom(40_000))
    image_id = _table(glance("image-create", "--name", "gc-staged", "--disk-format", "raw",
                             "--container-format", "bare").stdout)["id"]
    glance("image-stage", "--file", str(src), image_id)
    listed = {i["id"]: i for i in json.loads(glance(python=LIST_SCRIPT).stdout)}
    assert listed[image_id]["status"] == "uploading"
    glance("image-import", "--import-method", "glance-direct", image_id)
    for _ in range(100):
        shown = _table(glance("image-show", image_id).stdout)
        if shown["status"] != "importing":
            break
        time.sleep(0.2)
    assert shown["status"] == "active" and shown["size"] == "40000"
    tasks = glance("--verbose", "image-tasks", image_id).stdout
    assert "success" in tasks and image_id in tasks and "glance-direct" in tasks
    glance("image-delete", image_id)
