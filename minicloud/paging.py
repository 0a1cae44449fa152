"""Pagination shared by every collection: ``limit`` and ``marker`` in, ``next`` links out.

OpenStack's rule (Nova, Cinder, Glance alike): a page holds the items after ``marker`` (the id
of the last item of the previous page) in the listing's order, at most ``limit`` of them (at
most the service's maximum when no limit is given). A ``next`` link is due when the page is
full, pointing at the same query with ``marker`` set to the page's last id; a client that
follows ``next`` until it is absent sees every item once. A marker that is not in the listing
is a 400, never an empty page that looks like the end.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlencode

from minicloud.errors import BadRequest
from minicloud.validation import query_int

T = TypeVar("T")
MAX_LIMIT = 1000


@dataclass(frozen=True)
class Page:
    """A validated page request; ``limit`` is the effective page size."""

    limit: int
    marker: str | None
    explicit_limit: bool

    @classmethod
    def from_args(cls, args: Mapping[str, str], max_limit: int = MAX_LIMIT) -> Page:
        """From query parameters; ``limit`` above ``max_limit`` is capped, as in Nova."""
        limit = query_int(args, "limit", None, minimum=0)
        marker = args.get("marker") or None
        return cls(min(limit, max_limit) if limit is not None else max_limit, marker,
                   limit is not None)

    def apply(self, items: Sequence[T], key: Callable[[T], str]) -> list[T]:
        """The page of ``items`` (already filtered and sorted): after the marker, at most
        ``limit`` items; 400 when the marker is not among ``items``."""
        start = 0
        if self.marker is not None:
            for i, item in enumerate(items):
                if key(item) == self.marker:
                    start = i + 1
                    break
            else:
                raise BadRequest(f"marker [{self.marker}] not found")
        return list(items[start:start + self.limit])

    def next_marker(self, page: Sequence[T], key: Callable[[T], str]) -> str | None:
        """The marker of the next page, or None when ``page`` is the last one."""
        if page and len(page) >= self.limit:
            return key(page[-1])
        return None


def next_href(url: str, args: Mapping[str, str], marker: str) -> str:
    """``url`` with the request's query parameters and ``marker`` replaced."""
    items = [(k, v) for k, v in _pairs(args) if k != "marker"] + [("marker", marker)]
    return f"{url}?{urlencode(items)}"


def _pairs(args: Mapping[str, str]) -> list[tuple[str, str]]:
    if hasattr(args, "items") and hasattr(args, "getlist"):
        return list(args.items(multi=True))  # type: ignore[call-arg]
    return list(args.items())
