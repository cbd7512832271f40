"""When the next Toggl request may go: paced from the quota headers of the last answer.

Toggl counts requests per user and organization in an hourly window that opens with the first
request (Free 30, Starter 240, Premium 600) and answers 402 once it is spent. Every answer says
how many requests are left (`X-Toggl-Quota-Remaining`) and in how many seconds the count resets
(`X-Toggl-Quota-Resets-In`). The pacer spreads the remaining requests evenly over that time, so a
steady pull reaches the end of the window as its quota does and never draws a 402. None left
means waiting for the reset (logged), at most `max_wait` seconds; a later reset ends the pull
cleanly, before asking, with `SourceLimitReached`. `min_interval` is the floor between any two
requests: Toggl's leaky bucket allows about one a second (429 beyond it, retried with backoff).
Before the first answer, and against a server that sends no quota headers, only the floor applies.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

from connectors.errors import SourceLimitReached

REMAINING = "X-Toggl-Quota-Remaining"
RESETS_IN = "X-Toggl-Quota-Resets-In"
# Waited past the announced reset: the header is whole seconds, and Toggl's rounding is unknown.
RESET_MARGIN = 1.0
# A 402 without `X-Toggl-Quota-Resets-In`: assume the whole hour.
DEFAULT_RESET = 3600.0

_logger = logging.getLogger("connectors.toggl")


class QuotaPacer:
    """Spreads the quota's remaining requests over the time until it resets. One pacer per
    API token and run: every stream's requests count against the same quota."""

    def __init__(self, min_interval: float = 1.0, max_wait: float = 300.0,
                 log: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.min_interval = min_interval
        self.max_wait = max_wait
        self.log = log or _logger.info
        self._clock, self._sleep = clock, sleep
        self._sent_at: float | None = None
        self._remaining: int | None = None  # as of the last answer that said
        self._seen_at = 0.0
        self._resets_at = 0.0
        self.waited_seconds = 0.0  # slept for the quota, over the pacer's life

    def wait(self, what: str) -> None:
        """Sleep until the next request may go; raise `SourceLimitReached` when the quota is
        spent and resets later than `max_wait` from now."""
        now = self._clock()
        due = now if self._sent_at is None else self._sent_at + self.min_interval
        if self._remaining is not None and self._remaining > 0:
            spread = (self._resets_at - self._seen_at) / self._remaining
            due = max(due, self._seen_at + min(spread, self.max_wait))
        elif self._remaining == 0 and self._resets_at > now:
            resets_in = self._resets_at - now
            if resets_in > self.max_wait:
                raise SourceLimitReached(
                    "toggl", f"{what}: the hourly API quota is spent and refills in "
                    f"{resets_in:.0f}s; what was landed is kept, run again after that")
            self.log(f"toggl {what}: the hourly API quota is spent; waiting "
                     f"{resets_in + RESET_MARGIN:.0f}s for it to reset")
            due = max(due, self._resets_at + RESET_MARGIN)
        if due > now:
            self._sleep(due - now)
            self.waited_seconds += due - now
        self._sent_at = self._clock()

    def observe(self, headers: Mapping[str, str]) -> None:
        """Note an answer's quota headers (an answer without them changes nothing)."""
        found = _lower(headers)
        try:
            remaining = int(found[REMAINING.lower()])
            resets_in = float(found[RESETS_IN.lower()])
        except (KeyError, ValueError):
            return
        self._note(max(remaining, 0), resets_in)

    def refused(self, headers: Mapping[str, str]) -> None:
        """A 402: the quota is spent (another client of the same token spent it, say)."""
        try:
            resets_in = float(_lower(headers).get(RESETS_IN.lower()) or DEFAULT_RESET)
        except ValueError:
            resets_in = DEFAULT_RESET
        self._note(0, resets_in)

    def _note(self, remaining: int, resets_in: float) -> None:
        self._remaining = remaining
        self._seen_at = self._clock()
        self._resets_at = self._seen_at + max(resets_in, 0.0)


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names folded to lower case (an error keeps a plain dict of them)."""
    return {name.lower(): value for name, value in headers.items()}
