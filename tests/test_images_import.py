"""Interoperable import through HTTP: glance-direct, web-download from a local HTTP server,
a failing web-download, the qcow2 -> raw conversion plugin, and the flow's undo."""
from __future__ import annotations

import functools
import hashlib
import http.server
import threading

import pytest
import requests

from images.imports import ImportJob, run_flow
from minicloud import process
from tests.images_fixtures import *  # noqa: F403 - the fixtures
from tests.images_fixtures import err

DATA = bytes(range(250)) * 2000
pytestmark = pytest.mark.timeout(60)


def queued(user, disk_format: str = "raw") -> dict:
    return user.create(name="imp", disk_format=disk_format, container_format="bare")


def do_import(user, image_id: str, method: dict):
    return user.post(f"/v2/images/{image_id}/import", json={"method": method})


def stage(user, image_id: str, data: bytes):
    return user.put(f"/v2/images/{image_id}/stage", data=data,
                    headers={"Content-Type": "application/octet-stream"})


def test_import_info(images_env):
    info = images_env.alice.get("/v2/info/import").json["import-methods"]
    assert info["type"] == "array" and info["value"] == ["glance-direct", "web-download"]
    assert info["description"]
    stores = images_env.alice.get("/v2/info/stores").json["stores"]
    # Glance: "default" is the string "true"; no description unless configured
    assert stores == [{"id": "file", "default": "true"}]


