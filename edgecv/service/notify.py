"""The sd_notify protocol without libsystemd: one datagram to ``$NOTIFY_SOCKET`` per message.

Why not the C library: it is one ``sendto`` of ``KEY=VALUE`` lines to a unix datagram socket, and a
``ctypes``/``cysystemd`` dependency would be the only native one edgecv did not already need. Outside systemd
(no ``NOTIFY_SOCKET``) every method is a no-op, so the run loop calls them unconditionally.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    """Talks to the service manager named by ``NOTIFY_SOCKET`` (a path, or ``@name`` for the abstract namespace)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        environ = os.environ if environ is None else environ
        self._address = _address(environ.get("NOTIFY_SOCKET", ""))
        self._socket: socket.socket | None = None
        self.watchdog_interval_s = _watchdog_interval(environ)
        self._warned = False

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def ready(self, status: str) -> None:
        self.send(READY=1, STATUS=status)

    def status(self, status: str) -> None:
        self.send(STATUS=status)

    def watchdog(self) -> None:
        self.send(WATCHDOG=1)

    def reloading(self, status: str = "reloading the config") -> None:
        """``RELOADING=1`` with ``MONOTONIC_USEC`` (when the reload began, on CLOCK_MONOTONIC, as
        ``Type=notify-reload`` requires); :meth:`ready` ends the reload."""
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self.send(RELOADING=1, MONOTONIC_USEC=usec, STATUS=status)

    def stopping(self, status: str = "stopping") -> None:
        self.send(STOPPING=1, STATUS=status)

    def send(self, **fields: object) -> bool:
        """Send ``KEY=value`` lines as one datagram; ``False`` when not under systemd or the send failed."""
        if self._address is None:
            return False
        # STATUS= is one line by protocol: a newline inside would start a bogus assignment.
        message = "\n".join(f"{key}={str(value).replace(chr(10), ' ')}" for key, value in fields.items())
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._socket.sendto(message.encode(), self._address)
            return True
        except OSError as exc:
            # Never fatal: a manager that went away must not take the detector down with it. Said once.
            if not self._warned:
                log.warning(
                    "cannot notify the service manager at %s: %s", os.environ.get("NOTIFY_SOCKET"), exc
                )
                self._warned = True
            return False

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _address(value: str) -> str | bytes | None:
    if not value:
        return None
    if value.startswith("@"):
        return b"\0" + value[1:].encode()  # abstract namespace: a leading NUL instead of '@'
    if value.startswith("/"):
        return value
    log.warning("ignoring NOTIFY_SOCKET=%r: not a unix socket path or @abstract name", value)
    return None


def _watchdog_interval(environ: Mapping[str, str]) -> float | None:
    """Ping period: half of ``WATCHDOG_USEC`` (as sd_watchdog_enabled advises), if the watchdog is meant for us.

    ``WATCHDOG_PID`` names the process systemd watches; a child that inherited the variables (or a wrapper
    that exec'd us under another pid) must not ping on its behalf.
    """
    try:
        usec = int(environ.get("WATCHDOG_USEC", "0"))
    except ValueError:
        return None
    if usec <= 0:
        return None
    pid = environ.get("WATCHDOG_PID", "")
    if pid and pid != str(os.getpid()):
        return None
    return usec / 2 / 1_000_000
