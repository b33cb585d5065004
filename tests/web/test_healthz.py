"""/healthz follows the watchdog: 200 while frames flow, 503 with each camera's state and reason when a live
camera stops delivering (connection open, no frames), 200 again when it resumes."""

from __future__ import annotations

import http.server
import socketserver
import threading
import time
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from .conftest import REPO, WebRun, get


class PausableMjpeg:
    """A loopback MJPEG camera whose frames stop while ``paused`` is set, its connections left open."""

    def __init__(self) -> None:
        self.paused = threading.Event()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                i = 0
                try:
                    while True:
                        if owner.paused.is_set():
                            time.sleep(0.05)
                            continue
                        image = np.full((120, 160, 3), (i * 7) % 255, np.uint8)
                        cv2.rectangle(image, (20 + i % 80, 30), (70 + i % 80, 100), (0, 0, 255), -1)
                        jpeg = cv2.imencode(".jpg", image)[1].tobytes()
                        self.wfile.write(
                            b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpeg)
                            + jpeg
                            + b"\r\n"
                        )
                        i += 1
                        time.sleep(0.05)
                except OSError:
                    pass

            def log_message(self, *args: object) -> None:
                pass

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/stream.mjpg"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def camera() -> Iterator[PausableMjpeg]:
    server = PausableMjpeg()
    yield server
    server.close()


def health(run: WebRun) -> tuple[int, dict]:
    reply = get(run.url + "healthz")
    body = reply.json()
    assert isinstance(body, dict)
    return reply.status, body


def test_healthz_turns_503_when_the_source_stalls_and_200_when_it_resumes(web_run, camera) -> None:  # type: ignore[no-untyped-def]
    run = web_run(
        {
            "source": {"uri": camera.url, "read_timeout_s": 1.0},
            "model": {
                "path": str(REPO / "models" / "demo_int8.tflite"),
                "labels": str(REPO / "models" / "demo_labels.txt"),
            },
            "output": {"stdout": "off"},
            "service": {"stall_s": 1},
            "web": {"enabled": True, "port": 0},
        }
    )
    run.wait_url()
    run.wait_for(lambda: health(run)[0] == 200, what="frames to flow")
    status, body = health(run)
    ((name, state),) = body["cameras"].items()
    assert (
        status == 200 and body["status"] == "ok" and state["flowing"] is True and state["state"] == "running"
    )
    camera.paused.set()
    run.wait_for(lambda: health(run)[0] == 503, what="/healthz to turn 503")
    status, body = health(run)
    state = body["cameras"][name]
    assert status == 503 and body["status"] == "unavailable" and state["flowing"] is False
    assert state["state"] in ("stalled", "reconnecting") and state["reason"].startswith(state["state"])
    camera.paused.clear()
    run.wait_for(lambda: health(run)[0] == 200, what="/healthz to recover")
