"""The web view's parts without a server: auth, config, the newest-shot board, the inference histogram and
the post thread's candidates hook."""

from __future__ import annotations

import base64
import dataclasses
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from edgecv.capture import open_source
from edgecv.config import SourceConfig
from edgecv.config.web import WebAuthConfig, WebConfig, credential_path, is_loopback
from edgecv.detect.detector import Detector, DetectParams
from edgecv.detections import Detections
from edgecv.errors import ConfigError
from edgecv.frame import Frame
from edgecv.output.base import SinkBase
from edgecv.pipeline.loop import CANDIDATES_MAX, Pipeline
from edgecv.pipeline.timing import StageTimes
from edgecv.web.auth import COOKIE, Credentials, Gate, read_secret
from edgecv.web.metrics import StageHistogram
from edgecv.web.newest import Newest

from .conftest import REPO


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_gate_token_basic_and_sessions() -> None:
    gate = Gate(Credentials("tok-123", "ann", "pw-456"))
    assert not gate.allows("", "")
    assert gate.allows("Bearer tok-123", "") and not gate.allows("Bearer tok-12", "")
    assert gate.allows(basic("ann", "pw-456"), "") and not gate.allows(basic("bob", "pw-456"), "")
    assert not gate.allows("Basic !!notbase64", "")
    cookie = gate.session_cookie().split(";")[0]
    assert gate.allows("", cookie)
    expiry, signature = cookie.split("=", 1)[1].split(".")
    assert not gate.allows("", f"{COOKIE}={int(expiry) + 1}.{signature}")  # a later expiry is not signed
    assert not Gate(gate.credentials).allows("", cookie)  # another process's key: logged out
    assert Gate(Credentials(None, None, None)).allows("", "")  # no auth configured: open (loopback)


def test_auth_config_pairs_and_loopback() -> None:
    with pytest.raises(ValidationError, match="web.auth.username needs web.auth.password_file"):
        WebAuthConfig(username="ann")
    with pytest.raises(ValidationError, match="web.auth.password_file needs web.auth.username"):
        WebAuthConfig(password_file=Path("pw"))
    assert not WebAuthConfig().enabled and WebAuthConfig(token_file=Path("t")).enabled
    for bind in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"):
        assert is_loopback(bind), bind
    for bind in ("0.0.0.0", "::", "192.168.1.5", "edgecv.local"):
        assert not is_loopback(bind), bind
    assert WebConfig().model_dump()["bind"] == "127.0.0.1" and WebConfig().port == 8080
    with pytest.raises(ValidationError, match="web.bind 0.0.0.0 is not loopback and web.auth is not set"):
        WebConfig(enabled=True, bind="0.0.0.0")
    WebConfig(enabled=True, bind="0.0.0.0", auth={"token_file": "t"})  # type: ignore[arg-type]
    WebConfig(enabled=False, bind="0.0.0.0")  # off: nothing is exposed


def test_credential_files_relative_to_credentials_directory(tmp_path: Path) -> None:
    (tmp_path / "web-token").write_text("abc\nignored\n")
    assert (
        credential_path(Path("web-token"), {"CREDENTIALS_DIRECTORY": str(tmp_path)}) == tmp_path / "web-token"
    )
    assert credential_path(Path("/etc/x"), {"CREDENTIALS_DIRECTORY": str(tmp_path)}) == Path("/etc/x")
    assert read_secret(tmp_path / "web-token", "web.auth.token_file") == "abc"
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        read_secret(tmp_path / "empty", "web.auth.token_file")
    with pytest.raises(ConfigError, match="web.auth.password_file: cannot read"):
        read_secret(tmp_path / "missing", "web.auth.password_file")


def frame(n: int, camera: str = "a") -> Frame:
    return Frame(np.zeros((4, 4, 3), np.uint8), seq=n, ts=0.0, source_id=camera)


def test_newest_keeps_a_reference_and_wakes_waiters() -> None:
    board = Newest()
    image_frame = frame(0)
    board.put(image_frame, Detections.empty())
    shot = board.get("a")
    assert shot is not None and shot.frame is image_frame and shot.number == 0  # no copy
    assert board.wait_after("a", 0, 0.05) is None
    got: list[int] = []
    waiter = threading.Thread(target=lambda: got.append(board.wait_after("a", 0, 5).number))  # type: ignore[union-attr]
    waiter.start()
    time.sleep(0.05)
    board.put(frame(1), Detections.empty())
    waiter.join(5)
    assert got == [1]
    # Candidates only while a debug viewer watches, and only for the frame they came with.
    assert not board.wants_candidates("a")
    board.debug_viewer("a", +1)
    assert board.wants_candidates("a")
    board.put_candidates("a", Detections.empty())
    board.put(frame(2), Detections.empty())
    assert board.get("a").candidates is not None  # type: ignore[union-attr]
    board.put(frame(3), Detections.empty())
    assert board.get("a").candidates is None  # type: ignore[union-attr]