def test_glance_direct(images_env):
    env = images_env
    img = queued(env.alice)
    assert stage(env.alice, img["id"], DATA).status_code == 204
    assert env.alice.show(img["id"])["status"] == "uploading"
    assert env.stored_files() == [f"staging/{img['id']}"]
    resp = do_import(env.alice, img["id"], {"name": "glance-direct"})
    assert resp.status_code == 202
    env.wait_imports()
    shown = env.alice.show(img["id"])
    assert shown["status"] == "active" and shown["size"] == len(DATA)
    assert shown["checksum"] == hashlib.md5(DATA).hexdigest()
    assert shown["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    assert "os_glance_import_task" not in shown
    assert shown["os_glance_importing_to_stores"] == "" and shown["os_glance_failed_import"] == ""
    assert env.alice.get(f"/v2/images/{img['id']}/file").data == DATA
    assert env.stored_files() == [img["id"]]


def test_web_download(images_env, http_files):
    env, (base, root) = images_env, http_files
    (root / "disk.raw").write_bytes(DATA)
    img = queued(env.alice)
    resp = do_import(env.alice, img["id"], {"name": "web-download", "uri": f"{base}/disk.raw"})
    assert resp.status_code == 202
    env.wait_imports()
    shown = env.alice.show(img["id"])
    assert shown["status"] == "active", shown
    assert shown["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    assert env.alice.get(f"/v2/images/{img['id']}/file").data == DATA
    assert env.stored_files() == [img["id"]]


@pytest.mark.parametrize("path", ["missing.raw", None])
def test_web_download_failure_leaves_the_image_queued(images_env, http_files, path):
    env, (base, _) = images_env, http_files
    # a 404 from the server, or a port nothing listens on (connection refused)
    uri = f"{base}/{path}" if path else "http://127.0.0.1:9/no/possible/way"
    img = queued(env.alice)
    assert do_import(env.alice, img["id"], {"name": "web-download", "uri": uri}
                     ).status_code == 202
    env.wait_imports()
    shown = env.alice.show(img["id"])
    assert shown["status"] == "queued"
    assert shown["os_glance_failed_import"] == "file"
    assert shown["os_glance_importing_to_stores"] == ""
    assert "os_glance_import_task" not in shown
    assert env.stored_files() == []
    assert env.alice.get(f"/v2/images/{img['id']}/file").status_code == 204


def test_web_download_over_the_size_cap(make_images_env, http_files):
    env, (base, root) = make_images_env(**{"image.max_image_size": "10K"}), http_files
    (root / "big.raw").write_bytes(DATA)
    img = queued(env.alice)
    do_import(env.alice, img["id"], {"name": "web-download", "uri": f"{base}/big.raw"})
    env.wait_imports()
    assert env.alice.show(img["id"])["status"] == "queued"
    assert env.stored_files() == []


@pytest.mark.parametrize(("method", "status", "text"), [
    ({"name": "web-download", "uri": "file:///etc/passwd"}, 400, "http or https"),
    ({"name": "web-download", "uri": "ftp://example.com/x"}, 400, "http or https"),
    ({"name": "web-download"}, 400, "http or https"),
    ({"name": "copy-image"}, 400, "not enabled"),
    ({"name": "bogus"}, 400, "not enabled"),
    ("glance-direct", 400, "method"),
    ({"name": "glance-direct"}, 409, "staged"),
])
def test_import_refusals(images_env, method, status, text):
    img = queued(images_env.alice)
    err(do_import(images_env.alice, img["id"], method), status, text)
    assert images_env.alice.show(img["id"])["status"] == "queued"


def test_import_state_and_ownership_checks(images_env, http_files):
    env, (base, root) = images_env, http_files
    (root / "d.raw").write_bytes(DATA)
    web = {"name": "web-download", "uri": f"{base}/d.raw"}
    img = queued(env.alice)
    err(do_import(env.bob, img["id"], web), 404, "No image found")
    err(env.alice.post(f"/v2/images/{img['id']}/import", json=[]), 400, "JSON object")
    bare = env.alice.create(name="no-formats")
    err(do_import(env.alice, bare["id"], web), 400, "disk_format")
    assert do_import(env.alice, img["id"], web).status_code == 202
    env.wait_imports()
    err(do_import(env.alice, img["id"], web), 409, "queued")
    err(stage(env.alice, img["id"], DATA), 409, "queued image")


def test_only_enabled_methods(make_images_env):
    env = make_images_env(**{"image.enabled_import_methods": "glance-direct"})
    assert env.alice.post("/v2/images", json={}).headers[
        "OpenStack-image-import-methods"] == "glance-direct"
    img = queued(env.alice)
    err(do_import(env.alice, img["id"], {"name": "web-download", "uri": "http://x/y"}), 400,
        "not enabled")


def test_bad_import_options_refuse_to_start(make_images_env):
    from minicloud.errors import ConfigError

    with pytest.raises(ConfigError, match="enabled_import_methods"):
        make_images_env(**{"image.enabled_import_methods": "glance-direct,teleport"})
    with pytest.raises(ConfigError, match="convert_to"):
        make_images_env(**{"image.convert_to": "vmdk"})


@pytest.fixture
def qemu_argv():
    calls: list[list[str]] = []
    process.recorder.append(calls.append)
    yield calls
    process.recorder.remove(calls.append)


def test_conversion_plugin_qcow2_to_raw(make_images_env, http_files, qemu_img, tmp_path,
                                        qemu_argv):
    env, (base, root) = make_images_env(**{"image.convert_to": "raw"}), http_files
    src = root / "x.qcow2"
    qemu_img("create", "-f", "qcow2", str(src), "1M")
    qcow2 = src.read_bytes()
    raw = bytes(1 << 20)
    # glance-direct
    img = queued(env.alice, "qcow2")
    assert stage(env.alice, img["id"], qcow2).status_code == 204
    assert do_import(env.alice, img["id"], {"name": "glance-direct"}).status_code == 202
    env.wait_imports()
    shown = env.alice.show(img["id"])
    assert shown["status"] == "active" and shown["disk_format"] == "raw"
    assert shown["size"] == len(raw) and shown["virtual_size"] == len(raw)
    assert shown["checksum"] == hashlib.md5(raw).hexdigest()
    assert env.alice.get(f"/v2/images/{img['id']}/file").data == raw
    assert env.stored_files() == [img["id"]]
    staged = str(env.store_dir / "staging" / img["id"])
    info, convert = [a for a in qemu_argv if a[0].endswith("qemu-img")]
    assert info == ["/usr/bin/qemu-img", "info", "-f", "qcow2", "--output=json",
                    "--force-share", staged]
    assert convert[:6] == ["/usr/bin/qemu-img", "convert", "-f", "qcow2", "-O", "raw"]
    assert convert[6] == staged and convert[7].startswith(str(env.store_dir / "staging"))
    # web-download; and a raw image is stored as it is
    img = queued(env.alice, "qcow2")
    do_import(env.alice, img["id"], {"name": "web-download", "uri": f"{base}/x.qcow2"})
    env.wait_imports()
    assert env.alice.show(img["id"])["disk_format"] == "raw"
    (root / "plain.raw").write_bytes(DATA)
    img = queued(env.alice, "raw")
    do_import(env.alice, img["id"], {"name": "web-download", "uri": f"{base}/plain.raw"})
    env.wait_imports()
    assert env.alice.show(img["id"])["checksum"] == hashlib.md5(DATA).hexdigest()


def test_conversion_refuses_unsafe_qcow2_before_qemu_runs(make_images_env, http_files,
                                                          qemu_img, qemu_argv):
    env, (base, root) = make_images_env(**{"image.convert_to": "raw"}), http_files
    qemu_img("create", "-f", "qcow2", "-b", "/etc/passwd", "-F", "raw",
             str(root / "evil.qcow2"), "1M")
    img = queued(env.alice, "qcow2")
    do_import(env.alice, img["id"], {"name": "web-download", "uri": f"{base}/evil.qcow2"})
    env.wait_imports()
    shown = env.alice.show(img["id"])
    assert shown["status"] == "queued" and shown["os_glance_failed_import"] == "file"
    assert qemu_argv == [] and env.stored_files() == []


class _Step:
    def __init__(self, name: str, log: list[str], fail: bool = False) -> None:
        self.name, self.log, self.fail = name, log, fail

    def run(self, job: ImportJob) -> None:
        self.log.append(f"run {self.name}")
        if self.fail:
            raise RuntimeError("boom")

    def undo(self, job: ImportJob) -> None:
        self.log.append(f"undo {self.name}")
        if self.name == "b":
            raise OSError("undo of b failed")


def test_flow_undoes_in_reverse_including_the_failed_step():
    log: list[str] = []
    steps = [_Step("a", log), _Step("b", log), _Step("c", log, fail=True), _Step("d", log)]
    with pytest.raises(RuntimeError, match="boom"):
        run_flow(steps, ImportJob("id", "glance-direct", "raw", "task"))
    assert log == ["run a", "run b", "run c", "undo c", "undo b", "undo a"]


# -- the import filter (Glance's [import_filtering_opts]) ----------------------------------------
@pytest.mark.parametrize(("overrides", "uri", "text"), [
    ({}, "http://127.0.0.1:5000/v3/users", "port 5000 is not allowed (allowed: 80, 443)"),
    ({}, "https://example.com:8774/", "port 8774 is not allowed"),
    ({}, "http://example.com:99999/x", "bad port"),
    ({"image.web_download_disallowed_hosts": "169.254.169.254, Metadata.Local"},
     "http://169.254.169.254/latest/meta-data", "host 169.254.169.254 is not allowed"),
    ({"image.web_download_disallowed_hosts": "metadata.local"},
     "http://METADATA.local/x", "is not allowed"),
])
def test_web_download_filter_refuses_at_request_time(make_images_env, overrides, uri, text):
    env = make_images_env(**{"image.web_download_allowed_ports": "80,443", **overrides})
    img = queued(env.alice)
    err(do_import(env.alice, img["id"], {"name": "web-download", "uri": uri}), 400, text)
    assert env.alice.show(img["id"])["status"] == "queued"


def test_default_filter_allows_plain_http_and_https(make_images_env):
    from images.imports import check_uri

    env = make_images_env(**{"image.web_download_allowed_ports": "80,443"})
    for uri in ("http://example.com/disk.img", "https://example.com:443/a?b=c"):
        assert check_uri(uri, env.conf.image) == uri


def _serve_dir_on(host: str, port: int, root):
    """An HTTP server for ``root`` on ``host:port`` (a second loopback address)."""
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer((host, port), handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the handler API
        pass


@pytest.fixture
def redirect_to():
    """A local server answering every GET with a 302 to the URL the test sets."""
    import http.server
    import threading

    target: dict[str, str] = {}

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the handler API
            self.send_response(302)
            self.send_header("Location", target["url"])
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", target
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_a_redirect_is_filtered_like_the_uri(make_images_env, http_files, redirect_to):
    (base, root), (redirector, target) = http_files, redirect_to
    (root / "d.raw").write_bytes(DATA)
    ports = f"{redirector.rsplit(':', 1)[1]},{base.rsplit(':', 1)[1]}"
    # (a name entry also refuses its addresses: "localhost" would refuse 127.0.0.1, where
    # every server of this test listens; 127.0.0.2 is loopback too, with its own server)
    env = make_images_env(**{"image.web_download_allowed_ports": ports,
                             "image.web_download_disallowed_hosts": "127.0.0.2"})
    other = _serve_dir_on("127.0.0.2", int(base.rsplit(":", 1)[1]), root)
    # allowed: a redirect to an allowed server is followed
    target["url"] = f"{base}/d.raw"
    img = queued(env.alice)
    assert do_import(env.alice, img["id"], {"name": "web-download",
                                            "uri": f"{redirector}/x"}).status_code == 202
    env.wait_imports()
    assert env.alice.show(img["id"])["size"] == len(DATA)
    # refused: the redirect names a port or a host the filter refuses, though the data is
    # there (unfiltered, both imports would succeed): the import fails
    only_redirector = make_images_env(**{
        "image.web_download_allowed_ports": redirector.rsplit(":", 1)[1]})
    for user_env, url in ((only_redirector, f"{base}/d.raw"),
                          (env, f"http://127.0.0.2:{base.rsplit(':', 1)[1]}/d.raw")):
        target["url"] = url
        img = queued(user_env.alice)
        assert do_import(user_env.alice, img["id"], {
            "name": "web-download", "uri": f"{redirector}/x"}).status_code == 202
        user_env.wait_imports()
        shown = user_env.alice.show(img["id"])
        assert (shown["status"], shown["os_glance_failed_import"]) == ("queued", "file")
    assert requests.get(f"http://127.0.0.2:{base.rsplit(':', 1)[1]}/d.raw",
                        timeout=5).content == DATA  # unfiltered, it would have succeeded
    other.shutdown()
    other.server_close()
    # a redirect loop ends too
    target["url"] = f"{redirector}/again"
    img = queued(env.alice)
    do_import(env.alice, img["id"], {"name": "web-download", "uri": f"{redirector}/x"})
    env.wait_imports()
    assert env.alice.show(img["id"])["status"] == "queued"
