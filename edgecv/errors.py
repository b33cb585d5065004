"""Errors a person reads: what was expected, what was found, what to do."""

from __future__ import annotations


class EdgecvError(Exception):
    """An error the CLI reports as one line, without a traceback.

    ``exit_code`` is what the process exits with: 2 for configuration errors (systemd's
    ``RestartPreventExitStatus=2`` relies on it: a bad config does not fix itself by restarting), 1 otherwise.
    """

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(EdgecvError):
    exit_code = 2


class ModelError(EdgecvError):
    """The model file is missing, unreadable, or has outputs no decoder understands."""


class RuntimeUnavailableError(EdgecvError):
    """No TFLite runtime (or delegate) could be loaded."""


class SourceError(EdgecvError):
    """A frame source could not be opened or stopped producing frames."""
