"""A stop that always ends: everything closed in parallel against one deadline, the rest abandoned.

systemd sends SIGTERM and, ``TimeoutStopSec=`` later, SIGKILL; a stop that overruns loses whatever the sinks
were still flushing. So each close runs in its own daemon thread and we wait for all of them only until the
deadline: a camera whose driver is stuck in a read, or a broker that stopped answering, costs at most the
budget, and whatever is left dies with the process (MQTT's spool keeps unsent events; the kernel releases
the devices).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)


def close_all(items: Iterable[tuple[str, Callable[[], None]]], deadline: float) -> list[str]:
    """Call every ``(name, close)`` at once; return the names still running at ``deadline`` (monotonic)."""
    threads = []
    for name, close in items:
        thread = threading.Thread(target=_quietly, args=(name, close), name=f"close {name}", daemon=True)
        thread.start()
        threads.append((name, thread))
    late = []
    for name, thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            late.append(name)
    if late:
        log.warning("stop deadline reached; abandoning: %s", ", ".join(late))
    return late


def _quietly(name: str, close: Callable[[], None]) -> None:
    try:
        close()
    except Exception:  # one failing close must not keep the others from running or the process from exiting
        log.exception("closing %s failed", name)


def exit_after(delay_s: float, reason: str, code: int = 1) -> threading.Timer:
    """Exit the process with ``code`` in ``delay_s`` unless it has ended by then.

    For a pipeline that cannot stop by itself because its inference thread is stuck inside ``invoke()``:
    the normal path (stop, finish, close, exit) is tried first; this is the backstop. ``os._exit`` because
    ``sys.exit`` from a thread only ends that thread.
    """

    def hard_exit() -> None:
        print(f"edgecv: error: {reason} (exiting without a clean stop)", file=sys.stderr, flush=True)
        logging.shutdown()
        os._exit(code)

    timer = threading.Timer(delay_s, hard_exit)
    timer.daemon = True
    timer.start()
    return timer
