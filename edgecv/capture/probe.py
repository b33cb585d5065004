"""Why a network stream does not open, found by edgecv itself: a name lookup, a TCP connect and one RTSP
``DESCRIBE`` (or HTTP ``GET``) with a short timeout.

OpenCV's FFmpeg backend only says "not opened", whatever happened, after waiting out its whole timeout for
some failures and none for others. The probe answers in one exchange, with a reason a person can act on:

=================  ==========================================================================
``unresolved``     the host name does not resolve (``.invalid`` names never do: RFC 6761)
``refused``        nothing listens on that port
``unreachable``    no route to the host
``timeout``        no connection, or no answer to the request, within the timeout
``unauthorized``   401 (or 403): no credentials in the URL, or the camera refused them
``not_found``      404: no stream at that path
``tls``            the TLS handshake of an ``rtsps://``/``https://`` URL failed
``codec``          it answers, but carries nothing FFmpeg decodes (named by the caller, from ``media``)
``status``         any other refusal (the status line is quoted)
=================  ==========================================================================

A stream that answers ``200`` has its media read from the SDP (RTSP) or its ``Content-Type`` (HTTP): when
FFmpeg fails anyway, that names the codec it cannot decode.

Two steps, because a camera may count a ``DESCRIBE`` as the start of a session (GStreamer's RTSP server
answers the next client ``503`` while it tears the probe's media down): :func:`reach` only resolves and
connects, before FFmpeg, and what it finds is *final* (FFmpeg is not tried, so the error comes at once,
not after FFmpeg's own timeout); :func:`diagnose` asks for the stream, only after FFmpeg failed, to say why.
"""

from __future__ import annotations

import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import SplitResult, unquote, urlsplit

from edgecv.capture.stream_auth import authorization, request_path, request_target

ProblemKind = Literal[
    "unresolved", "refused", "unreachable", "timeout", "unauthorized", "not_found", "tls", "codec", "status"
]
DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443}
MAX_HEADER_BYTES = 64 * 1024
_AddrInfo = tuple[Any, ...]  # one getaddrinfo entry: family, type, proto, canonname, address


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    message: str  # what was found, one line, no credentials
    hint: str  # what to do


@dataclass(frozen=True)
class ProbeResult:
    problem: Problem | None = None
    # What the stream carries: RTSP, the SDP's media/ENCODING (video/H264); HTTP, its Content-Type.
    media: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class _Reply:
    status: int
    reason: str
    headers: dict[str, str]  # lower-case names
    body: bytes


class _Timeout(Exception):
    """The deadline passed while ``stage`` ("resolve", "connect" or "answer") was waited for."""

    def __init__(self, stage: str) -> None:
        super().__init__(stage)
        self.stage = stage


@dataclass(frozen=True)
class _Target:
    parts: SplitResult
    scheme: str
    host: str
    port: int

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def _target(url: str) -> _Target | Problem:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme, 554)
    except ValueError:
        return Problem("status", "its port is not a number", "fix the port in the URL")
    return _Target(parts, scheme, parts.hostname or "", port)


def reach(url: str, timeout_s: float) -> Problem | None:
    """Can ``url``'s host be resolved and its port connected to within ``timeout_s``? Only a connection is
    made (and closed at once): nothing a camera could count as a session, so FFmpeg may follow right away.
    Every problem it returns is final."""
    target = _target(url)
    if isinstance(target, Problem):
        return target
    deadline = time.monotonic() + timeout_s
    try:
        addresses = _resolve(target.host, target.port, deadline)
        if isinstance(addresses, Problem):
            return addresses
        sock = _connect(addresses, target.where, deadline)
    except _Timeout as timeout:
        return _timed_out(target, timeout.stage, timeout_s)
    if isinstance(sock, Problem):
        return sock
    sock.close()
    return None


