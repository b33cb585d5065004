"""/healthz follows the watchdog: 200 while frames flow, 503 with each camera's state and reason when a live
camera stops delivering (connection open, no frames), 200 again when it resumes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..service.conftest import MjpegServer
from .conftest import REPO, WebRun, get


@pytest.fixture
def camera() -> Iterator[MjpegServer]:
    server = MjpegServer()
    server.start()
    yield server
    server.stop()


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
