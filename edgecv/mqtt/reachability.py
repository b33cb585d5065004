"""Whether the broker can be reached, and why not, said out loud.

paho retries a failed connection in the background and tells us only *that* it failed; a wrong host or port
would otherwise go unnoticed while events pile up. :class:`Reachability` turns each failure into one
WARNING naming ``host:port`` and the reason (connection refused, name not resolved, timeout, TLS failure,
...): at the first failure, again whenever the reason changes, and at most once a minute while it stays the
same. The recovery is logged too. ``connected`` and ``last_error`` feed the stats topic and the run summary.
"""

from __future__ import annotations

import errno
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable

log = logging.getLogger("edgecv.mqtt.client")

REPEAT_S = 60.0  # a reason that persists is repeated at most this often
SILENCE_S = 4.5  # nothing at all (no answer, no failure) this long after the start is a timeout, said so


def describe(exc: BaseException, timeout_s: float, tls: bool = False) -> str:
    """The reason a connection attempt raised ``exc``, in a few words a person acts on. ``tls``: the attempt
    included a TLS handshake (a plain MQTT port answers a TLS hello by closing the connection)."""
    if isinstance(exc, socket.gaierror):
        return f"name not resolved ({exc.strerror})" if exc.strerror else "name not resolved"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the broker running, and on this port?)"
    if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError since Python 3.10
        return f"timeout (no answer within {timeout_s:g} s)"
    if isinstance(exc, ssl.SSLCertVerificationError):
        # verify_message and reason are set by the ssl module on the errors it raises itself.
        why = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or exc.strerror or exc
        return f"TLS failure: {why} (check mqtt.tls.ca_file and the host name)"
    if isinstance(exc, ssl.SSLError):
        why = getattr(exc, "reason", None) or exc.strerror or exc
        return f"TLS failure: {why} (is mqtt.port a TLS port?)"
    if tls and isinstance(exc, ConnectionResetError | ConnectionAbortedError):
        return "TLS failure: the broker closed the connection during the handshake (is mqtt.port a TLS port?)"
    if isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return (exc.strerror or str(exc)).lower()
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


class Reachability:
    """The link's state as people and dashboards see it. Called on paho's network thread (and a timer)."""

    def __init__(self, where: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.where = where  # "host:port"
        self.clock = clock
        self.connected = False
        self.last_error: str | None = None
        self.failures = 0
        self._lock = threading.Lock()
        self._warned: str | None = None  # the reason last warned about, while unreachable
        self._warned_at = 0.0
        self._down_since: float | None = None  # since the start or the disconnect
        self._timer: threading.Timer | None = None

    def start(self, silence_s: float | None = None) -> None:
        """The first attempt starts now; a silence of ``silence_s`` (``SILENCE_S``) is reported as a timeout."""
        silence_s = SILENCE_S if silence_s is None else silence_s
        self._down_since = self.clock()
        self._timer = threading.Timer(silence_s, self._silence, args=(silence_s,))
        self._timer.daemon = True
        self._timer.start()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _silence(self, silence_s: float) -> None:
        with self._lock:
            if self.connected or self._warned is not None:
                return
        self.failed(f"timeout (no answer within {silence_s:g} s)")

    def failed(self, reason: str) -> None:
        """An attempt failed, or the link dropped before the broker accepted us."""
        now = self.clock()
        with self._lock:
            self.connected = False
            self.last_error = reason
            self.failures += 1
            if self._down_since is None:
                self._down_since = now
            changed = reason != self._warned
            if not changed and now - self._warned_at < REPEAT_S:
                return
            first = self._warned is None
            self._warned, self._warned_at = reason, now
            down_s = now - self._down_since
            attempts = self.failures
        if first:
            log.warning("mqtt: broker %s unreachable: %s; retrying in the background", self.where, reason)
        elif changed:
            log.warning("mqtt: broker %s still unreachable, now: %s", self.where, reason)
        else:
            log.warning(
                "mqtt: broker %s still unreachable after %.0f s (%d failed attempts): %s",
                self.where,
                down_s,
                attempts,
                reason,
            )

    def lost(self, reason: str) -> None:
        """A working link dropped (the disconnect itself is logged by the client)."""
        with self._lock:
            self.connected = False
            self.last_error = reason
            self._down_since = self.clock()
            self._warned = None  # the next failed attempt is a new outage, warned about at once
            self.failures = 0

    def up(self) -> None:
        """The broker accepted the connection."""
        now = self.clock()
        with self._lock:
            self.connected = True
            warned = self._warned is not None
            down_s = now - self._down_since if self._down_since is not None else 0.0
            self._warned, self._down_since, self.failures = None, None, 0
        if warned:
            log.info("mqtt: broker %s reachable again after %.1f s; sending what waited", self.where, down_s)
