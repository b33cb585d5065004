"""Credentials for a stream request: the URL's user and password as a Basic or Digest (MD5) ``Authorization``
header, the way FFmpeg sends them (RFC 7617, RFC 7616 / RFC 2617 with ``qop=auth``)."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from urllib.parse import SplitResult, unquote

_AUTH_PARAM = re.compile(r'(\w+)=("([^"]*)"|[^,\s]*)')


def request_target(parts: SplitResult) -> str:
    """The URL as sent on the wire: without credentials (they go in an ``Authorization`` header)."""
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme}://{netloc}{parts.path or '/'}{query}"


def request_path(parts: SplitResult) -> str:
    """An HTTP request's path and query."""
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def authorization(parts: SplitResult, scheme: str, challenge: str) -> str | None:
    """Basic or Digest (MD5) credentials for ``challenge``; ``None`` for a scheme the probe does not speak."""
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    kind, _, rest = challenge.partition(" ")
    if kind.lower() == "basic":
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    if kind.lower() != "digest":
        return None
    params = {m[1].lower(): m[3] if m[2].startswith('"') else m[2] for m in _AUTH_PARAM.finditer(rest)}
    if params.get("algorithm", "MD5").upper() != "MD5" or "nonce" not in params:
        return None
    method = "DESCRIBE" if scheme.startswith("rtsp") else "GET"
    uri = request_target(parts) if scheme.startswith("rtsp") else request_path(parts)
    realm, nonce = params.get("realm", ""), params["nonce"]
    ha1 = _md5(f"{user}:{realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    fields = [f'username="{user}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"']
    if "auth" in [qop.strip() for qop in params.get("qop", "").split(",")]:
        cnonce = _cnonce()
        fields += ["qop=auth", "nc=00000001", f'cnonce="{cnonce}"']
        fields.append(f'response="{_md5(f"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}")}"')
    else:
        fields.append(f'response="{_md5(f"{ha1}:{nonce}:{ha2}")}"')
    if "opaque" in params:
        fields.append(f'opaque="{params["opaque"]}"')
    return "Digest " + ", ".join(fields)


def _cnonce() -> str:
    return os.urandom(8).hex()


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()
