"""Is the system's wall clock set? Found out without the syscalls the service unit forbids.

A Raspberry Pi has no RTC: it boots with whatever time it last saved (or 1970) and NTP steps the clock,
by hours, once the network is up. Durations never read the wall clock (see :mod:`edgecv.frame`), but every
payload's ``ts`` does, so a subscriber should be told when those times cannot be trusted yet.

``adjtimex()``, which asks the kernel directly, is blocked by the unit's ``ProtectClock=yes`` /
``SystemCallFilter=~@clock``. What is asked instead, in this order:

1. the calendar: a year before edgecv was built (or installed) is wrong, whatever the rest says;
2. systemd-timesyncd's flag file ``/run/systemd/timesync/synchronized`` (present once it synchronised);
3. chrony's own answer (``chronyc -c tracking``: its leap status says ``Not synchronised`` until it is);
4. timesyncd's runtime directory without the flag: timesyncd runs and has not synchronised yet.

With none of these (no time service we know), the answer is ``None``: unknown, which is not the same as
"wrong". :data:`CLOCK` keeps the last answer for the process; it logs once when the clock is found
unsynchronised, and once more when that is over.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

TIMESYNC_FLAG = Path("/run/systemd/timesync/synchronized")
# The oldest year a correct clock can show: this line's release. The package's install time raises it.
FLOOR_YEAR = 2025
CHRONYC_TIMEOUT_S = 1.0
REFRESH_S = 60.0  # how long an answer is kept: an NTP step is rare, and chronyc is a process to start


@dataclass(frozen=True)
class ClockState:
    synced: bool | None  # None: no way to tell on this machine
    how: str  # what said so, for the log line


def build_year() -> int:
    """The year this edgecv was built or installed: the clock cannot truthfully be earlier."""
    try:
        installed = time.gmtime(Path(__file__).stat().st_mtime).tm_year
    except OSError:
        installed = FLOOR_YEAR
    return max(FLOOR_YEAR, installed)


def chrony_synced(chronyc: str | None = None) -> bool | None:
    """chronyd's verdict from ``chronyc -c tracking`` (CSV; the last field is the leap status), ``None``
    when chrony is not installed, not running or does not answer within ``CHRONYC_TIMEOUT_S``."""
    chronyc = chronyc or shutil.which("chronyc")
    if chronyc is None:
        return None
    try:
        # -n: no DNS lookups for the source names; answered over chronyd's socket or UDP on loopback.
        done = subprocess.run(
            [chronyc, "-n", "-c", "tracking"],
            capture_output=True,
            text=True,
            timeout=CHRONYC_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    fields = done.stdout.strip().split(",")
    if done.returncode != 0 or len(fields) < 10:
        return None
    return fields[-1].strip().lower() != "not synchronised"


def check_clock(
    *,
    now: Callable[[], float] = time.time,
    flag: Path = TIMESYNC_FLAG,
    chrony: Callable[[], bool | None] = chrony_synced,
    built: int | None = None,
) -> ClockState:
    """What is known of the wall clock now (see the module docstring for the order of the questions)."""
    year = time.gmtime(now()).tm_year
    built = build_year() if built is None else built
    if year < built:
        return ClockState(False, f"it says {year}, before this edgecv was built ({built})")
    if flag.exists():
        return ClockState(True, "systemd-timesyncd synchronised it")
    answer = chrony()
    if answer is not None:
        return ClockState(
            answer, "chrony " + ("synchronised it" if answer else "has not synchronised it yet")
        )
    if flag.parent.is_dir():
        return ClockState(False, "systemd-timesyncd runs and has not synchronised it yet")
    return ClockState(None, "no time service found")


class ClockWatch:
    """The process's last answer about the wall clock, refreshed at most every ``refresh_s`` seconds.

    :meth:`state` may be called from any thread; the service watchdog calls it on its own thread every tick,
    so the post thread (MQTT stats) normally only reads the kept answer.
    """

    def __init__(self, check: Callable[[], ClockState] = check_clock, refresh_s: float = REFRESH_S) -> None:
        self._check = check
        self._refresh_s = refresh_s
        self._lock = threading.Lock()
        self._state: ClockState | None = None
        self._checked_at = 0.0  # monotonic: the wall clock is the thing in doubt
        self._warned = False

    def state(self) -> ClockState:
        """The current answer; checks again when the kept one is older than ``refresh_s``."""
        kept = self._state
        if kept is not None and time.monotonic() - self._checked_at < self._refresh_s:
            return kept
        # Another thread checking already: its answer will do, the kept one meanwhile.
        if not self._lock.acquire(blocking=kept is None):
            return kept if kept is not None else ClockState(None, "being checked")
        try:
            state = self._check()
            self._state, self._checked_at = state, time.monotonic()
            self._report(state)
            return state
        finally:
            self._lock.release()

    @property
    def synced(self) -> bool | None:
        """``True``/``False``/``None`` (unknown): what ``clock_synced`` reports in stats and summaries."""
        return self.state().synced

    def _report(self, state: ClockState) -> None:
        if state.synced is False and not self._warned:
            self._warned = True
            log.warning(
                "the system clock is not synchronised (%s): timestamps in events and payloads may be off "
                "until it is; tracking does not depend on it",
                state.how,
            )
        elif state.synced and self._warned:
            self._warned = False
            log.info("the system clock is synchronised now (%s)", state.how)


CLOCK = ClockWatch()
