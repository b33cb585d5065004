"""Fixtures that play systemd's and a camera's parts: a notify socket, an MJPEG server, edgecv subprocesses.

Handed out as fixtures, not imported: the suite runs with ``--import-mode=importlib``.
"""

from __future__ import annotations

import http.server
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


class NotifyListener:
    """A unix datagram socket standing in for systemd's ``$NOTIFY_SOCKET``; records every message."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.1)
        self.messages: list[tuple[float, dict[str, str]]] = []  # (monotonic time, fields)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            self.messages.append((time.monotonic(), fields))

    def times(self, key: str, value: str | None = None) -> list[float]:
        return [t for t, f in list(self.messages) if key in f and (value is None or f[key] == value)]

    def statuses(self) -> list[str]:
        return [f["STATUS"] for _, f in list(self.messages) if "STATUS" in f]

    def wait_for(self, key: str, value: str | None = None, timeout: float = 60, after: float = 0.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hits = [t for t in self.times(key, value) if t >= after]
            if hits:
                return hits[0]
            time.sleep(0.05)
        raise AssertionError(f"no {key}={value or '*'} within {timeout} s; got {self.messages[-10:]}")

    def wait_status(self, text: str, timeout: float = 60, after: float = 0.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for t, f in list(self.messages):
                if t >= after and text in f.get("STATUS", ""):
                    return t
            time.sleep(0.05)
        raise AssertionError(f"no STATUS containing {text!r} within {timeout} s; got {self.statuses()[-10:]}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def moving_box(i: int) -> np.ndarray:
    """The default scene: a red box sliding right on a changing grey, back to the left every 80 frames."""
    image = np.full((120, 160, 3), (i * 7) % 255, np.uint8)
    cv2.rectangle(image, (20 + i % 80, 30), (70 + i % 80, 100), (0, 0, 255), -1)
    return image


class MjpegServer:
    """``multipart/x-mixed-replace`` JPEG stream on loopback, like a cheap IP camera. ``stop()`` drops the
    listener and every client (a camera losing power); ``start()`` brings it back on the same port. While
    ``paused`` is set, frames stop but connections stay open (a stalled camera). ``draw(i)`` renders frame
    ``i`` of a connection (BGR)."""

    def __init__(self, fps: float = 20.0, draw: Callable[[int], np.ndarray] = moving_box) -> None:
        self.port = 0
        self.fps = fps
        self.draw = draw
        self.served = 0
        self._server: socketserver.ThreadingTCPServer | None = None
        self._alive = threading.Event()
        self.paused = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/stream.mjpg"

    def start(self) -> None:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                i = 0
                try:
                    while owner._alive.is_set():
                        if owner.paused.is_set():
                            time.sleep(0.05)
                            continue
                        jpeg = cv2.imencode(".jpg", owner.draw(i))[1].tobytes()
                        self.wfile.write(
                            b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpeg)
                            + jpeg
                            + b"\r\n"
                        )
                        owner.served += 1
                        i += 1
                        time.sleep(1 / owner.fps)
                except OSError:
                    pass

            def log_message(self, *args: object) -> None:
                pass

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        self._alive.set()
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        ).start()

    def stop(self) -> None:
        self._alive.clear()  # streaming handlers end their loop and close their connection
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class Edgecv:
    """``python -m edgecv ARGS`` as a child process with a clean ``EDGECV_`` environment."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        environ = {k: v for k, v in os.environ.items() if not k.upper().startswith("EDGECV_")}
        environ.update(env)
        # Through sh, as systemd would: WATCHDOG_PID names the process itself ($$ survives the exec).
        self.proc = subprocess.Popen(
            ["sh", "-c", 'export WATCHDOG_PID=$$; exec "$0" "$@"', sys.executable, "-m", "edgecv", *args],
            env=environ,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._stderr: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    def terminate(self) -> float:
        """SIGTERM; seconds until the process had exited."""
        start = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        return time.monotonic() - start

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifyListener]:
    listener = NotifyListener(tmp_path / "notify.sock")
    yield listener
    listener.close()


@pytest.fixture
def mjpeg_server() -> Iterator[MjpegServer]:
    server = MjpegServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mjpeg_factory() -> Iterator[Callable[..., MjpegServer]]:
    """``make(fps=..., draw=...)``: an MJPEG camera with its own scene, started, stopped after the test."""
    made: list[MjpegServer] = []

    def make(**kwargs: Any) -> MjpegServer:
        server = MjpegServer(**kwargs)
        server.start()
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()


@pytest.fixture
def spawn_edgecv(tmp_path: Path) -> Iterator[Callable[..., Edgecv]]:
    started: list[Edgecv] = []

    def spawn(*args: str, env: dict[str, str] | None = None) -> Edgecv:
        child = Edgecv(list(args), env or {}, REPO)
        started.append(child)
        return child

    yield spawn
    for child in started:
        child.kill()


@pytest.fixture
def detector_model(request: pytest.FixtureRequest) -> Path:
    """The bundled demo model when built (small and fast), else the shared YOLOv8n; skips without either."""
    demo = REPO / "models" / "demo_int8.tflite"
    if demo.exists():
        return demo
    return request.getfixturevalue("yolov8n")


@pytest.fixture
def looping_clip(tmp_path: Path) -> Path:
    """A 2 s MJPG clip of a moving red box (services loop it)."""
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (320, 240))
    for i in range(50):
        image = np.full((240, 320, 3), 90, np.uint8)
        cv2.rectangle(image, (40 + 3 * i, 60), (140 + 3 * i, 200), (0, 0, 255), -1)
        writer.write(image)
    writer.release()
    return path
