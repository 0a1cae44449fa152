"""The HTTP server of every API service: gunicorn's threaded worker, hardened for slow clients.

gunicorn's ``gthread`` worker reads a request's line and headers in a worker thread with a
blocking socket and no time limit, so a few clients that trickle their headers a byte at a
time hold every thread and the API stops answering. This worker gives each request head a
deadline (``[DEFAULT] client_timeout`` from the first byte to the last header) and each body
read the same limit; a client that misses it is disconnected. Protocol errors gunicorn answers
itself (a request line over 4094 bytes: 414, too many or too large headers: 431, a malformed
request: 400) leave in OpenStack's JSON error shape instead of an HTML page.
"""
from __future__ import annotations

import errno
import json
import socket
import time
from typing import Any

from gunicorn import util
from gunicorn.http.errors import NoMoreData
from gunicorn.workers.gthread import TConn, ThreadWorker

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


class _DeadlineSocket:
    """What the request parser reads from: the client socket, each ``recv`` bounded by the
    connection's deadline (while a head is read) or by ``timeout`` (while a body is)."""

    def __init__(self, sock: socket.socket, conn: _Conn) -> None:
        self._sock, self._conn = sock, conn

    def recv(self, size: int) -> bytes:
        deadline = self._conn.deadline
        limit = self._conn.read_timeout if deadline is None else deadline - time.monotonic()
        if limit <= 0:
            raise NoMoreData(b"")
        self._sock.settimeout(limit)
        try:
            return self._sock.recv(size)
        except TimeoutError:
            raise NoMoreData(b"") from None
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                raise NoMoreData(b"") from None
            raise
        finally:
            self._sock.settimeout(None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _Conn(TConn):
    """A connection whose parser reads through a :class:`_DeadlineSocket`."""

    def __init__(self, cfg: Any, sock: socket.socket, client: Any, server: Any,
                 read_timeout: float) -> None:
        super().__init__(cfg, sock, client, server)
        self.read_timeout = read_timeout
        self.deadline: float | None = None

    def init(self) -> None:
        fresh = not self.initialized
        super().init()
        unreader = getattr(self.parser, "unreader", None)
        if fresh and unreader is not None and hasattr(unreader, "sock"):
            unreader.sock = _DeadlineSocket(unreader.sock, self)


class Worker(ThreadWorker):
    """``gthread`` with request-head deadlines, body read timeouts and JSON errors."""

    read_timeout = 30.0  # set from [DEFAULT] client_timeout by minicloud.serve

    def init_process(self) -> None:
        util.write_error = write_json_error
        super().init_process()

    def accept(self, listener: socket.socket) -> None:
        try:
            client_sock, client_addr = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        client_sock.setblocking(True)
        self.enqueue_req(_Conn(self.cfg, client_sock, client_addr, listener.getsockname(),
                               self.read_timeout))

    def handle(self, conn: TConn) -> Any:
        if isinstance(conn, _Conn):
            conn.deadline = time.monotonic() + conn.read_timeout
        return super().handle(conn)

    def handle_request(self, req: Any, conn: TConn) -> Any:
        if isinstance(conn, _Conn):
            conn.deadline = None  # the head is in: body reads get a per-read limit
        return super().handle_request(req, conn)
