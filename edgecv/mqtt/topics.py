"""The topic layout, in one place: ``<prefix>/<device>/<camera>/<leaf>``, and the process's own
``<prefix>/<device>/availability``.

Device and camera are levels of their own so that a fleet shares one broker (or a bridged cluster) and a
consumer picks its scope with wildcards: ``edgecv/+/+/events`` for every camera, ``edgecv/shed/#`` for one
device, ``$share/<group>/edgecv/+/+/events`` to spread the events over a group of consumers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

AVAILABILITY = "availability"
DETECTIONS = "detections"
EVENTS = "events"
COUNTS = "counts"
STATS = "stats"
SNAPSHOT = "snapshot"
ZONES = "zones"
LINES = "lines"
ALL = "all"

_UNSAFE = re.compile(r"[/+#\x00]")


def level(name: str) -> str:
    """A label as one topic level: '/', '+' and '#' would change what the topic means."""
    return _UNSAFE.sub("_", name) or "_"


@dataclass(frozen=True)
class Topics:
    prefix: str
    device: str
    camera: str

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.device}/{self.camera}"

    @property
    def availability(self) -> str:
        """The camera's: ``online`` while its frames flow."""
        return f"{self.base}/{AVAILABILITY}"

    @property
    def device_availability(self) -> str:
        """The process's, ``<prefix>/<device>/availability``: its last will. A camera may not be named
        ``availability`` (:data:`edgecv.config.cameras.RESERVED_NAMES`), so the two never meet."""
        return f"{self.prefix}/{self.device}/{AVAILABILITY}"

    @property
    def detections(self) -> str:
        return f"{self.base}/{DETECTIONS}"

    @property
    def events(self) -> str:
        return f"{self.base}/{EVENTS}"

    @property
    def stats(self) -> str:
        return f"{self.base}/{STATS}"

    def count(self, label: str) -> str:
        name = level(label)
        # A class called "all" must not overwrite the total.
        return f"{self.base}/{COUNTS}/{'_all' if name == ALL else name}"

    @property
    def counts_prefix(self) -> str:
        """What every count topic starts with."""
        return f"{self.base}/{COUNTS}/"

    @property
    def counts_filter(self) -> str:
        """A subscription to every count topic of this camera."""
        return f"{self.base}/{COUNTS}/+"

    @property
    def count_all(self) -> str:
        return f"{self.base}/{COUNTS}/{ALL}"

    def snapshot(self, label: str) -> str:
        return f"{self.base}/{SNAPSHOT}/{level(label)}"

    def zone(self, name: str) -> str:
        """``zones/<zone>``: the zone's occupancy (retained)."""
        return f"{self.base}/{ZONES}/{level(name)}"

    def line(self, name: str) -> str:
        """``lines/<line>``: the line's totals (retained)."""
        return f"{self.base}/{LINES}/{level(name)}"

    @property
    def scene_filters(self) -> tuple[str, str]:
        """Subscriptions to every zone and line topic of this camera."""
        return f"{self.base}/{ZONES}/+", f"{self.base}/{LINES}/+"

    def is_scene(self, topic: str) -> bool:
        """A zone or line topic of this camera."""
        return topic.startswith((f"{self.base}/{ZONES}/", f"{self.base}/{LINES}/"))
