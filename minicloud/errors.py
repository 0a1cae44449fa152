"""The one exception family of minicloud.

Every error a user can cause is a :class:`MinicloudError` carrying its HTTP status and the
OpenStack error "kind" used in the JSON body (``{"<kind>": {"code": N, "message": "..."}}``).
The WSGI layer renders them (see :mod:`minicloud.wsgi`); the CLI turns them into one line.
"""
from __future__ import annotations


class MinicloudError(Exception):
    """Base of every error minicloud raises on purpose."""

    status: int = 500
    kind: str = "computeFault"
    title: str = "Internal Server Error"

    def __init__(self, message: str = "", **extra: object) -> None:
        super().__init__(message or self.title)
        self.message = message or self.title
        self.extra = extra

    def to_dict(self) -> dict:
        return {self.kind: {"code": self.status, "title": self.title, "message": self.message}}


class BadRequest(MinicloudError):
    status, kind, title = 400, "badRequest", "Bad Request"


class Unauthorized(MinicloudError):
    status, kind, title = 401, "unauthorized", "Unauthorized"


class Forbidden(MinicloudError):
    status, kind, title = 403, "forbidden", "Forbidden"


class NotFound(MinicloudError):
    status, kind, title = 404, "itemNotFound", "Not Found"


class MethodNotAllowed(MinicloudError):
    status, kind, title = 405, "methodNotAllowed", "Method Not Allowed"


class Conflict(MinicloudError):
    status, kind, title = 409, "conflict", "Conflict"


class RequestTooLarge(MinicloudError):
    status, kind, title = 413, "overLimit", "Request Entity Too Large"


class UnsupportedMediaType(MinicloudError):
    status, kind, title = 415, "badMediaType", "Unsupported Media Type"


class RangeNotSatisfiable(MinicloudError):
    status, kind, title = 416, "rangeNotSatisfiable", "Requested Range Not Satisfiable"


class NotSupported(MinicloudError):
    """A valid request this cloud's driver does not carry out (Nova's 501, e.g. host power
    actions on libvirt)."""

    status, kind, title = 501, "notImplemented", "Not Implemented"


class ServiceUnavailable(MinicloudError):
    status, kind, title = 503, "serviceUnavailable", "Service Unavailable"


class ConfigError(MinicloudError):
    """The configuration (a file, an option, an environment variable) is invalid."""

    status, kind, title = 500, "configError", "Configuration Error"


class CommandFailed(MinicloudError):
    """An external command exited non-zero, timed out or was killed by a resource limit."""

    status, kind, title = 500, "computeFault", "Command Failed"

    def __init__(self, argv: list[str], returncode: int | None, stderr: str,
                 reason: str = "") -> None:
        self.argv, self.returncode, self.stderr = list(argv), returncode, stderr
        what = reason or f"exit code {returncode}"
        super().__init__(f"{argv[0]} failed ({what}): {stderr.strip()[-500:]}")
