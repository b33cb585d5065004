"""The URL contract, as a WSGI application (waitress runs it on its worker threads):

``/`` the page; ``/login`` the token form; ``/api/cameras/<camera>/stream.mjpeg`` and ``snapshot.jpg``
(``?raw=1`` plain, ``?debug=1`` with candidates under the threshold); ``/api/stats``; ``/healthz``;
``/metrics``. Every one needs auth when auth is configured; an unknown camera is a 404 JSON.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

from .render import Mode

if TYPE_CHECKING:
    from .sink import WebSink

StartResponse = Callable[..., Any]
Environ = dict[str, Any]

BOUNDARY = "edgecv-frame"
WAIT_S = 1.0  # a stream looks at the stop flag this often while no frame comes
RESEND_S = 5.0  # a stalled camera's last frame is sent again this often: a gone viewer is noticed
SNAPSHOT_WAIT_S = 3.0  # how long a snapshot waits for a camera's first frame (or, debug, its next one)
JSON = "application/json"


def _page(name: str) -> bytes:
    return resources.files("edgecv.web").joinpath(name).read_bytes()


class WebApp:
    def __init__(self, site: WebSink) -> None:
        self.site = site
        self._streams = 0
        self._lock = threading.Lock()
        self.page = _page("page.html")
        self.login = _page("login.html")

    # -- plumbing ---------------------------------------------------------------------------------------

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        gate = self.site.gate
        extra: list[tuple[str, str]] = []
        if path == "/login" and method == "POST":
            return self._login(environ, start_response)
        if method not in ("GET", "HEAD"):
            return self._json(start_response, 405, {"error": f"{method} is not allowed here; use GET"})
        allowed = gate.allows(environ.get("HTTP_AUTHORIZATION", ""), environ.get("HTTP_COOKIE", ""))
        token = query.pop("token", None)
        if not allowed and token is not None and gate.token_ok(token):
            allowed = True
            extra.append(("Set-Cookie", gate.session_cookie()))
            if path == "/":  # the token leaves the address bar (and the browser's history)
                rest = f"?{urlencode(query)}" if query else ""
                start_response("303 See Other", [("Location", "/" + rest), *extra])
                return [b""]
        if path == "/login":
            return self._send(start_response, 200, "text/html; charset=utf-8", self.login)
        if not allowed:
            if path == "/" and gate.credentials.token is not None:
                # A browser without a session: the login form, as the body of the 401.
                return self._send(
                    start_response, 401, "text/html; charset=utf-8", self.login, gate.challenge()
                )
            return self._json(start_response, 401, {"error": "authentication required"}, gate.challenge())
        return self._route(path, method, query, start_response, extra)

    def _route(
        self,
        path: str,
        method: str,
        query: dict[str, str],
        start_response: StartResponse,
        extra: list[tuple[str, str]],
    ) -> Iterable[bytes]:
        site = self.site
        if path == "/":
            return self._send(start_response, 200, "text/html; charset=utf-8", self.page, extra)
        if path == "/api/stats":
            return self._json(start_response, 200, site.stats(), extra)
        if path == "/healthz":
            healthy, body = site.health()
            return self._json(start_response, 200 if healthy else 503, body, extra)
        if path == "/metrics":
            return self._send(
                start_response, 200, "text/plain; version=0.0.4; charset=utf-8", site.metrics.render(), extra
            )
        parts = path.strip("/").split("/")
        if (
            len(parts) == 4
            and parts[:2] == ["api", "cameras"]
            and parts[3] in ("stream.mjpeg", "snapshot.jpg")
        ):
            camera = parts[2]
            if site.camera(camera) is None:
                known = ", ".join(site.names)
                return self._json(
                    start_response, 404, {"error": f"unknown camera {camera!r}; known: {known}"}
                )
            mode = (
                Mode.RAW if _flag(query, "raw") else Mode.DEBUG if _flag(query, "debug") else Mode.ANNOTATED
            )
            if parts[3] == "snapshot.jpg":
                return self._snapshot(camera, mode, start_response, extra)
            return self._stream(camera, mode, start_response, extra, head=method == "HEAD")
        return self._json(start_response, 404, {"error": f"no such page {path!r}"})

    @staticmethod
    def _send(
        start_response: StartResponse,
        status: int,
        content_type: str,
        body: bytes,
        extra: Iterable[tuple[str, str]] = (),
    ) -> list[bytes]:
        headers = [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            *extra,
        ]
        start_response(f"{status} {_REASONS[status]}", headers)
        return [body]

    def _json(
        self, start_response: StartResponse, status: int, body: Any, extra: Iterable[tuple[str, str]] = ()
    ) -> list[bytes]:
        return self._send(start_response, status, JSON, json.dumps(body).encode(), extra)

    def _login(self, environ: Environ, start_response: StartResponse) -> list[bytes]:
        try:
            length = min(int(environ.get("CONTENT_LENGTH") or 0), 4096)
        except ValueError:
            length = 0
        form = parse_qs(environ["wsgi.input"].read(length).decode(errors="replace"))
        token = form.get("token", [""])[-1]
        gate = self.site.gate
        if not gate.token_ok(token):
            time.sleep(0.5)  # a guess costs time
            return self._send(start_response, 401, "text/html; charset=utf-8", self.login, gate.challenge())
        start_response("303 See Other", [("Location", "/"), ("Set-Cookie", gate.session_cookie())])
        return [b""]

    # -- images -----------------------------------------------------------------------------------------

    def _snapshot(
        self, camera: str, mode: Mode, start_response: StartResponse, extra: list[tuple[str, str]]
    ) -> list[bytes]:
        site = self.site
        newest = site.newest
        if mode is Mode.DEBUG:
            # Candidates come with the frames decoded while someone asks for them: wait for the next one.
            newest.debug_viewer(camera, +1)
            try:
                current = newest.get(camera)
                shot = newest.wait_after(camera, current.number if current else -1, SNAPSHOT_WAIT_S)
            finally:
                newest.debug_viewer(camera, -1)
        else:
            shot = newest.get(camera) or newest.wait_after(camera, -1, SNAPSHOT_WAIT_S)
        if shot is None:
            return self._json(
                start_response, 503, {"error": f"camera {camera!r} has sent no frame yet"}, extra
            )
        # The source's size: snapshots are for looking closely (stream_width is the streams' own).
        body = site.renderer.jpeg(camera, shot, mode, None)
        return self._send(start_response, 200, "image/jpeg", body, extra)

    def _stream(
        self,
        camera: str,
        mode: Mode,
        start_response: StartResponse,
        extra: list[tuple[str, str]],
        head: bool = False,
    ) -> Iterable[bytes]:
        server = self.site.server
        with self._lock:
            if self._streams >= server.stream_slots:
                busy = self._streams
            else:
                busy = None
                self._streams += 1
        if busy is not None:
            return self._json(
                start_response,
                503,
                {"error": f"{busy} streams are open, the most this device serves; close one"},
                extra,
            )
        headers = [
            ("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}"),
            ("Cache-Control", "no-store"),
            *extra,
        ]
        start_response("200 OK", headers)
        if head:  # the headers only: a stream's body never ends
            self.stream_closed()
            return [b""]
        return _Stream(self, camera, mode, server.stopping)

    def stream_closed(self) -> None:
        with self._lock:
            self._streams -= 1


class _Stream:
    """One viewer's MJPEG parts: the newest shot each time, at most stream_fps (read each time: a reload's
    new rate applies to open streams). An iterator with ``close`` (not a generator), so that a viewer gone
    before its first part still gives its slot back: the server calls ``close`` either way."""

    def __init__(self, app: WebApp, camera: str, mode: Mode, stopping: threading.Event) -> None:
        self.app, self.site = app, app.site
        self.camera, self.mode, self.stopping = camera, mode, stopping
        self.sent = -1
        self.sent_at = self.next_at = 0.0
        self.closed = False
        if mode is Mode.DEBUG:
            self.site.newest.debug_viewer(camera, +1)

    def __iter__(self) -> _Stream:
        return self

    def __next__(self) -> bytes:
        site, newest, camera = self.site, self.site.newest, self.camera
        while not self.stopping.is_set() and not self.closed:
            shot = newest.wait_after(camera, self.sent, WAIT_S)
            now = time.monotonic()
            if shot is None:
                shot = newest.get(camera)
                if shot is None or now - self.sent_at < RESEND_S:
                    continue
            elif now < self.next_at:
                # Too soon: sleep to the slot, then send whatever is newest then.
                time.sleep(self.next_at - now)
                shot = newest.get(camera) or shot
                now = time.monotonic()
            data = site.renderer.jpeg(camera, shot, self.mode, site.config.stream_width)
            period = 1.0 / site.config.stream_fps
            self.sent, self.sent_at = shot.number, now
            self.next_at = max(self.next_at + period, now + period / 2)
            head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n\r\n"
            return head.encode() + data + b"\r\n"
        raise StopIteration

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.mode is Mode.DEBUG:
            self.site.newest.debug_viewer(self.camera, -1)
        self.app.stream_closed()


def _flag(query: dict[str, str], name: str) -> bool:
    return query.get(name, "0").lower() not in ("0", "false", "no", "off", "")


_REASONS = {
    200: "OK",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    503: "Service Unavailable",
}
