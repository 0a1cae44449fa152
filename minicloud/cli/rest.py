"""The CLI's HTTP client: a token, the catalog, JSON calls and streamed bodies, over the
standard library's :mod:`http.client`.

A command that only speaks REST starts without requests (its import is ~0.1 s of a 0.15 s
start). :class:`RestClient` takes the calls :class:`minicloud.client.Client` takes
(``request(service_type, method, path, params=, json=, data=, headers=, stream=)``) and
raises the same errors (:func:`minicloud.clouds.error_from_response` on 4xx/5xx, 503 when
the cloud cannot be reached or does not answer in time). Its :class:`Response` has what the
commands read of a ``requests.Response``: ``status_code``, ``headers`` (case-insensitive),
``content``, ``text``, ``json()``, ``iter_content()``, ``close()``, ``url`` and
``request.method``.

One connection per host is kept alive between calls; a connection the server closed while
idle is noticed before it is used, and a request it drops before answering is sent once more
on a fresh one when its body can be sent again.
"""
from __future__ import annotations

import http.client
import json as jsonlib
import select
import urllib.parse
from collections.abc import Iterator
from typing import Any, NamedTuple

from minicloud import errors
from minicloud.clouds import CatalogSession, Credentials, error_from_response

#: Bytes read from a file body per send, and the default of :meth:`Response.iter_content`.
CHUNK = 1 << 20
USER_AGENT = "minicloud-cli"
# The server closed a kept-alive connection before answering: safe to send again.
_DROPPED = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class _Sent(NamedTuple):
    method: str


class Response:
    """An answer; its body is read on first use (or streamed by :meth:`iter_content`)."""

    def __init__(self, raw: http.client.HTTPResponse, conn: http.client.HTTPConnection,
                 method: str, url: str) -> None:
        self.raw, self._conn, self.url, self.request = raw, conn, url, _Sent(method)
        self.status_code: int = raw.status
        self.headers = raw.headers  # an email.message.Message: get() ignores case
        self._content: bytes | None = None

    def _read(self, amount: int | None = None) -> bytes:
        try:
            return self.raw.read(amount)
        except (OSError, http.client.HTTPException):
            self.close()
            raise errors.ServiceUnavailable(f"the answer from {self.url} was cut short") \
                from None

    @property
    def content(self) -> bytes:
        if self._content is None:
            self._content = self._read()
            self.close()
        return self._content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not (as requests)."""
        return jsonlib.loads(self.content)

    def iter_content(self, chunk_size: int = CHUNK) -> Iterator[bytes]:
        try:
            while chunk := self._read(chunk_size):
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        if not self.raw.isclosed():
            # The rest of the body is still coming on the connection: it cannot carry the
            # next request (http.client opens a new one).
            self.raw.close()
            self._conn.close()

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _replayable(body: Any) -> bool:
    return body is None or isinstance(body, (bytes, str))


def _is_dropped(conn: http.client.HTTPConnection) -> bool:
    """True when the kept-alive socket has been closed by the server (readable at EOF)."""
    if conn.sock is None:
        return False
    try:
        readable, _, _ = select.select([conn.sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class RestClient(CatalogSession):
    """A token-authenticated client of the cloud's REST APIs (see the module docstring)."""

    def __init__(self, creds: Credentials, timeout: float = 60) -> None:
        self.creds, self.timeout = creds, timeout
        self.token: str | None = None
        self.token_body: dict = {}
        self._conns: dict[tuple[str, str], http.client.HTTPConnection] = {}

    def close(self) -> None:
        """Drop the kept-alive connections (the next request opens a fresh one)."""
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()

    def _connection(self, scheme: str, netloc: str) -> http.client.HTTPConnection:
        conn = self._conns.get((scheme, netloc))
        if conn is None:
            cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
            conn = cls(netloc, timeout=self.timeout, blocksize=CHUNK)
            self._conns[(scheme, netloc)] = conn
        elif _is_dropped(conn):
            conn.close()  # reopened by the next request
        return conn

    def _send(self, method: str, url: str, *, params: dict | None = None, json: Any = None,
              data: Any = None, headers: dict | None = None, stream: bool = False) -> Response:
        parts = urllib.parse.urlsplit(url)
        extra = urllib.parse.urlencode(
            {k: v for k, v in (params or {}).items() if v is not None}, doseq=True)
        query = "&".join(q for q in (parts.query, extra) if q)
        target = (parts.path or "/") + (f"?{query}" if query else "")
        head = {"User-Agent": USER_AGENT, "Accept": "*/*", **(headers or {})}
        body = data
        if json is not None:
            body = jsonlib.dumps(json).encode()
            head.setdefault("Content-Type", "application/json")
        if getattr(body, "len", None) is not None:  # a sized stream (ProgressReader)
            head.setdefault("Content-Length", str(body.len))
        conn, raw = self._exchange(parts.scheme, parts.netloc, method, target, body, head,
                                   url)
        resp = Response(raw, conn, method, url)
        if not stream:
            _ = resp.content  # read now: the connection is free for the next call
        if resp.status_code >= 400:
            raise error_from_response(resp)
        return resp

    def _exchange(self, scheme: str, netloc: str, method: str, target: str, body: Any,
                  head: dict, url: str, retry: bool = True
                  ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Send the request and get the answer's head, mapping transport failures to 503."""
        conn = self._connection(scheme, netloc)
        reused = conn.sock is not None
        try:
            try:
                conn.request(method, target, body=body, headers=head)
            except (BrokenPipeError, ConnectionResetError):
                # A refusal (413, a bad format...) may come before the body was read, and the
                # server then closes: its answer may still be there to read.
                if reused and _replayable(body):
                    raise
                return conn, conn.getresponse()
            return conn, conn.getresponse()
        except _DROPPED:
            conn.close()
            if retry and reused and _replayable(body):
                return self._exchange(scheme, netloc, method, target, body, head, url, False)
            raise errors.ServiceUnavailable(f"{netloc} closed the connection without "
                                            f"answering {method} {url}") from None
        except TimeoutError:
            conn.close()
            raise errors.ServiceUnavailable(f"no answer from {url} within "
                                            f"{self.timeout}s") from None
        except (OSError, http.client.HTTPException):
            conn.close()
            raise errors.ServiceUnavailable(f"cannot reach {netloc}: is the cloud "
                                            "running? (`minicloud up`)") from None
