"""One camera's scene rules over MQTT: their events on the camera's ``events`` topic (spooled like track
events), the retained occupancy of each zone, ``zones/<zone>`` (``{label: n}``), and the retained totals of
each line, ``lines/<line>`` (``{"in": {label: n}, "out": {label: n}}``), kept on disk until reset.

Occupancy is the set of tracks inside each zone (added at ``zone_enter``, removed at ``zone_exit``), so a
repeated event cannot count twice. The retained topics go out through a :class:`Coalescer`: at once after a
quiet second, else once at the end of it with the newest value. At a clean close every zone reads 0.

Thread safety: the post thread writes events, the control thread may call :meth:`SceneChannel.reset_counts`,
the coalescer's thread publishes and saves; ``_lock`` guards the state, and each action reads the state when
it runs. ``_save_lock`` orders the file writes, so the last write holds the newest totals.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Sequence
from functools import partial

from ..config.mqtt import MqttConfig
from ..frame import Frame
from ..labels import Labels
from ..scene.events import SceneEvent, scene_event_json
from .channel import CameraPublishing, dumps
from .coalesce import Coalescer
from .payloads import MessageIds, line_totals, scene_event_message, zone_occupancy
from .publisher import Publisher
from .rules import SceneRules
from .topics import Topics
from .totals import Totals, TotalsFile

log = logging.getLogger(__name__)

DIRECTIONS = ("in", "out")


class SceneChannel(CameraPublishing):
    """The scene side of one camera (see the module's docstring). ``rules`` name its zones and lines; their
    topics are published at once (zones at 0, lines with the totals kept in ``totals_file``)."""

    def __init__(
        self,
        config: MqttConfig,
        topics: Topics,
        rules: SceneRules,
        labels: Labels,
        ids: MessageIds,
        publisher: Publisher,
        coalescer: Coalescer,
        totals_file: TotalsFile,
    ) -> None:
        super().__init__(config, topics, labels, ids, publisher)
        self.coalescer = coalescer
        self.totals_file = totals_file
        self._lock = threading.Lock()
        self._save_lock = threading.Lock()
        self._members: dict[str, dict[int, str]] = {zone: {} for zone in rules.zones}  # track id -> label
        self._zone_labels: dict[str, dict[str, None]] = {  # the labels a zone reports (ordered set)
            zone: dict.fromkeys(labels_of) for zone, labels_of in rules.zones.items()
        }
        kept = totals_file.load()
        self._totals: Totals = {}
        for line, labels_of in rules.lines.items():
            self._totals[line] = {d: dict.fromkeys(labels_of, 0) for d in DIRECTIONS}
            for direction in DIRECTIONS:
                self._totals[line][direction].update(kept.get(line, {}).get(direction, {}))
        dropped = sorted(set(kept) - set(rules.lines))
        if dropped:
            log.info("mqtt: dropping the kept totals of line(s) no longer configured: %s", ", ".join(dropped))
        self._unsaved = bool(dropped)
        for zone in self._members:
            self._publish_zone(zone)
        for line in self._totals:
            self._publish_line(line)

    # -- events (post thread) ---------------------------------------------------------------------------

    def write_scene_events(self, frame: Frame, events: Sequence[SceneEvent]) -> None:
        zones: set[str] = set()
        lines: set[str] = set()
        for event in events:
            fields = scene_event_json(event, self.topics.camera, self.labels)
            body = scene_event_message(self.ids, self.topics.device, frame.seq, fields)
            self.send_event(body)
            with self._lock:
                if self._apply(event, fields["label"]):
                    (lines if event.kind == "line_cross" else zones).add(event.rule)
        for zone in zones:
            self.coalescer.request(self.topics.zone(zone), partial(self._publish_zone, zone))
        for line in lines:
            self.coalescer.request(self.topics.line(line), partial(self._publish_line, line))
        if lines:
            self.coalescer.request(f"{self.totals_file.path}", self.save)

    def _apply(self, event: SceneEvent, label: str) -> bool:
        """Update the state for ``event`` (lock held); whether a retained topic changes."""
        if event.kind == "line_cross":
            if event.direction not in DIRECTIONS:
                return False
            line = self._totals.get(event.rule)
            if line is None:  # not in the config the sink was built with: counted all the same
                line = self._totals[event.rule] = {d: {} for d in DIRECTIONS}
            counts = line[event.direction]
            counts[label] = counts.get(label, 0) + 1
            self._unsaved = True
            return True
        if event.kind not in ("zone_enter", "zone_exit"):
            return False  # loiter: an event, no change of occupancy
        members = self._members.setdefault(event.rule, {})
        self._zone_labels.setdefault(event.rule, {})
        if event.kind == "zone_enter":
            if members.get(event.track_id) == label:
                return False
            members[event.track_id] = label
            self._zone_labels[event.rule][label] = None
            return True
        return members.pop(event.track_id, None) is not None

    # -- retained state ---------------------------------------------------------------------------------

    def _occupancy(self, zone: str) -> dict[str, int]:
        counts = Counter(self._members.get(zone, {}).values())
        return {label: counts.get(label, 0) for label in self._zone_labels.get(zone, {})}

    def _publish_zone(self, zone: str) -> None:
        with self._lock:
            body = zone_occupancy(self._occupancy(zone))
            # Under the lock: two threads publishing one topic must not swap an older value in last.
            self.publisher.set_retained(self.topics.zone(zone), dumps(body))

    def _publish_line(self, line: str) -> None:
        with self._lock:
            totals = self._totals.get(line, {})
            body = line_totals(totals.get("in", {}), totals.get("out", {}))
            self.publisher.set_retained(self.topics.line(line), dumps(body))

    def save(self) -> None:
        """Write the line totals to disk now (if they changed since the last write)."""
        with self._save_lock:
            with self._lock:
                if not self._unsaved:
                    return
                snapshot = {line: {d: dict(c) for d, c in t.items()} for line, t in self._totals.items()}
                self._unsaved = False
            if not self.totals_file.save(snapshot):
                with self._lock:
                    self._unsaved = True  # tried again at the next change and at close

    def reset_counts(self) -> None:
        """Zero every line's totals: on disk at once, then on the retained topics."""
        with self._lock:
            for directions in self._totals.values():
                for counts in directions.values():
                    for label in counts:
                        counts[label] = 0
            self._unsaved = True
            lines = list(self._totals)
        self.save()
        for line in lines:
            self.coalescer.request(self.topics.line(line), partial(self._publish_line, line), now=True)
        log.info("mqtt: line totals of camera %s reset (%s)", self.topics.camera, ", ".join(lines) or "none")

    def totals(self) -> Totals:
        """A copy of the line totals now."""
        with self._lock:
            return {line: {d: dict(c) for d, c in t.items()} for line, t in self._totals.items()}

    def stale(self, topic: str, payload: bytes, retained: bool) -> bool:
        """A retained zone or line topic of this camera whose rule is not (or no longer) configured."""
        if not (retained and payload and self.topics.is_scene(topic)):
            return False
        with self._lock:
            current = {self.topics.zone(z) for z in self._members} | {
                self.topics.line(n) for n in self._totals
            }
        return topic not in current

    def close(self) -> None:
        """Keep the totals, and empty every zone: nothing is inside once we are gone (the coalescer has run
        what was waiting before this)."""
        self.save()
        with self._lock:
            for members in self._members.values():
                members.clear()
            zones = list(self._members)
        for zone in zones:
            self._publish_zone(zone)
