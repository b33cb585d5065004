"""The listener: waitress on its own threads. Chosen for a Pi's memory: pure Python, no dependencies, 0.6 MB
of RSS imported and idle beside a run (cheroot 1.2, tornado 2.8, aiohttp 10.0: BENCHMARKS.md), a fixed pool
of worker threads, and output buffers with a high-water mark so that a slow viewer blocks only its own
worker."""

from __future__ import annotations

import errno
import logging
import threading
from typing import Any

from ..config.web import WebConfig
from ..errors import ConfigError

log = logging.getLogger(__name__)

# Each stream holds a worker for as long as it is watched; the rest answer pages, stats, health and metrics.
THREADS = 8
RESERVED_THREADS = 2  # never given to streams: /healthz and /metrics answer with every stream busy
# A stream's worker waits once this much is unsent to its viewer, then sends the newest frame: a slow
# viewer gets fewer frames, never older ones, and never more memory than this.
OUTBUF_HIGH_WATERMARK = 512 * 1024


class WebServer:
    def __init__(self, app: Any, config: WebConfig) -> None:
        self.app = app
        self.bind, self.port = config.bind, config.port
        self.stopping = threading.Event()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.bind}]" if ":" in self.bind else self.bind
        return f"http://{host}:{self.port}/"

    @property
    def stream_slots(self) -> int:
        return THREADS - RESERVED_THREADS

    def start(self) -> None:
        from waitress.server import create_server

        try:
            self._server = create_server(
                self.app,
                host=self.bind,
                port=self.port,
                threads=THREADS,
                ident="edgecv",
                outbuf_high_watermark=OUTBUF_HIGH_WATERMARK,
                clear_untrusted_proxy_headers=True,
                expose_tracebacks=False,
            )
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"web.port {self.port} on {self.bind} is already in use",
                    "stop what listens there, or set another web.port",
                ) from None
            raise ConfigError(
                f"web: cannot listen on {self.bind}:{self.port}: {exc.strerror or exc}",
                "check web.bind (an address of this machine) and web.port",
            ) from None
        if self.port == 0:  # tests ask for a free port
            self.port = int(self._server.effective_port)
        self._thread = threading.Thread(target=self._server.run, name="edgecv-web", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Close the listener and every connection; streams see ``stopping`` and end."""
        server = self._server
        if server is None:
            return
        self._server = None
        self.stopping.set()
        from waitress import wasyncore

        # The listener first (nobody new), then every connection: closing one wakes a worker that waits for
        # a viewer who stopped reading (waitress notifies it), so the workers end at once (streams notice
        # `stopping` between parts) instead of holding the stop for `timeout`. Then the loop ends.
        server.close()
        for channel in list(server.active_channels.values()):
            channel.handle_close()
        server.task_dispatcher.shutdown(timeout=timeout)
        wasyncore.close_all(server._map)
        if self._thread is not None:
            self._thread.join(timeout)
