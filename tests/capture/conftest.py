"""Small media files made on the fly: capture tests never depend on a camera or on ../shared.

Helpers are handed out as the ``media`` fixture rather than imported: the suite runs with
``--import-mode=importlib``, where test folders are not on ``sys.path``.
"""

from __future__ import annotations

import select
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest


class SyntheticMedia:
    """Frame i is a flat grey of ``level(i)``: its index survives lossy compression and is read back."""

    size = (64, 48)  # width, height
    step = 20

    def level(self, index: int) -> int:
        return 10 + index * self.step

    def index_of(self, image: np.ndarray) -> int:
        return round((float(image.mean()) - 10) / self.step)

    def image(self, index: int) -> np.ndarray:
        return np.full((self.size[1], self.size[0], 3), self.level(index), np.uint8)

    def write_video(self, path: Path, frames: int, fourcc: str = "MJPG") -> Path:
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 25, self.size)
        assert writer.isOpened(), f"this OpenCV cannot write {fourcc}"
        for i in range(frames):
            writer.write(self.image(i))
        writer.release()
        return path


@pytest.fixture
def media() -> SyntheticMedia:
    return SyntheticMedia()


@pytest.fixture
def video(tmp_path: Path, media: SyntheticMedia) -> Path:
    """A 10-frame MJPG clip; frame i is ``media.image(i)``."""
    return media.write_video(tmp_path / "clip.avi", 10)


@pytest.fixture
def image_dir(tmp_path: Path, media: SyntheticMedia) -> Path:
    """a.png … d.png holding images 0 … 3, plus a non-image file that must be ignored."""
    folder = tmp_path / "shots"
    folder.mkdir()
    for i, name in enumerate(["a.png", "b.png", "c.png", "d.png"]):
        cv2.imwrite(str(folder / name), media.image(i))
    (folder / "notes.txt").write_text("not an image")
    return folder


SYSTEM_PYTHON = (
    "/usr/bin/python3"  # Debian's, with python3-gi: the RTSP server's bindings are not in the venv
)
RTSP_SERVER = Path(__file__).with_name("rtsp_server.py")
RTSP_INSTALL = "apt-get install gir1.2-gst-rtsp-server-1.0 (as root; or: make test)"


class RtspServer:
    """``tests/capture/rtsp_server.py`` in the system Python: a loopback RTSP camera at ``/cam``."""

    def __init__(self, codec: str, credentials: str | None) -> None:
        args = [SYSTEM_PYTHON, str(RTSP_SERVER), codec, *([credentials] if credentials else [])]
        # stdin is the leash: the server quits when it closes, so it never outlives the test. Its stderr goes
        # to a file: a pipe nobody reads could fill up and stall it.
        self.errors = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errors, text=True
        )
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], 20)
        line = self.process.stdout.readline() if ready else ""
        if not line.strip().isdigit():
            self.stop()
            self.errors.seek(0)
            raise RuntimeError(f"RTSP server did not start: {line!r} {self.errors.read()[-2000:]}")
        self.port = int(line)

    def url(self, path: str = "/cam", userinfo: str = "") -> str:
        return f"rtsp://{userinfo + '@' if userinfo else ''}127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.errors.close()


@pytest.fixture(scope="session")
def rtsp_available() -> None:
    """Skips without the system GStreamer RTSP server (``make test`` installs it)."""
    probe = (
        "import gi; gi.require_version('GstRtspServer', '1.0'); "
        "from gi.repository import GstRtspServer, Gst; Gst.init(None); "
        "assert Gst.ElementFactory.find('vp8enc') and Gst.ElementFactory.find('videotestsrc')"
    )
    if not Path(SYSTEM_PYTHON).exists():
        pytest.skip(f"no {SYSTEM_PYTHON}: {RTSP_INSTALL}")
    done = subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True, timeout=30, check=False)
    if done.returncode != 0:
        pytest.skip(f"GStreamer's RTSP server is missing: {RTSP_INSTALL}")


@pytest.fixture
def rtsp_server(rtsp_available: None) -> Iterator[Callable[..., RtspServer]]:
    """``make(codec="vp8", credentials=None)``: a started RTSP camera, stopped after the test."""
    made: list[RtspServer] = []

    def make(codec: str = "vp8", credentials: str | None = None) -> RtspServer:
        server = RtspServer(codec, credentials)
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (the kernel's backlog) and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound once to find it free, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
