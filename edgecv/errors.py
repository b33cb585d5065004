"""Errors a person reads: what was expected, what was found, what to do.

Every error class carries the exit code the CLI ends with, and the two codes mean one thing each:

* **2**: an input the user must fix (a flag, a config value, a model, label, checkpoint, annotation or
  source file that is missing, unreadable or wrong). Restarting cannot help, so the systemd units'
  ``RestartPreventExitStatus=2`` stops there instead of restarting forever.
* **1**: a failure at run time (a camera lost mid-run, the runtime failing inside ``invoke()``, the
  watchdog giving up, a missing runtime or accelerator): a restart, or a fix to the machine, may cure it.

The README's "Exit codes" table lists the situations; ``tests/cli/test_exit_codes.py`` runs one per row.
"""

from __future__ import annotations

EXIT_RUNTIME = 1
EXIT_INPUT = 2


class EdgecvError(Exception):
    """An error the CLI reports as one line, without a traceback; exits with ``exit_code``."""

    exit_code = EXIT_RUNTIME

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InputError(EdgecvError):
    """Something the user gave is wrong: only changing it helps (exit 2)."""

    exit_code = EXIT_INPUT


class ConfigError(InputError):
    """A flag, config value or environment variable is invalid."""


class ModelError(InputError):
    """The model file (or the checkpoint to convert) is missing, unreadable, not a model, or has outputs
    no decoder understands."""


class LabelsError(InputError):
    """The label file is missing, unreadable, empty, or does not fit the model's classes."""


class RuntimeUnavailableError(EdgecvError):
    """No TFLite runtime (or delegate) could be loaded: the machine needs fixing, not the input (exit 1)."""


class InferenceError(EdgecvError):
    """The runtime loaded the model but failed inside ``invoke()`` (exit 1)."""


class SourceError(EdgecvError):
    """A frame source could not be opened or stopped producing frames (exit 1: a camera may come back)."""


class SourceInputError(SourceError, InputError):
    """The source as named cannot work: no such file, a folder given as a video, a file no backend can
    decode, a uri of another source type (exit 2). Raised mid-run, it still ends only that source."""

    exit_code = EXIT_INPUT
