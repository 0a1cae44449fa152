"""The HTTP server of every API service: gunicorn's threaded worker, hardened for slow clients.

gunicorn's ``gthread`` worker hands a connection to a worker thread as soon as its first byte
arrives, and the thread then reads the request line and headers from a blocking socket with no
time limit: a few clients that trickle their headers a byte at a time hold every thread and
the API stops answering. This worker reads request heads in its event loop instead, without
blocking: a connection gets a thread only once its whole head (up to the blank line) is in, and
a client that has not sent it within ``[DEFAULT] client_timeout`` seconds is disconnected.
Kept-alive connections go through the same stage for each new request. Body reads in the
thread wait at most ``client_timeout`` seconds for each chunk.

Protocol errors gunicorn answers itself (a request line over 4094 bytes: 414, too many or too
large headers: 431, a malformed request: 400) leave in OpenStack's JSON error shape instead of
an HTML page.
"""
from __future__ import annotations

import errno
import json
import selectors
import socket
import time
from collections import deque
from functools import partial
from typing import Any

from gunicorn import util
from gunicorn.http.errors import NoMoreData
from gunicorn.workers.gthread import TConn, ThreadWorker

#: A head this large without its blank line goes to the parser, whose limits answer 414/431.
MAX_HEAD = 64 * 1024
_KINDS = {400: "badRequest", 403: "forbidden", 414: "requestURITooLong",
          417: "expectationFailed", 431: "requestHeaderFieldsTooLarge",
          500: "computeFault", 501: "notImplemented"}


def write_json_error(sock: socket.socket, status: int, reason: str, message: str) -> None:
    """gunicorn's own error responses, as ``{"<kind>": {"code", "title", "message"}}``."""
    kind = _KINDS.get(status, "badRequest")
    body = json.dumps({kind: {"code": status, "title": reason,
                              "message": message or reason}}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin1") + body)


class _TimedSocket:
    """What the request parser reads from: the client socket, each ``recv`` waiting at most
    ``timeout`` seconds (a stalled client ends its request as if it had disconnected)."""

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self._sock, self._timeout = sock, timeout

    def recv(self, size: int) -> bytes:
        self._sock.settimeout(self._timeout)
        try:
            return self._sock.recv(size)
        except TimeoutError:
            raise NoMoreData(b"") from None
        finally:
            self._sock.settimeout(None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _Conn(TConn):
    """A connection that carries the head bytes the event loop read for its next request."""

    def __init__(self, cfg: Any, sock: socket.socket, client: Any, server: Any,
                 read_timeout: float) -> None:
        super().__init__(cfg, sock, client, server)
        self.read_timeout = read_timeout
        self.head = bytearray()
        self.head_deadline = 0.0

    def init(self) -> None:
        fresh = not self.initialized
        super().init()
        unreader = getattr(self.parser, "unreader", None)
        if unreader is None:
            return
        if fresh and hasattr(unreader, "sock"):
            unreader.sock = _TimedSocket(unreader.sock, self.read_timeout)
        if self.head:
            unreader.unread(bytes(self.head))
            self.head = bytearray()


class Worker(ThreadWorker):
    """``gthread`` that reads request heads in its event loop, with JSON protocol errors."""

    read_timeout = 30.0  # set from [DEFAULT] client_timeout by minicloud.serve

    def init_process(self) -> None:
        util.write_error = write_json_error
        self.reading_heads: deque[_Conn] = deque()
        super().init_process()

    def accept(self, listener: socket.socket) -> None:
        try:
            client_sock, client_addr = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = _Conn(self.cfg, client_sock, client_addr, listener.getsockname(),
                     self.read_timeout)
        self._read_head(conn)

    def on_client_socket_readable(self, conn: TConn, client: socket.socket) -> None:
        """A kept-alive connection has a new request: read its head in the loop too."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        if isinstance(conn, _Conn):
            self._read_head(conn)
        else:
            self.enqueue_req(conn)

    def _read_head(self, conn: _Conn) -> None:
        conn.sock.setblocking(False)
        conn.head_deadline = time.monotonic() + conn.read_timeout
        self.reading_heads.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_head_bytes, conn))

    def _on_head_bytes(self, conn: _Conn, sock: socket.socket) -> None:
        try:
            data = sock.recv(MAX_HEAD)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away before sending a whole head
            self._stop_reading(conn)
            self._drop(conn)
            return
        conn.head += data
        if b"\r\n\r\n" in conn.head or b"\n\n" in conn.head or len(conn.head) >= MAX_HEAD:
            self._stop_reading(conn)
            conn.data_ready = True
            self.enqueue_req(conn)

    def _stop_reading(self, conn: _Conn) -> None:
        self.poller.unregister(conn.sock)
        self.reading_heads.remove(conn)

    def _drop(self, conn: _Conn) -> None:
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self) -> None:
        """Also disconnect clients that did not send a whole head in time."""
        super().murder_pending()
        now = time.monotonic()
        for conn in [c for c in self.reading_heads if c.head_deadline <= now]:
            self._stop_reading(conn)
            self._drop(conn)
