"""API microversions, shared by compute and volume: advertise a range, honour any inside it.

Clients ask with ``OpenStack-API-Version: <service> X.Y`` (or ``latest``; compute also
accepts the legacy ``X-OpenStack-Nova-API-Version``); no header means the minimum. A
malformed or out-of-range version is a 406 naming the range.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from minicloud.errors import MinicloudError


class NotAcceptable(MinicloudError):
    status, kind, title = 406, "notAcceptable", "Not Acceptable"


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def at_least(self, minor: int) -> bool:
        """True when this is ``<major>.<minor>`` or later (within the same major)."""
        return self.minor >= minor


def fmt(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


@dataclass(frozen=True)
class Microversions:
    names: tuple[str, ...]             # service names accepted in OpenStack-API-Version
    min: tuple[int, int]
    max: tuple[int, int]
    legacy_header: str | None = None   # e.g. X-OpenStack-Nova-API-Version

    def negotiate(self, headers: Mapping[str, str]) -> Version:
        raw = None
        for part in headers.get("OpenStack-API-Version", "").split(","):
            service, _, value = part.strip().partition(" ")
            if service.lower() in self.names and value.strip():
                raw = value.strip()
        if raw is None and self.legacy_header:
            raw = headers.get(self.legacy_header, "").strip() or None
        if raw is None:
            return Version(*self.min)
        if raw.lower() == "latest":
            return Version(*self.max)
        try:
            major, minor = (int(x) for x in raw.split("."))
        except ValueError:
            raise NotAcceptable(f"Invalid microversion {raw!r}: expected "
                                f"{self.min[0]}.Y.") from None
        if not self.min <= (major, minor) <= self.max:
            raise NotAcceptable(f"Version {raw} is not supported by the API. Minimum is "
                                f"{fmt(self.min)} and maximum is {fmt(self.max)}.")
        return Version(major, minor)


def shape(body: dict, version: Version, since: Mapping[str, int],
          until: Mapping[str, int] | None = None) -> dict:
    """``body`` as a client at ``version`` sees it: a field listed in ``since`` appears from
    the minor version that introduced it, one listed in ``until`` only before the minor
    version that removed it (each service keeps these tables next to its views)."""
    until = until or {}
    return {key: value for key, value in body.items()
            if since.get(key, 0) <= version.minor < until.get(key, 10 ** 6)}