def diagnose(url: str, timeout_s: float, waited_s: float | None = None) -> ProbeResult:
    """Ask ``url`` for its stream the way FFmpeg does (RTSP ``DESCRIBE``, HTTP ``GET``; credentials from the
    URL, Basic or Digest), within ``timeout_s`` in all, and say what is wrong, or what it carries.

    ``waited_s``: how long the caller already waited for an answer (FFmpeg's timeout), for the message when
    the server accepts connections and still does not answer.
    """
    target = _target(url)
    if isinstance(target, Problem):
        return ProbeResult(target)
    parts, scheme = target.parts, target.scheme
    deadline = time.monotonic() + timeout_s
    try:
        addresses = _resolve(target.host, target.port, deadline)
        if isinstance(addresses, Problem):
            return ProbeResult(addresses)
        reply = _ask(parts, scheme, addresses, deadline, authorization=None)
        if isinstance(reply, Problem):
            return ProbeResult(reply)
        if reply.status == 401 and parts.username is not None:
            credentials = authorization(parts, scheme, reply.headers.get("www-authenticate", ""))
            if credentials is not None:
                reply = _ask(parts, scheme, addresses, deadline, credentials)
                if isinstance(reply, Problem):
                    return ProbeResult(reply)
    except _Timeout as timeout:
        return ProbeResult(_timed_out(target, timeout.stage, max(timeout_s, waited_s or 0.0)))
    return _judge(reply, parts, scheme)


def _timed_out(target: _Target, stage: str, waited_s: float) -> Problem:
    hint = "check that the camera is on and answers ping; on a slow link raise source.read_timeout_s"
    if stage == "resolve":
        found = f"looking up '{target.host}' got no answer within {waited_s:g} s"
        hint = "check the DNS server, or use the camera's IP address"
    elif stage == "connect":
        found = f"no answer from {target.where} within {waited_s:g} s"
    else:
        found = f"{target.where} accepts connections but did not answer within {waited_s:g} s"
        hint = "check that the port is the camera's stream port, RTSP usually 554, or restart the camera"
    return Problem("timeout", found, hint)


def _resolve(host: str, port: int, deadline: float) -> list[_AddrInfo] | Problem:
    unresolved = Problem(
        "unresolved",
        f"host name '{host}' not resolved",
        "check the host name in the URL, or use the camera's IP address",
    )
    if not host:
        return Problem("unresolved", "the URL names no host", "write it as rtsp://HOST[:PORT]/PATH")
    if host.lower().rstrip(".").endswith(".invalid") or host.lower() == "invalid":
        return unresolved  # RFC 6761: never resolves, and is not sent to a DNS server to find that out
    # getaddrinfo has no timeout of its own: it runs in a thread that is abandoned when the deadline passes.
    found: list[list[_AddrInfo] | BaseException] = []
    lookup = threading.Thread(
        target=lambda: found.append(_getaddrinfo(host, port)), name="edgecv-resolve", daemon=True
    )
    lookup.start()
    lookup.join(max(0.0, deadline - time.monotonic()))
    if not found:
        raise _Timeout("resolve")
    answer = found[0]
    if isinstance(answer, socket.gaierror):
        return unresolved
    if isinstance(answer, BaseException):
        return Problem("unresolved", f"looking up '{host}' failed: {answer}", unresolved.hint)
    return answer


def _getaddrinfo(host: str, port: int) -> list[_AddrInfo] | BaseException:
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return exc


def _connect(addresses: list[_AddrInfo], where: str, deadline: float) -> socket.socket | Problem:
    refused: Problem | None = None
    for family, kind, proto, _, address in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Timeout("connect")
        sock = socket.socket(family, kind, proto)
        sock.settimeout(remaining)
        try:
            sock.connect(address)
            return sock
        except TimeoutError:
            sock.close()
            raise _Timeout("connect") from None
        except ConnectionRefusedError:
            sock.close()
            refused = Problem(
                "refused",
                f"connection refused by {where}",
                "nothing listens on that port: check the port in the URL and that the camera's "
                "RTSP/HTTP service is enabled",
            )
        except OSError as exc:
            sock.close()
            refused = refused or Problem(
                "unreachable",
                f"{where} is unreachable: {exc.strerror or exc}",
                "check the address and the network between here and the camera",
            )
    assert refused is not None  # getaddrinfo never returns an empty list
    return refused


def _ask(
    parts: SplitResult, scheme: str, addresses: list[_AddrInfo], deadline: float, authorization: str | None
) -> _Reply | Problem:
    """One request on a fresh connection: ``DESCRIBE`` for RTSP, ``GET`` (headers only) for HTTP."""
    host = parts.hostname or ""
    where = f"{host}:{parts.port or DEFAULT_PORTS.get(scheme, 554)}"
    sock = _connect(addresses, where, deadline)
    if isinstance(sock, Problem):
        return sock
    try:
        if scheme in ("rtsps", "https"):
            # Unverified, as FFmpeg's default (tls_verify=0): only whether TLS works is asked here.
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            try:
                sock = context.wrap_socket(sock, server_hostname=host)
            except ssl.SSLError as exc:
                return Problem(
                    "tls",
                    f"TLS handshake with {where} failed: {exc.reason or exc}",
                    "check that the port speaks TLS for rtsps:// or https://, or use rtsp:// or http://",
                )
        sock.sendall(_request(parts, scheme, authorization))
        return _read_reply(sock, deadline, read_body=scheme.startswith("rtsp"))
    except TimeoutError:
        raise _Timeout("answer") from None
    except OSError as exc:
        return Problem(
            "status",
            f"{where}: {exc.strerror or exc}",
            "check that the URL's scheme and port are the camera's stream port, RTSP usually 554",
        )
    finally:
        sock.close()


