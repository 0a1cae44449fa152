"""Uploads that end early and imports that never end (issue 11, item 7).

* a ``PUT .../file`` or ``.../stage`` whose body ends before its Content-Length is a 400,
  the image stays ``queued`` and nothing is stored or staged - in-process with the reader
  gunicorn hands the app (``wsgi.input_terminated``: it just ends), and under gunicorn itself
  with a raw socket that closes early (marked ``real``: it runs a server process);
* a web-download has an overall deadline (a server trickling bytes is cut off) and stops
  when its image is deleted;
* the disallowed-hosts filter compares resolved addresses, not spellings.
"""
from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
import requests

from images.uri_filter import check_uri, disallowed_reason
from minicloud.errors import BadRequest
from minicloud.identity.tokens import TokenProvider, ensure_key
from tests.conftest import free_port
from tests.images_fixtures import *  # noqa: F403 - the fixtures
from tests.images_fixtures import err

pytestmark = pytest.mark.timeout(60)
DATA = bytes(range(250)) * 4


def _short_put(user, path: str, sent: bytes, announced: int):
    """A PUT whose body ends after ``sent`` though Content-Length says ``announced``, read
    as gunicorn presents it (an input stream that simply ends)."""
    return user.put(path, input_stream=io.BytesIO(sent),
                    headers={"Content-Type": "application/octet-stream"},
                    environ_overrides={"wsgi.input_terminated": True,
                                       "CONTENT_LENGTH": str(announced)})


@pytest.mark.parametrize("kind", ["file", "stage"])
def test_a_body_shorter_than_its_content_length_is_refused(images_env, kind):
    env = images_env
    img = env.alice.create(name="short", disk_format="raw", container_format="bare")
    resp = _short_put(env.alice, f"/v2/images/{img['id']}/{kind}", DATA, 1_000_000)
    err(resp, 400, f"{len(DATA)} of the 1000000 bytes")
    shown = env.alice.show(img["id"])
    assert (shown["status"], shown["size"], shown["checksum"]) == ("queued", None, None)
    assert env.stored_files() == []
    # the client may retry with the whole body
    whole = env.alice.put(f"/v2/images/{img['id']}/{kind}", data=DATA,
                          headers={"Content-Type": "application/octet-stream"})
    assert whole.status_code == 204


def test_a_body_longer_than_its_content_length_is_refused(images_env):
    env = images_env
    img = env.alice.create(name="long", disk_format="raw", container_format="bare")
    resp = _short_put(env.alice, f"/v2/images/{img['id']}/file", DATA, 10)
    err(resp, 400, "more than the 10 bytes")
    assert env.alice.show(img["id"])["status"] == "queued" and env.stored_files() == []


# -- the import filter, by address ------------------------------------------------------
CONF = SimpleNamespace(web_download_allowed_ports="", web_download_disallowed_hosts="")


@pytest.mark.parametrize("host", [
    "127.0.0.1", "127.1", "127.0.1", "2130706433", "0x7f000001", "0x7f.1", "0177.0.0.1",
    "127.0.0.1.", "127.8.9.10", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]",
    "[0:0:0:0:0:ffff:7f00:1]", "[::127.0.0.1]", "localhost"])
def test_every_spelling_of_a_disallowed_address_is_refused(host):
    conf = SimpleNamespace(**{**vars(CONF), "web_download_disallowed_hosts": "127.0.0.0/8"})
    with pytest.raises(BadRequest, match="not allowed"):
        check_uri(f"http://{host}:8080/x", conf)


@pytest.mark.parametrize("entry,host", [
    ("::1", "[::1]"), ("::1", "[0:0:0:0:0:0:0:1]"), ("::1/128", "[0::1]"),
    ("fd00::/8", "[fd12:3456::1]"), ("localhost", "127.0.0.1"),
    ("127.0.0.1", "2130706433"), ("::ffff:127.0.0.0/104", "127.3.2.1"),
    ("169.254.169.254", "0xa9fea9fe"), ("10.0.0.0/8", "[::ffff:10.1.2.3]")])
def test_entries_are_addresses_networks_or_names(entry, host):
    assert disallowed_reason(host.strip("[]"), entry) is not None


@pytest.mark.parametrize("entry,host", [
    ("127.0.0.0/8", "192.0.2.1"), ("127.0.0.0/8", "[2001:db8::1]"), ("::1", "127.0.0.1"),
    ("10.0.0.0/8", "11.0.0.1"), ("", "127.0.0.1")])
def test_other_addresses_pass(entry, host):
    assert disallowed_reason(host.strip("[]"), entry) is None


def test_a_host_that_does_not_resolve_is_refused_while_hosts_are_disallowed():
    reason = disallowed_reason("no-such-host.invalid", "127.0.0.0/8")
    assert reason is not None and "does not resolve" in reason


