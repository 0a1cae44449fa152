"""Compute API microversions: advertise a range, honour any version inside it."""
from __future__ import annotations

from dataclasses import dataclass

from minicloud.errors import MinicloudError

MIN_VERSION = (2, 1)
MAX_VERSION = (2, 96)


class NotAcceptable(MinicloudError):
    status, kind, title = 406, "notAcceptable", "Not Acceptable"


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def at_least(self, minor: int) -> bool:
        return (self.major, self.minor) >= (2, minor)


def fmt(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def negotiate(headers) -> Version:
    """Read ``OpenStack-API-Version: compute X.Y`` or ``X-OpenStack-Nova-API-Version``."""
    raw = None
    for part in headers.get("OpenStack-API-Version", "").split(","):
        service, _, value = part.strip().partition(" ")
        if service.lower() == "compute" and value:
            raw = value.strip()
    raw = raw or headers.get("X-OpenStack-Nova-API-Version", "").strip() or None
    if raw is None:
        return Version(*MIN_VERSION)
    if raw.lower() == "latest":
        return Version(*MAX_VERSION)
    try:
        major, minor = (int(x) for x in raw.split("."))
    except ValueError:
        raise NotAcceptable(f"Invalid microversion {raw!r}: expected X.Y.") from None
    if not MIN_VERSION <= (major, minor) <= MAX_VERSION:
        raise NotAcceptable(f"Version {raw} is not supported by the API. Minimum is "
                            f"{fmt(MIN_VERSION)} and maximum is {fmt(MAX_VERSION)}.")
    return Version(major, minor)
