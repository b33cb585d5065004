"""The web view of a real ``edgecv run`` on the bundled demo clip: metrics, snapshot, auth, streams."""

from __future__ import annotations

import base64
import socket
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from .conftest import REPO, TOKEN, Reply, WebRun, bearer, get, web_config

DEMO_CLIP = REPO / "models" / "demo_clip.mp4"


def camera_name(run: WebRun) -> str:
    stats = get(run.url + "api/stats", bearer()).json()
    assert isinstance(stats, dict)
    (name,) = stats["cameras"]
    return name


def samples(reply: Reply) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(reply.body.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_parse_and_the_counters_grow(token_run: WebRun) -> None:
    camera = camera_name(token_run)
    frames_key = ("edgecv_frames_total", (("camera", camera),))
    first = samples(get(token_run.url + "metrics", bearer()))
    token_run.wait_for(
        lambda: samples(get(token_run.url + "metrics", bearer()))[frames_key] > first[frames_key] + 5,
        what="frames_total to grow",
    )
    second = samples(get(token_run.url + "metrics", bearer()))
    assert ("edgecv_dropped_frames_total", (("camera", camera),)) in second
    count = second[("edgecv_inference_seconds_count", ())]
    assert count > first[("edgecv_inference_seconds_count", ())]
    assert second[("edgecv_inference_seconds_bucket", (("le", "+Inf"),))] == count
    assert second[("edgecv_inference_seconds_sum", ())] > 0
    # The demo clip's shapes appear and leave: track events are counted per camera and kind.
    token_run.wait_for(
        lambda: (
            samples(get(token_run.url + "metrics", bearer())).get(
                ("edgecv_events_total", (("camera", camera), ("event", "new"))), 0
            )
            > 0
        ),
        what="a new track event",
    )
    # No MQTT sink in this run: its gauges are left out rather than read as a lost connection.
    assert not [key for key in second if key[0].startswith("edgecv_mqtt_")]


def test_snapshot_is_a_jpeg_of_the_source_size(token_run: WebRun) -> None:
    capture = cv2.VideoCapture(str(DEMO_CLIP))
    ok, first = capture.read()
    capture.release()
    assert ok
    camera = camera_name(token_run)
    for query in ("", "?raw=1", "?debug=1"):
        reply = get(token_run.url + f"api/cameras/{camera}/snapshot.jpg{query}", bearer())
        assert reply.status == 200 and reply.headers["content-type"] == "image/jpeg", query
        assert reply.body[:3] == b"\xff\xd8\xff"
        image = cv2.imdecode(np.frombuffer(reply.body, np.uint8), cv2.IMREAD_COLOR)
        assert image.shape == first.shape, query


def test_unknown_camera_and_page_are_404_json(token_run: WebRun) -> None:
    for path in ("api/cameras/nope/snapshot.jpg", "api/cameras/nope/stream.mjpeg", "nothing-here"):
        reply = get(token_run.url + path, bearer())
        assert reply.status == 404 and reply.headers["content-type"] == "application/json", path
        assert "error" in reply.json()  # type: ignore[operator]
    assert "known: " in get(token_run.url + "api/cameras/nope/snapshot.jpg", bearer()).json()["error"]  # type: ignore[index]


def test_token_auth_bearer_query_cookie_and_login_form(token_run: WebRun) -> None:
    url = token_run.url
    camera = camera_name(token_run)
    for path in ("", "api/stats", "healthz", "metrics", f"api/cameras/{camera}/snapshot.jpg"):
        assert get(url + path).status == 401, path
        assert get(url + path, {"Authorization": "Bearer wrong"}).status == 401, path
        assert get(url + path, bearer()).status == 200, path
    # A browser without a session gets the login form as the 401's body.
    page = get(url)
    assert b'name="token"' in page.body
    # ?token= on the page: a session cookie (HttpOnly) and a redirect that drops the token from the URL.
    reply = get(url + f"?token={TOKEN}")
    assert reply.status == 303 and reply.headers["location"] == "/"
    cookie = reply.headers["set-cookie"]
    assert "HttpOnly" in cookie and "edgecv_session=" in cookie
    session = {"Cookie": cookie.split(";")[0]}
    assert get(url + "api/stats", session).status == 200
    assert get(url + f"api/cameras/{camera}/snapshot.jpg", session).status == 200
    assert get(url + "api/stats", {"Cookie": "edgecv_session=9999999999.forged"}).status == 401
    # The login form posts the token and gets the same cookie.
    posted = get(url + "login", data=f"token={TOKEN}".encode())
    assert posted.status == 303 and "edgecv_session=" in posted.headers["set-cookie"]
    assert get(url + "login", data=b"token=wrong").status == 401


def test_stream_is_mjpeg_at_about_stream_fps(token_run: WebRun) -> None:
    camera = camera_name(token_run)
    host, port = token_run.url.split("//")[1].rstrip("/").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(
            f"GET /api/cameras/{camera}/stream.mjpeg HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode()
        )
        data = b""
        while data.count(b"Content-Type: image/jpeg") < 4:
            chunk = conn.recv(65536)
            assert chunk, data[:300]
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode()
    assert head.startswith("HTTP/1.1 200") and "multipart/x-mixed-replace; boundary=edgecv-frame" in head
    part = data.split(b"--edgecv-frame\r\n")[1]
    jpeg = part.split(b"\r\n\r\n", 1)[1]
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape[1] <= 640


def test_a_slow_mjpeg_reader_does_not_slow_the_run(token_run: WebRun) -> None:
    """A viewer that never reads: its worker waits on its own buffer, the pipeline runs on at the source's
    10 fps (no frame is dropped for it, the post thread never waits)."""
    camera = camera_name(token_run)
    host, port = token_run.url.split("//")[1].rstrip("/").split(":")
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect((host, int(port)))
    stuck.sendall(
        f"GET /api/cameras/{camera}/stream.mjpeg HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode()
    )
    try:
        frames = ("edgecv_frames_total", (("camera", camera),))
        before = samples(get(token_run.url + "metrics", bearer()))[frames]
        start = time.monotonic()
        time.sleep(4)
        after = samples(get(token_run.url + "metrics", bearer()))[frames]
        elapsed = time.monotonic() - start
        # 10 fps from the source: at least half of it even on a loaded machine; zero if anything blocked.
        assert after - before >= 0.5 * 10 * elapsed, (before, after, elapsed)
        # The server still answers everything else while the stuck viewer holds its worker.
        assert get(token_run.url + "healthz", bearer()).status == 200
        assert get(token_run.url + f"api/cameras/{camera}/snapshot.jpg", bearer()).status == 200
    finally:
        stuck.close()


def test_basic_auth(web_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    password = tmp_path / "password"
    password.write_text("hunter22\n")
    run = web_run(
        web_config(auth={"username": "viewer", "password_file": str(password)}), "--max-frames", "100000"
    )
    url = run.wait_url()
    denied = get(url + "api/stats")
    assert denied.status == 401 and denied.headers["www-authenticate"].startswith("Basic realm=")
    good = base64.b64encode(b"viewer:hunter22").decode()
    bad = base64.b64encode(b"viewer:wrong").decode()
    assert get(url + "api/stats", {"Authorization": f"Basic {bad}"}).status == 401
    assert get(url, {"Authorization": f"Basic {good}"}).status == 200
    assert get(url + "api/stats", {"Authorization": f"Basic {good}"}).status == 200


@pytest.mark.parametrize("bind", ["0.0.0.0", "192.0.2.10"])
def test_a_non_loopback_bind_without_auth_refuses_to_start(web_run, bind: str) -> None:  # type: ignore[no-untyped-def]
    run = web_run(web_config(bind=bind))
    assert run.proc.wait(120) == 2
    time.sleep(0.2)
    errors = [line for line in run.lines if line.startswith("edgecv: error:")]
    assert len(errors) == 1 and "web.auth" in errors[0] and "not loopback" in errors[0], run.stderr
    assert "Traceback" not in run.stderr


def test_a_port_in_use_is_a_one_line_error(web_run) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = web_run(web_config(port=port))
        assert run.proc.wait(120) == 2
    time.sleep(0.2)
    errors = [line for line in run.lines if line.startswith("edgecv: error:")]
    assert len(errors) == 1 and f"web.port {port}" in errors[0] and "in use" in errors[0], run.stderr