def test_inference_histogram_folds_every_sample_once() -> None:
    timings = StageTimes(window=64)
    histogram = StageHistogram(timings, "inference", (0.01, 0.02, 0.05))
    rng = np.random.default_rng(0)
    seen = []
    for batch in (10, 60, 0, 33):  # each under the window: folded between batches, as the sink does
        values = rng.uniform(0, 0.08, batch)
        for value in values:
            timings.add("inference", float(value))
        seen.extend(values)
        histogram.fold()
    buckets, total = histogram.buckets()
    seen_array = np.array(seen)
    expected = [(seen_array <= edge).sum() for edge in (0.01, 0.02, 0.05)] + [len(seen)]
    assert [count for _, count in buckets] == expected
    assert [name for name, _ in buckets] == ["0.01", "0.02", "0.05", "+Inf"]
    assert total == pytest.approx(seen_array.sum())


class Candidates(SinkBase):
    """Wants candidates for the odd frames only."""

    def __init__(self) -> None:
        self.got: dict[int, Detections] = {}
        self.frames: list[tuple[int, Detections]] = []

    def wants_candidates(self, camera: str) -> bool:
        return len(self.frames) % 2 == 1

    def write_candidates(self, frame: Frame, candidates: Detections) -> None:
        self.got[frame.seq] = candidates

    def write_frame(self, frame: Frame, detections: Detections) -> None:
        self.frames.append((frame.seq, detections))


def test_the_post_thread_hands_candidates_below_the_threshold_when_asked() -> None:
    detector = Detector(
        REPO / "models" / "demo_int8.tflite",
        threads=1,
        labels=REPO / "models" / "demo_labels.txt",
        params=DetectParams(conf=0.93),
    )
    source = open_source(SourceConfig(uri=str(REPO / "models" / "demo_clip.mp4")), source_id="a")
    source.open()
    sink = Candidates()
    try:
        Pipeline(detector, [source], [sink], max_frames=12).run()
    finally:
        source.close()
    assert sorted(sink.got) == [seq for seq, _ in sink.frames if seq % 2 == 1]
    assert any(len(c) for c in sink.got.values())
    for candidates in sink.got.values():
        assert len(candidates) <= CANDIDATES_MAX
        assert (candidates.scores < 0.93).all() and (candidates.scores >= 0.05).all()
        assert (np.diff(candidates.scores) <= 0).all()  # best first
    for _, detections in sink.frames:
        assert (detections.scores >= 0.93).all()


def test_reconfigure_applies_rate_and_auth_live_and_moves_the_listener(tmp_path: Path) -> None:
    from edgecv.config import Settings
    from edgecv.pipeline.camera import Camera
    from edgecv.web.sink import WebSink

    from .conftest import get

    base = Settings(web={"enabled": True, "port": 0})
    source = open_source(SourceConfig(uri=str(REPO / "models" / "demo_clip.mp4")), source_id=base.mqtt.camera)
    sink = WebSink(
        base, Detector(REPO / "models" / "demo_int8.tflite").labels, [Camera(base.mqtt.camera, source)]
    )
    try:
        first = sink.server.url
        assert get(first + "api/stats").status == 200
        token = tmp_path / "token"
        token.write_text("t0ken-xyz\n")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        sink.reconfigure(
            Settings(web={"enabled": True, "port": port, "stream_fps": 2, "auth": {"token_file": str(token)}})
        )
        assert sink.config.stream_fps == 2
        moved = sink.server.url
        assert moved == f"http://127.0.0.1:{port}/"
        with pytest.raises(OSError):
            get(first + "api/stats", timeout=2)  # the old listener is closed
        assert get(moved + "api/stats").status == 401
        assert get(moved + "api/stats", {"Authorization": "Bearer t0ken-xyz"}).status == 200
        # A reload whose auth cannot be read changes nothing.
        with pytest.raises(ConfigError, match="cannot read"):
            sink.reconfigure(
                Settings(web={"enabled": True, "port": port, "auth": {"token_file": str(tmp_path / "nope")}})
            )
        assert sink.server.url == moved and sink.config.stream_fps == 2
        # Exposing the cameras without auth is refused at a reload too: by the config's validation, and
        # by the sink itself for settings built without it.
        with pytest.raises(ValidationError, match="not loopback"):
            Settings(web={"enabled": True, "bind": "0.0.0.0", "port": port})
        exposed = Settings.model_construct(
            web=WebConfig.model_construct(enabled=True, bind="0.0.0.0", port=port)
        )
        with pytest.raises(ConfigError, match="not loopback"):
            sink.reconfigure(exposed)
        assert get(moved + "api/stats", {"Authorization": "Bearer t0ken-xyz"}).status == 200
    finally:
        sink.close()