def _request(parts: SplitResult, scheme: str, authorization: str | None) -> bytes:
    auth = f"Authorization: {authorization}\r\n" if authorization else ""
    if scheme.startswith("rtsp"):
        head = f"DESCRIBE {request_target(parts)} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n"
    else:
        head = f"GET {request_path(parts)} HTTP/1.1\r\nHost: {parts.netloc.rpartition('@')[2]}\r\nConnection: close\r\n"
    return (head + "User-Agent: edgecv\r\n" + auth + "\r\n").encode()


def _read_reply(sock: socket.socket, deadline: float, read_body: bool) -> _Reply:
    data = b""
    while b"\r\n\r\n" not in data:
        data += _recv(sock, deadline)
        if len(data) > MAX_HEADER_BYTES:
            break
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    match = re.match(r"(?:RTSP|HTTP)/\d(?:\.\d)?\s+(\d{3})\s*(.*)", lines[0])
    if match is None:
        raise OSError(0, f"answered in neither RTSP nor HTTP: {lines[0][:60]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        # Several WWW-Authenticate lines: keep the first (cameras list Digest first, or only Basic).
        headers.setdefault(name.strip().lower(), value.strip())
    declared = headers.get("content-length", "")
    length = int(declared) if read_body and declared.isdigit() else 0
    while len(body) < min(length, MAX_HEADER_BYTES):
        body += _recv(sock, deadline)
    return _Reply(int(match[1]), match[2].strip(), headers, body)


def _recv(sock: socket.socket, deadline: float) -> bytes:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _Timeout("answer")
    sock.settimeout(remaining)
    chunk = sock.recv(4096)
    if not chunk:
        raise OSError(0, "closed the connection before answering")
    return chunk


def _judge(reply: _Reply, parts: SplitResult, scheme: str) -> ProbeResult:
    status = reply.status
    if status in (401, 403):
        if parts.username is None:
            found = "the camera asks for a user name and password"
            hint = "put them in the URL: rtsp://USER:PASSWORD@HOST/PATH"
        else:
            found = f"the camera refused user '{unquote(parts.username)}'"
            hint = "check the user name and password in the URL; %-encode special characters in them"
        return ProbeResult(Problem("unauthorized", f"{status} unauthorized: {found}", hint))
    if status == 404:
        return ProbeResult(
            Problem(
                "not_found",
                f"404 not found: no stream at path '{parts.path or '/'}'",
                "check the path in the URL; the camera's manual or web page names its stream paths",
            )
        )
    if status >= 400:
        return ProbeResult(
            Problem("status", f"the camera answered {status} {reply.reason}".rstrip(), "check the URL")
        )
    if scheme.startswith("rtsp"):
        return ProbeResult(media=sdp_media(reply.body.decode("latin-1")))
    content_type = reply.headers.get("content-type", "").split(";")[0].strip()
    return ProbeResult(media=(content_type,) if content_type else ())


def sdp_media(sdp: str) -> tuple[str, ...]:
    """What an SDP offers, as ``media/ENCODING`` (``video/H264``, ``audio/PCMA``, ``application/X-GST``);
    static payload types (26: JPEG) named by their RFC 3551 names."""
    static = {"0": "PCMU", "8": "PCMA", "26": "JPEG", "32": "MPV", "34": "H263"}
    found: list[str] = []
    media, types = "", [""]
    for line in sdp.splitlines():
        if line.startswith("m="):
            fields = line[2:].split()
            media, types = (fields[0], fields[3:]) if len(fields) > 3 else ("", [])
            found += [f"{media}/{static[pt]}" for pt in types if pt in static]
        elif media and line.startswith("a=rtpmap:"):
            pt, _, encoding = line[len("a=rtpmap:") :].partition(" ")
            if pt in types and pt not in static:
                found.append(f"{media}/{encoding.split('/')[0]}")
    return tuple(dict.fromkeys(found))
