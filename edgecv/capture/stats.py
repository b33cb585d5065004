"""The counters every source keeps; the run summary and the MQTT stats topic read them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SourceStats:
    frames: int = 0  # frames handed out
    dropped: int = 0  # frames captured but replaced by a newer one before anyone read them
    failures: int = 0  # failed reads and failed (re)opens
    reconnects: int = 0  # successful reopens after a loss
    outages: list[float] = field(default_factory=list)  # seconds each loss lasted
