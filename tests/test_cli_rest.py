"""The CLI's http.client transport (:mod:`minicloud.cli.rest`) against a real local HTTP
server: what it sends, the errors it raises, kept-alive connections the server closed,
streamed bodies both ways."""
from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from minicloud import errors
from minicloud.cli.rest import RestClient
from minicloud.clouds import Credentials
from tests.conftest import free_port


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as gunicorn answers
    seen: list[dict] = []
    connections: set[tuple] = set()

    def log_message(self, *args: object) -> None:
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding") == "chunked":
            data = b""
            while size := int(self.rfile.readline().strip(), 16):
                data += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
            return data
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _answer(self, status: int, body: bytes, close_silently: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)
        # closes the socket without a "Connection: close": the client finds out later
        self.close_connection = close_silently

    def do_any(self) -> None:
        body = self._body()
        Handler.connections.add(self.client_address)  # id() of a freed socket may be reused
        Handler.seen.append({"method": self.command, "path": self.path, "body": body,
                             "headers": dict(self.headers)})
        if self.path.startswith("/missing"):
            self._answer(404, json.dumps({"itemNotFound": {"code": 404,
                                                           "message": "No such"}}).encode())
        elif self.path.startswith("/slow"):
            time.sleep(1)
            self._answer(200, b"{}")
        elif self.path.startswith("/short"):  # promises 100 bytes, sends 10 and hangs up
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.close_connection = True
        elif self.path.startswith("/big"):
            self._answer(200, bytes(range(256)) * 4096)
        else:
            self._answer(200, json.dumps({"ok": True}).encode(),
                         close_silently=self.path.startswith("/bye"))

    do_GET = do_POST = do_PUT = do_DELETE = do_any


@pytest.fixture
def server() -> Iterator[str]:
    Handler.seen, Handler.connections = [], set()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def client_for(url: str, timeout: float = 10) -> RestClient:
    client = RestClient(Credentials(f"{url}/v3", "u", "p", "p"), timeout=timeout)
    client.token = "tok"  # as after authenticate(): the catalog names the test server
    client.token_body = {"catalog": [{"type": "image", "endpoints": [
        {"interface": "public", "url": url + "/"}]}]}
    return client


def test_a_call_carries_the_token_the_query_and_a_json_body(server):
    resp = client_for(server).request("image", "POST", "/v2/images?marker=a%20b",
                                      params={"limit": 2, "skip": None, "tag": ["x", "y"]},
                                      json={"name": "n"}, headers={"X-Extra": "1"})
    assert resp.json() == {"ok": True}
    assert resp.headers.get("content-type") == "application/json"  # any case
    seen = Handler.seen[0]
    assert seen["path"] == "/v2/images?marker=a%20b&limit=2&tag=x&tag=y"
    assert json.loads(seen["body"]) == {"name": "n"}
    assert seen["headers"]["X-Auth-Token"] == "tok"
    assert seen["headers"]["Content-Type"] == "application/json"
    assert seen["headers"]["X-Extra"] == "1"


def test_an_error_answer_is_the_matching_error_with_the_servers_message(server):
    with pytest.raises(errors.NotFound, match="^No such$"):
        client_for(server).request("image", "GET", "/missing")


def test_calls_share_one_connection(server):
    client = client_for(server)
    for _ in range(3):
        client.request("image", "GET", "/x")
    assert len(Handler.connections) == 1


def test_a_connection_the_server_closed_while_idle_is_replaced(server):
    client = client_for(server)
    client.request("image", "GET", "/bye")
    time.sleep(0.1)  # the server has closed it by now
    assert client.request("image", "DELETE", "/x").json() == {"ok": True}
    assert [s["method"] for s in Handler.seen] == ["GET", "DELETE"]  # sent once each
    assert len(Handler.connections) == 2


def test_no_cloud_and_no_answer_are_503(server):
    with pytest.raises(errors.ServiceUnavailable, match=r"cannot reach 127\.0\.0\.1:\d+: is "
                                                        r"the cloud running\?"):
        client_for(f"http://127.0.0.1:{free_port()}").request("image", "GET", "/x")
    with pytest.raises(errors.ServiceUnavailable, match=r"^no answer from .*/slow within"):
        client_for(server, timeout=0.3).request("image", "GET", "/slow")


def test_an_answer_cut_short_is_503_not_a_traceback(server):
    with pytest.raises(errors.ServiceUnavailable, match=r"^the answer from .*/short was cut "
                                                        r"short$"):
        client_for(server).request("image", "GET", "/short")


class Sized(io.BytesIO):
    """A stream with ``len``, as the CLI's ProgressReader when the file size is known."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.len = len(data)


def test_bodies_stream_sized_or_chunked(server):
    client = client_for(server)
    data = bytes(range(256)) * 5000
    client.request("image", "PUT", "/sized", data=Sized(data))
    client.request("image", "PUT", "/chunked", data=io.BytesIO(data))
    sized, chunked = Handler.seen
    assert sized["headers"]["Content-Length"] == str(len(data))
    assert chunked["headers"]["Transfer-Encoding"] == "chunked"
    assert sized["body"] == chunked["body"] == data


def test_a_streamed_answer_is_read_in_chunks_and_frees_the_connection(server):
    client = client_for(server)
    with client.request("image", "GET", "/big", stream=True) as resp:
        chunks = list(resp.iter_content(100_000))
    assert b"".join(chunks) == bytes(range(256)) * 4096
    assert max(map(len, chunks)) <= 100_000
    client.request("image", "GET", "/x")
    assert len(Handler.connections) == 1


def test_a_stream_closed_unread_leaves_the_client_usable(server):
    client = client_for(server)
    client.request("image", "GET", "/big", stream=True).close()
    assert client.request("image", "GET", "/x").json() == {"ok": True}
    assert len(Handler.connections) == 2  # the one with the unread body was not reused
