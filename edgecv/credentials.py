"""Reading a secret from a credential file (a password, a token): its first line, and a one-line
:class:`ConfigError` when the file cannot be read. Where the file is looked up, and whether an empty secret
is allowed, is each caller's own rule."""

from __future__ import annotations

from pathlib import Path

from .errors import ConfigError


def first_line(path: Path, error: str, hint: str) -> str:
    """The first line of ``path`` ('' for an empty file); unreadable: ``ConfigError("<error>: <why>", hint)``."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"{error}: {exc.strerror}", hint) from None
    return lines[0] if lines else ""
