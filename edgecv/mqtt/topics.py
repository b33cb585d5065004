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
IMAGE = "image"
SET = "set"
STATE = "state"
ERROR = "error"
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

    @property
    def image(self) -> str:
        """The retained annotated JPEG (Home Assistant's ``image`` entity)."""
        return f"{self.base}/{IMAGE}"

    def command(self, key: str) -> str:
        """``set/<key>``: where commands arrive (``mqtt.commands``)."""
        return f"{self.base}/{SET}/{key}"

    def state(self, key: str) -> str:
        """``state/<key>``: the retained echo of a command's key."""
        return f"{self.base}/{STATE}/{key}"

    @property
    def error(self) -> str:
        """``<prefix>/<device>/error``: invalid commands and reloads, for every camera of the device. A
        camera may not be named ``error`` (:data:`edgecv.config.cameras.RESERVED_NAMES`)."""
        return f"{self.prefix}/{self.device}/{ERROR}"

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
