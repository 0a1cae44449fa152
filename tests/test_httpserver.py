"""The HTTP server every API runs under (minicloud.httpserver), as a real gunicorn process:
slow clients cannot take every thread, protocol errors are JSON, keep-alive outlasts polls."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.conftest import free_port

pytestmark = pytest.mark.real


@dataclass
class Server:
    url: str
    port: int
    state_dir: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The identity API alone under gunicorn: 2 threads, a 3 s client timeout."""
    state = tmp_path_factory.mktemp("httpserver")
    port = free_port()
    (state / "minicloud.conf").write_text(
        f"[DEFAULT]\nthreads = 2\nclient_timeout = 3\n\n[identity]\nport = {port}\n")
    (state / "log").mkdir()
    (state / "run").mkdir()
    env = {**os.environ, "MINICLOUD_STATE_DIR": str(state)}
    proc = subprocess.Popen([sys.executable, "-m", "minicloud.serve", "identity"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if requests.get(url + "/healthcheck", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not start")
        yield Server(url, port, state)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _raw(port: int, data: bytes, timeout: float = 5) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
        return out


def _status_and_body(raw: bytes) -> tuple[int, dict]:
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"Content-Type: application/json" in head, head
    return int(head.split()[1]), json.loads(body)


def test_slow_clients_do_not_take_the_threads(server):
    """Ten clients trickle their headers a byte at a time (five times the threads): a normal
    request is still answered at once, and the slow ones are cut off after the timeout."""
    slow = []
    for _ in range(10):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        sock.sendall(b"GET /healthcheck HTTP/1.1\r\nHost: x\r\n")
        slow.append(sock)
    try:
        for _ in range(3):
            for sock in slow:
                sock.sendall(b"X")
            started = time.monotonic()
            assert requests.get(server.url + "/healthcheck", timeout=5).text == "OK"
            assert time.monotonic() - started < 1.0
            time.sleep(0.5)
        time.sleep(3.5)  # past [DEFAULT] client_timeout: every slow client is disconnected
        for sock in slow:
            sock.settimeout(2)
            try:
                assert sock.recv(100) == b""
            except ConnectionResetError:
                pass
    finally:
        for sock in slow:
            sock.close()


def test_a_client_that_stalls_in_its_body_is_cut_off(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"POST /v3/auth/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     b"application/json\r\nContent-Length: 100\r\n\r\n{\"auth\"")
        started = time.monotonic()
        sock.recv(65536)  # an answer or the close, once the 3 s read timeout passed
        assert 2.5 < time.monotonic() - started < 8


def test_a_long_request_line_is_a_json_414(server):
    status, body = _status_and_body(_raw(server.port, b"GET /" + b"a" * 5000 +
                                          b" HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert status == 414 and body["requestURITooLong"]["code"] == 414


def test_too_many_headers_is_a_json_431(server):
    headers = b"".join(b"X-H%d: v\r\n" % i for i in range(150))
    status, body = _status_and_body(_raw(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n" +
                                          headers + b"\r\n"))
    assert status == 431 and body["requestHeaderFieldsTooLarge"]["code"] == 431


def test_a_malformed_request_is_a_json_400(server):
    status, body = _status_and_body(_raw(server.port, b"NOT HTTP\r\n\r\n"))
    assert status == 400 and "badRequest" in body


def test_request_ids_reach_the_access_log(server):
    rid = requests.get(server.url + "/v3", timeout=5).headers["x-openstack-request-id"]
    log = server.state_dir / "log" / "identity-access.log"
    for _ in range(50):
        if rid in log.read_text():
            break
        time.sleep(0.1)
    assert f"[{rid}]" in log.read_text()


def test_a_client_polling_every_2s_keeps_one_connection(server):
    """openstacksdk and Rally poll every 2 s over one kept-alive connection; gunicorn's
    default 2 s keep-alive closed it under them now and then ("Connection aborted"). With
    that default nearly every poll finds its connection closed, so 30 s of polls show it;
    ``[DEFAULT] keepalive`` (75 s) keeps the one connection."""
    session = requests.Session()
    peers = set()
    deadline = time.monotonic() + 30
    polls = 0
    while time.monotonic() < deadline:
        resp = session.get(server.url + "/v3", timeout=5, stream=True)
        peers.add(resp.raw._connection.sock.getsockname())
        resp.content  # noqa: B018 - read the body so the connection returns to the pool
        polls += 1
        time.sleep(2)
    assert polls >= 12
    assert len(peers) == 1, "the kept-alive connection was closed and reopened"
