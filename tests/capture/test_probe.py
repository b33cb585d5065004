"""edgecv's own stream probe, on loopback HTTP servers and canned answers (the RTSP server cases, through
``edgecv run``, are in test_stream_errors.py)."""

from __future__ import annotations

import http.server
import socketserver
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from edgecv.capture import probe, stream_auth
from edgecv.capture.opencv import undecodable
from edgecv.capture.probe import ProbeResult, diagnose, reach, sdp_media


class Answers(http.server.BaseHTTPRequestHandler):
    """``/web`` a web page, ``/locked`` 401 unless Basic ``admin:pw``, anything else 404."""

    def do_GET(self) -> None:
        if self.path == "/web":
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
        elif self.path == "/locked" and self.headers.get("Authorization") != "Basic YWRtaW46cHc=":
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="cam"')
        elif self.path == "/locked":
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        else:
            self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_camera() -> Iterator[str]:
    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Answers)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_answers_are_classified(http_camera: str) -> None:
    missing = diagnose(f"http://{http_camera}/nope", 2).problem
    assert missing is not None and missing.kind == "not_found"
    asked = diagnose(f"http://{http_camera}/locked", 2).problem
    assert asked is not None and asked.kind == "unauthorized" and "asks for a user name" in asked.message
    refused = diagnose(f"http://admin:wrong@{http_camera}/locked", 2).problem
    assert refused is not None and "refused user 'admin'" in refused.message
    assert diagnose(f"http://admin:pw@{http_camera}/locked", 2) == ProbeResult(
        media=("multipart/x-mixed-replace",)
    )
    page = undecodable(diagnose(f"http://{http_camera}/web", 2))
    assert "web page (text/html)" in page.message


def test_reach_connects_only(http_camera: str, closed_port: int) -> None:
    assert reach(f"http://{http_camera}/anything", 2) is None
    refused = reach(f"rtsp://127.0.0.1:{closed_port}/cam", 2)
    assert refused is not None and refused.kind == "refused"
    unresolved = reach("rtsp://cam.invalid/x", 2)
    assert unresolved is not None and unresolved.kind == "unresolved"


def test_timeout_names_what_was_waited_for(silent_port: int) -> None:
    found = diagnose(f"rtsp://127.0.0.1:{silent_port}/cam", 0.3, waited_s=5).problem
    assert found is not None and found.kind == "timeout"
    assert found.message == f"127.0.0.1:{silent_port} accepts connections but did not answer within 5 s"


def test_sdp_media_names_video_audio_and_static_payloads() -> None:
    sdp = "\r\n".join(
        [
            "v=0",
            "m=video 0 RTP/AVP 96",
            "a=rtpmap:96 H265/90000",
            "m=audio 0 RTP/AVP 8",
            "m=video 0 RTP/AVP 26",
            "m=application 0 RTP/AVP 107",
            "a=rtpmap:107 vnd.onvif.metadata/90000",
        ]
    )
    assert sdp_media(sdp) == ("video/H265", "audio/PCMA", "video/JPEG", "application/vnd.onvif.metadata")
    assert "its video is H265, JPEG" in undecodable(ProbeResult(media=sdp_media(sdp))).message


def test_digest_response_matches_rfc_2617(monkeypatch: pytest.MonkeyPatch) -> None:
    # RFC 2617 section 3.5's worked example.
    monkeypatch.setattr(stream_auth, "_cnonce", lambda: "0a4f113b")
    parts = urlsplit("http://Mufasa:Circle%20Of%20Life@host.com/dir/index.html")
    challenge = (
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    header = stream_auth.authorization(parts, "http", challenge)
    assert header is not None and 'response="6629fae49393a05397450978507c4ef1"' in header
    assert 'opaque="5ccc069c403ebaf9f0171e9517f40e41"' in header


def test_request_target_drops_credentials() -> None:
    parts = urlsplit("rtsp://admin:secret@[fe80::1]:8554/live?ch=1")
    assert stream_auth.request_target(parts) == "rtsp://[fe80::1]:8554/live?ch=1"
    assert b"secret" not in probe._request(parts, "rtsp", None)
