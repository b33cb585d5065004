"""The ``service`` section: how edgecv judges its own health when it runs unattended under systemd.

The deadlines nest: a stall is reported after ``stall_s``; a stall still there after ``recovery_deadline_s``
ends the process with a non-zero exit so systemd restarts it; systemd's own ``WatchdogSec=`` (in the unit)
must be longer than ``recovery_deadline_s``, so it only acts when the process is too wedged to end itself.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from .sections import Section


class ServiceConfig(Section):
    stall_s: float = Field(
        10.0,
        gt=0,
        description="No frame reaching the detector for this long marks the pipeline as stalled: reported in "
        "STATUS=, the log and the run summary, and the recovery clock starts. A lost live source is reopened "
        "with backoff by its capture thread (after source.read_timeout_s); this catches a stall anywhere.",
    )
    recovery_deadline_s: float | None = Field(
        60.0,
        gt=0,
        description="A stall lasting this long is given up on: systemd watchdog pings stop and the process "
        "exits non-zero, so systemd restarts it with fresh drivers. None: wait for the source forever. Keep "
        "below the unit's WatchdogSec= (90 s).",
    )
    inference_deadline_s: float = Field(
        10.0,
        gt=0,
        description="One inference running longer than this is a hung interpreter or accelerator (a stuck "
        "invoke() cannot be interrupted): pings stop and the process exits non-zero. Set it well above the "
        "slowest normal inference (a few seconds on a Pi CPU at most).",
    )
    stop_deadline_s: float = Field(
        1.5,
        gt=0,
        le=30,
        description="Budget for a graceful stop (SIGTERM/SIGINT): finish the frame in flight, close the sinks "
        "(MQTT publishes offline and flushes), release the sources. What is not done by then is abandoned "
        "(MQTT spools it) and the process exits. Keep it under the unit's TimeoutStopSec=.",
    )
    status_interval_s: float = Field(
        5.0,
        gt=0,
        description="How often the state and FPS are sent to systemd as STATUS= (shown by 'systemctl status') "
        "and logged at debug level.",
    )

    @model_validator(mode="after")
    def _check_order(self) -> ServiceConfig:
        if self.recovery_deadline_s is not None and self.recovery_deadline_s <= self.stall_s:
            raise ValueError(
                f"recovery_deadline_s ({self.recovery_deadline_s}) must be longer than stall_s ({self.stall_s})"
            )
        return self
