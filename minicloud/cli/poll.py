"""The one poller behind every ``--wait``: fast at first, backing off, bounded.

Most of what a command waits for settles within a second or two (a volume, a delete, a
server going ACTIVE on a fast host), so the first looks come soon after the request; a long
wait (a guest image copied, a big import) backs off so it does not hammer the API. The
schedule is :data:`FIRST_INTERVAL` seconds, doubled each time up to :data:`MAX_INTERVAL`:
0.1, 0.2, 0.4, 0.8, 1, 1, ... (as Nova's own clients back off their status polling). The
total wait never exceeds the command's ``--timeout``: the last sleep is cut to the deadline,
and a look after it fails with 503 "... is still STATE after Ns".

Each new state is reported on stderr with the time waited so far, only when stderr is a
terminal, so scripts see clean output.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import click

from minicloud import errors

FIRST_INTERVAL = 0.1
MAX_INTERVAL = 1.0
BACKOFF = 2.0


def intervals(first: float = FIRST_INTERVAL, cap: float = MAX_INTERVAL,
              factor: float = BACKOFF) -> Iterator[float]:
    """The sleeps between two looks, forever: ``first``, times ``factor``, up to ``cap``."""
    delay = first
    while True:
        yield min(delay, cap)
        delay = min(delay * factor, cap)


class Poll:
    """A bounded wait for ``what`` (``server web1``): call :meth:`report` with each state
    seen and :meth:`sleep` before each new look."""

    def __init__(self, what: str, timeout: float) -> None:
        self.what, self.timeout = what, timeout
        self.started = time.monotonic()
        self.deadline = self.started + timeout
        self.shown: str | None = None
        self._intervals = intervals()
        self._last_look = False

    def report(self, state: str) -> None:
        """Show ``state`` on a terminal's stderr when it differs from the last one shown."""
        if state != self.shown and sys.stderr.isatty():
            click.echo(f"{self.what}: {state} [{time.monotonic() - self.started:.1f}s]",
                       err=True)
        self.shown = state

    def sleep(self, state: str) -> None:
        """Sleep until the next look; 503 when the timeout has passed in ``state``."""
        now = time.monotonic()
        if self._last_look or now >= self.deadline:
            raise errors.ServiceUnavailable(f"{self.what} is still {state} after "
                                            f"{self.timeout:g}s")
        delay = next(self._intervals)
        if delay >= self.deadline - now:
            delay, self._last_look = self.deadline - now, True  # the look at the deadline
        time.sleep(delay)