def read_parts(conn: socket.socket, count: int) -> list[bytes]:
    data = b""
    while data.count(b"--edgecv-frame\r\n") < count + 1:
        chunk = conn.recv(1 << 16)
        assert chunk, data[:200]
        data += chunk
    parts = data.split(b"--edgecv-frame\r\n")[1 : count + 1]
    return [part.split(b"\r\n\r\n", 1)[1][:-2] for part in parts]


def test_streams_share_encodes_shrink_to_stream_width_and_are_limited() -> None:
    import cv2

    from edgecv.config import Settings
    from edgecv.pipeline.camera import Camera
    from edgecv.web.sink import WebSink

    settings = Settings(web={"enabled": True, "port": 0, "stream_width": 320, "stream_fps": 20})
    name = settings.mqtt.camera
    source = open_source(SourceConfig(uri=str(REPO / "models" / "demo_clip.mp4")), source_id=name)
    sink = WebSink(settings, Detector(REPO / "models" / "demo_int8.tflite").labels, [Camera(name, source)])
    stop = threading.Event()

    def feed() -> None:
        n = 0
        while not stop.is_set():
            image = np.full((360, 480, 3), n % 255, np.uint8)
            sink.write_frame(Frame(image, seq=n, ts=time.time(), source_id=name), Detections.empty())
            n += 1
            time.sleep(0.02)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    host, port = "127.0.0.1", sink.server.port
    request = f"GET /api/cameras/{name}/stream.mjpeg HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    conns: list[socket.socket] = []
    try:
        for _ in range(2):
            conn = socket.create_connection((host, port), timeout=10)
            conn.sendall(request)
            conns.append(conn)
        parts = [read_parts(conn, 8) for conn in conns]
        for jpeg in parts[0] + parts[1]:
            assert cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape == (240, 320, 3)
        # Two viewers of one camera and mode share the encodes: about one per frame sent, not two.
        assert sink.renderer.encoded <= 8 + 4, sink.renderer.encoded
        # Streams take at most stream_slots workers; one more is told so, and the rest still answer.
        for _ in range(sink.server.stream_slots - 2):
            conn = socket.create_connection((host, port), timeout=10)
            conn.sendall(request)
            read_parts(conn, 1)
            conns.append(conn)
        from .conftest import get

        refused = get(f"http://{host}:{port}/api/cameras/{name}/stream.mjpeg")
        assert refused.status == 503 and "streams are open" in refused.json()["error"]  # type: ignore[index]
        assert get(f"http://{host}:{port}/healthz").status in (
            200,
            503,
        )  # answered, not queued behind streams
    finally:
        stop.set()
        for conn in conns:
            conn.close()
        sink.close()


def test_close_ends_every_worker_even_with_a_viewer_that_stopped_reading() -> None:
    from edgecv.config import Settings
    from edgecv.pipeline.camera import Camera
    from edgecv.web.sink import WebSink

    settings = Settings(web={"enabled": True, "port": 0, "stream_fps": 60})
    name = settings.mqtt.camera
    source = open_source(SourceConfig(uri=str(REPO / "models" / "demo_clip.mp4")), source_id=name)
    sink = WebSink(settings, Detector(REPO / "models" / "demo_int8.tflite").labels, [Camera(name, source)])
    noise = np.random.default_rng(0).integers(0, 255, (720, 1280, 3), np.uint8)  # big JPEGs fill buffers
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect(("127.0.0.1", sink.server.port))
    stuck.sendall(f"GET /api/cameras/{name}/stream.mjpeg?raw=1 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    try:
        # Feed until the stuck viewer's worker waits on its full buffer (frames stop being encoded for it).
        encoded, n = -1, 0
        while sink.renderer.encoded != encoded or n < 60:
            encoded = sink.renderer.encoded
            for _ in range(30):
                sink.write_frame(Frame(noise, seq=n, ts=time.time(), source_id=name), Detections.empty())
                n += 1
                time.sleep(0.02)
            assert n < 3000, "the stream never filled its buffer"
        sink.close()
        alive = [t.name for t in threading.enumerate() if t.name.startswith("waitress-")]
        assert alive == []
    finally:
        stuck.close()


def test_a_skipped_frame_shows_its_new_image_with_the_held_tracks() -> None:
    """Motion gating skipped the detector: the view keeps the last detection's boxes on the new image."""
    board = Newest()
    held = Detections(np.array([[0, 0, 2, 2]], np.float32), np.array([0.9], np.float32), np.array([1]))
    board.put(frame(0), held)
    skipped = dataclasses.replace(frame(1), skipped=True)
    board.put(skipped, Detections.empty())
    shot = board.get("a")
    assert shot is not None and shot.frame is skipped and shot.detections is held
    board.put(frame(2), Detections.empty())  # a detected frame with nothing in it shows nothing
    assert len(board.get("a").detections) == 0  # type: ignore[union-attr]
