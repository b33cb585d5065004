"""The ``web`` config section: the read-only web view (live annotated streams, snapshot, stats, health,
metrics), its listener, its authentication and its stream rate."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from pydantic import Field, model_validator

from .sections import Section

LOOPBACK_NAMES = ("localhost", "ip6-localhost", "ip6-loopback")


def is_loopback(bind: str) -> bool:
    """Whether ``bind`` only ever listens on this machine (127.0.0.0/8, ::1, localhost)."""
    if bind.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(bind.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost: it may resolve to anything


def credential_path(path: Path, environ: dict[str, str] | None = None) -> Path:
    """``path`` as given when absolute; a relative one is looked up in ``$CREDENTIALS_DIRECTORY`` (where
    systemd's ``LoadCredential=`` puts it), or the working directory when that is unset."""
    if path.is_absolute():
        return path
    directory = (os.environ if environ is None else environ).get("CREDENTIALS_DIRECTORY", "")
    return Path(directory) / path if directory else path


class WebAuthConfig(Section):
    token_file: Path | None = Field(
        None,
        description="A file whose first line is the access token: sent as 'Authorization: Bearer <token>', "
        "'?token=<token>' once (sets a session cookie) or typed into the login page. Relative: looked up in "
        "$CREDENTIALS_DIRECTORY.",
    )
    username: str | None = Field(
        None, min_length=1, description="HTTP basic auth user name (with password_file)."
    )
    password_file: Path | None = Field(
        None,
        description="A file whose first line is the basic auth password for username. Relative: looked up "
        "in $CREDENTIALS_DIRECTORY.",
    )

    @model_validator(mode="after")
    def _pairs(self) -> WebAuthConfig:
        if pair := self.unpaired("username", "password_file"):
            given, missing = pair
            raise ValueError(f"web.auth.{given} needs web.auth.{missing} too (basic auth takes both)")
        return self

    @property
    def enabled(self) -> bool:
        return self.token_file is not None or self.username is not None


class WebConfig(Section):
    enabled: bool = Field(
        False,
        description="Serve the web view: every camera's live annotated stream, snapshots, /api/stats, "
        "/healthz and /metrics. Needs the web extra (pip install 'edgecv[web]'). On by itself: 'web' need "
        "not be listed in output.sinks.",
    )
    bind: str = Field(
        "127.0.0.1",
        min_length=1,
        description="Address to listen on. Anything but loopback needs web.auth (the server refuses to start "
        "without it).",
    )
    port: int = Field(
        8080, ge=0, le=65535, description="TCP port to listen on (0: any free port, logged at start)."
    )
    auth: WebAuthConfig = Field(
        default_factory=WebAuthConfig, description="Who may look: a token, or basic auth (or both)."
    )
    stream_fps: float = Field(
        5,
        gt=0,
        le=60,
        description="Frames per second sent to each stream viewer. Each is a JPEG encode on the server's "
        "threads while someone watches; higher costs CPU beside inference.",
    )
    stream_width: int = Field(
        640,
        ge=64,
        le=7680,
        description="Streams are shrunk to this width in pixels (never enlarged); snapshots keep the source "
        "size.",
    )

    @model_validator(mode="after")
    def _exposure(self) -> WebConfig:
        # Checked with the config (edgecv check, a reload's validation), not only when the server starts.
        if self.enabled and not is_loopback(self.bind) and not self.auth.enabled:
            raise ValueError(
                f"web.bind {self.bind} is not loopback and web.auth is not set: set web.auth.token_file or "
                "web.auth.username + web.auth.password_file, or bind 127.0.0.1"
            )
        return self