def test_the_api_refuses_a_disguised_loopback_url(make_images_env):
    env = make_images_env(**{"image.web_download_disallowed_hosts": "127.0.0.0/8,::1"})
    for uri in ("http://2130706433:9292/v2", "http://[::ffff:127.0.0.1]:5000/",
                "http://0x7f000001/", "http://[::1]:8776/"):
        img = env.alice.create(name="x", disk_format="raw", container_format="bare")
        err(env.alice.post(f"/v2/images/{img['id']}/import", json={
            "method": {"name": "web-download", "uri": uri}}), 400, "not allowed")
        assert env.alice.show(img["id"])["status"] == "queued"


# -- web-download: a deadline, and deletion stops it ---------------------------------------
@pytest.fixture(params=["body"])
def trickle(request) -> Iterator[tuple[str, threading.Event]]:
    """An HTTP server announcing 10 MB and sending one byte every 0.2 s until told to stop
    (with ``headers``: one byte of an endless header line every 0.2 s): (URL, stop event)."""
    head = (b"HTTP/1.1 200 OK\r\nX-Slow: " if request.param == "headers" else
            b"HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n")
    stop = threading.Event()
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(0.2)

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(head)
                while not stop.wait(0.2):
                    try:
                        conn.sendall(b"a")
                    except OSError:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}/slow.raw", stop
    stop.set()
    thread.join(5)
    srv.close()


def _start(env, uri: str) -> dict:
    img = env.alice.create(name="slow", disk_format="raw", container_format="bare")
    resp = env.alice.post(f"/v2/images/{img['id']}/import",
                          json={"method": {"name": "web-download", "uri": uri}})
    assert resp.status_code == 202, resp.json
    return img


@pytest.mark.parametrize("trickle", ["body", "headers"], indirect=True)
def test_a_trickling_server_is_cut_off_at_the_deadline(make_images_env, trickle):
    env = make_images_env(**{"image.web_download_deadline": 1.5})
    started = time.monotonic()
    img = _start(env, trickle[0])
    env.wait_imports(20)
    assert time.monotonic() - started < 10
    shown = env.alice.show(img["id"])
    assert (shown["status"], shown["os_glance_failed_import"]) == ("queued", "file")
    [task] = env.alice.get(f"/v2/images/{img['id']}/tasks").json["tasks"]
    assert task["status"] == "failure" and "deadline" in task["message"]
    assert env.stored_files() == []


def test_deleting_the_image_stops_its_import(make_images_env, trickle):
    env = make_images_env()
    img = _start(env, trickle[0])
    time.sleep(0.5)
    assert env.alice.show(img["id"])["status"] == "importing"
    assert env.alice.delete(f"/v2/images/{img['id']}").status_code == 204
    started = time.monotonic()
    env.wait_imports(20)
    assert time.monotonic() - started < 5          # not the 300 s deadline
    [task] = env.admin.get("/v2/tasks").json["tasks"]
    assert task["status"] == "failure" and "no longer being imported" in \
        env.admin.get(task["self"]).json["message"]
    assert env.stored_files() == []


# -- under gunicorn, with a raw socket ---------------------------------------------------
def _response(sock: socket.socket) -> bytes:
    """One HTTP response: its head and a body of its Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


@pytest.mark.real
def test_a_client_closing_early_leaves_the_image_queued(images_template, tmp_path):
    state = tmp_path / "state"
    shutil.copytree(images_template.state_dir, state)
    port = free_port()
    (state / "minicloud.conf").write_text(f"[image]\nport = {port}\n")
    for sub in ("log", "run"):
        (state / sub).mkdir(exist_ok=True)
    env = {**os.environ, "MINICLOUD_STATE_DIR": str(state)}
    proc = subprocess.Popen([sys.executable, "-m", "minicloud.serve", "image"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if requests.get(url + "/versions", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            pytest.fail("the image service did not start")
        from minicloud.db import Database
        db = Database(f"sqlite:///{state / 'minicloud.db'}")
        try:
            user_id, project_id = images_template.users["alice"]
            token = TokenProvider(db, ensure_key(state)).issue(user_id, project_id).token
        finally:
            db.dispose()
        headers = {"X-Auth-Token": token}
        img = requests.post(url + "/v2/images", headers=headers, timeout=10, json={
            "name": "early", "disk_format": "raw", "container_format": "bare"}).json()
        for kind in ("file", "stage"):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(
                    f"PUT /v2/images/{img['id']}/{kind} HTTP/1.1\r\nHost: x\r\n"
                    f"X-Auth-Token: {token}\r\nContent-Type: application/octet-stream\r\n"
                    "Content-Length: 1000000\r\n\r\n".encode() + b"\0" * 1000)
                sock.shutdown(socket.SHUT_WR)          # the client is done: 1,000 bytes
                answer = _response(sock)
            assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
            assert b"1000 of the 1000000 bytes" in answer
            shown = requests.get(f"{url}/v2/images/{img['id']}", headers=headers,
                                 timeout=10).json()
            assert (shown["status"], shown["size"]) == ("queued", None)
            images_dir = state / "images"
            assert not [p for p in images_dir.rglob("*") if p.is_file()], kind
    finally:
        proc.terminate()
        proc.wait(timeout=20)
