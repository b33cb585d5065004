"""Who may look: a token (``Authorization: Bearer``, ``?token=`` or the login form, the last two setting an
HttpOnly session cookie that ``<img>`` streams carry) and/or HTTP basic auth. Secrets are compared in
constant time; sessions are signed with a key made at start (a restart logs everyone out), so the server
keeps no session table."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from pathlib import Path

from ..config.web import WebAuthConfig, credential_path
from ..credentials import first_line
from ..errors import ConfigError

COOKIE = "edgecv_session"
SESSION_S = 7 * 24 * 3600
REALM = "edgecv"


def read_secret(path: Path, key: str) -> str:
    """The first line of a credential file; a one-line ConfigError when it is missing or empty."""
    where = credential_path(path)
    value = first_line(
        where,
        f"{key}: cannot read {where}",
        "give a readable file (relative paths are looked up in $CREDENTIALS_DIRECTORY)",
    ).strip()
    if not value:
        raise ConfigError(f"{key}: {where} is empty", "put the secret on its first line")
    return value


@dataclass(frozen=True)
class Credentials:
    token: str | None
    username: str | None
    password: str | None

    @classmethod
    def load(cls, config: WebAuthConfig) -> Credentials:
        token = read_secret(config.token_file, "web.auth.token_file") if config.token_file else None
        password = (
            read_secret(config.password_file, "web.auth.password_file") if config.password_file else None
        )
        return cls(token, config.username, password)

    @property
    def required(self) -> bool:
        return self.token is not None or self.username is not None


class Gate:
    """Decides whether a request may pass, and mints session cookies."""

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        self._key = secrets.token_bytes(32)

    def _equal(self, given: str, expected: str | None) -> bool:
        return expected is not None and hmac.compare_digest(given.encode(), expected.encode())

    def token_ok(self, token: str) -> bool:
        return self._equal(token, self.credentials.token)

    def allows(self, authorization: str, cookie_header: str) -> bool:
        if not self.credentials.required:
            return True
        scheme, _, value = authorization.partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer" and self.token_ok(value.strip()):
            return True
        if scheme == "basic" and self._basic_ok(value.strip()):
            return True
        return self._session_ok(cookie_header)

    def _basic_ok(self, value: str) -> bool:
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        # Both compared, whatever the first gives: the time taken does not tell which one was wrong.
        user_ok = self._equal(user, self.credentials.username)
        return self._equal(password, self.credentials.password) and user_ok

    def _sign(self, expiry: int) -> str:
        return hmac.new(self._key, str(expiry).encode(), hashlib.sha256).hexdigest()

    def session_cookie(self) -> str:
        expiry = int(time.time()) + SESSION_S
        return (
            f"{COOKIE}={expiry}.{self._sign(expiry)}; Max-Age={SESSION_S}; Path=/; HttpOnly; SameSite=Strict"
        )

    def _session_ok(self, cookie_header: str) -> bool:
        if not cookie_header:
            return False
        try:
            morsel = SimpleCookie(cookie_header).get(COOKIE)
        except CookieError:
            return False
        if morsel is None:
            return False
        expiry, _, signature = morsel.value.partition(".")
        if not expiry.isdigit() or int(expiry) < time.time():
            return False
        return hmac.compare_digest(signature.encode(), self._sign(int(expiry)).encode())

    def challenge(self) -> list[tuple[str, str]]:
        """Headers of a 401: basic auth makes the browser ask for the user and password."""
        if self.credentials.username is not None:
            return [("WWW-Authenticate", f'Basic realm="{REALM}", charset="UTF-8"')]
        return []
