"""One camera's rules built from its config once the frame size is known: class names resolved to the
model's ids, relative units to pixels, and a warning naming every polygon or line outside the frame; and
:class:`CameraScene`, those rules as a camera's post thread applies them (filters before the tracker, zones
and lines after it, running totals for the summary).

Motion is not here: it is measured on the capture thread, before the detector (see
:class:`edgecv.scene.motion.FrameGate`), while these rules run on the post thread after it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..config.scene import Point, RuleConfig, SceneConfig
from ..detections import Detections
from ..frame import Frame
from ..labels import Labels
from ..track.events import TrackEvent
from .events import SceneEvent
from .filters import DetectionFilter, MaskRule, SizeRule
from .geometry import outside_frame, to_pixels
from .lines import LineRule, Lines, Origins
from .zones import MAX_ZONES, ZoneRule, Zones

log = logging.getLogger(__name__)


@dataclass
class SceneRules:
    zones: Zones
    lines: Lines
    filter: DetectionFilter
    warnings: list[str]


def _class_ids(names: Sequence[str] | None, labels: Labels, rule: str) -> tuple[int, ...] | None:
    if names is None:
        return None
    ids = []
    for name in names:
        class_id = labels.id_of(name)
        if class_id is None:
            raise ValueError(
                f"{rule}: class {name!r} is not in {labels.origin}; use one of the model's class names"
            )
        ids.append(class_id)
    return tuple(ids)


def _area(value: float | None, frame: int) -> float:
    if value is None:
        return np.inf
    return value * frame if value <= 1 else value


def build_rules(
    scene: SceneConfig,
    labels: Labels,
    width: int,
    height: int,
    camera: str = "",
    num_classes: int | None = None,
    log_warnings: bool = True,
) -> SceneRules:
    """The rules of ``camera`` for ``width`` x ``height`` frames; returns (and logs, with ``log_warnings``)
    the geometry warnings.

    ``num_classes``: how many classes the model scores, when it says (counts are kept per class id: a model
    without names still counts each class apart); the labels' length otherwise."""
    where = f"camera {camera}: " if camera else ""
    warnings: list[str] = []

    def pixels(points: Sequence[tuple[float, float]], units: str, what: str) -> np.ndarray:
        out = to_pixels(points, units, width, height)  # type: ignore[arg-type]  # units is a validated Literal
        if outside_frame(out, width, height):
            warnings.append(f"{where}{what} reaches outside the {width}x{height} frame: {out.tolist()}")
        return out

    num_classes = max(len(labels), num_classes or 0, 1)

    def placed(
        name: str, points: list[Point], rule: RuleConfig, what: str
    ) -> tuple[str, np.ndarray, str, tuple[int, ...] | None]:
        """The arguments every rule starts with: name, pixel geometry, anchor, class ids."""
        label = f"{what} {name!r}"
        return (
            name,
            pixels(points, rule.units, label),
            rule.anchor,
            _class_ids(rule.classes, labels, f"{where}{label}"),
        )

    zones = [
        ZoneRule(*placed(name, z.polygon, z, "zone"), z.min_score, z.inertia_s, z.loiter_s)
        for name, z in scene.zones.items()
    ]
    lines = [LineRule(*placed(name, ln.points, ln, "line"), ln.margin) for name, ln in scene.lines.items()]
    masks = [MaskRule(pixels(m.polygon, m.units, f"mask {k}"), m.anchor) for k, m in enumerate(scene.masks)]
    frame = width * height
    sizes = {}
    for name, f in scene.filters.items():
        ids = _class_ids([name], labels, f"{where}detect.filters")
        assert ids is not None
        sizes[ids[0]] = SizeRule(
            _area(f.min_area, frame) if f.min_area else 0.0,
            _area(f.max_area, frame),
            f.min_ratio,
            np.inf if f.max_ratio is None else f.max_ratio,
        )
    for warning in warnings if log_warnings else ():
        log.warning(warning)
    return SceneRules(
        Zones(zones, width, height, num_classes),
        Lines(lines, num_classes),
        DetectionFilter(masks, sizes, num_classes, width, height),
        warnings,
    )


def check_classes(scene: SceneConfig, labels: Labels) -> None:
    """``ValueError`` naming the key (``zones.<name>.classes``, ``lines.<name>.classes``,
    ``detect.filters``) of the first class name ``labels`` lack, or of a camera with too many zones.

    Run when the cameras are built (and on a reload), so that a typo stops the start before the model sees a
    frame instead of failing the first frame's rules on the post thread.
    """
    if len(scene.zones) > MAX_ZONES:
        raise ValueError(f"zones: at most {MAX_ZONES} zones per camera, found {len(scene.zones)}")
    for kind, rules in (("zones", scene.zones), ("lines", scene.lines)):
        for name, rule in rules.items():
            _class_ids(rule.classes, labels, f"{kind}.{name}.classes")
    for name in scene.filters:
        _class_ids([name], labels, "detect.filters")


def has_rules(scene: SceneConfig) -> bool:
    """Whether ``scene`` holds anything the post thread applies (motion aside: the capture side's)."""
    return bool(scene.zones or scene.lines or scene.masks or scene.filters)


def needs_tracks(scene: SceneConfig) -> bool:
    """Zones and lines follow confirmed tracks: without a tracker they could never fire."""
    return bool(scene.zones or scene.lines)


class CameraScene:
    """The scene rules of one camera as its post thread applies them, frame after frame.

    Built from the camera's :class:`SceneConfig` and the model's labels; the geometry is placed when the first
    frame's size is known (:meth:`filter`), and placed again, keeping the counts, when the size changes (a
    camera that reconnected at another resolution) or :meth:`configure` hands a new config (a reload). Counts
    of rules that keep their name carry over; those of rules gone are dropped. Zones (or lines) placed anew
    first close every open stay (``zone_exit``) and count every crossing under way, so that each
    ``zone_enter`` has its ``zone_exit``; tracks still inside enter again under the new geometry after its
    ``inertia_s``. A reload that leaves all the zones (or all the lines) as they were keeps them as they are.

    Threads: the post thread calls every method but :meth:`configure`, which any thread may call; it only
    stores the config, taken up at the next frame.
    """

    def __init__(
        self, camera: str, config: SceneConfig, labels: Labels, num_classes: int | None = None
    ) -> None:
        check_classes(config, labels)
        self.camera = camera
        self.labels = labels
        self.num_classes = num_classes  # the model's, when it says: see build_rules
        self._config = self._wanted = config
        self._rules: SceneRules | None = None
        self._size: tuple[int, int] | None = None
        self._closing: list[SceneEvent] = []  # events of a rebuild, handed out with the frame's update
        self._zone_names: dict[int, tuple[str, ...]] = {}  # bitmask -> zone names, filled as masks occur
        self._warned: set[str] = set()

    # -- config ---------------------------------------------------------------------------------------------

    @property
    def config(self) -> SceneConfig:
        return self._wanted

    @property
    def active(self) -> bool:
        """Whether the post thread has anything to do for this camera (False: it skips the scene)."""
        return has_rules(self._wanted) or self._rules is not None

    def configure(self, config: SceneConfig) -> None:
        """Use ``config`` from the next frame on; ``ValueError`` (nothing changes) if a class name is unknown."""
        check_classes(config, self.labels)
        self._wanted = config

    def _place(self, width: int, height: int, ts: float) -> None:
        """(Re)build the rules for ``width`` x ``height`` frames under the wanted config; ``ts`` is the frame's
        (the time of the closing events of the rules it replaces).

        On a reload at the same frame size, zones and lines whose config did not change (as a whole: all the
        zones, or all the lines) keep their objects, tracks' state included: adding a line does not make
        every track leave and enter its zones again."""
        old, before = self._rules, self._config
        config = self._wanted
        rules = build_rules(config, self.labels, width, height, self.camera, self.num_classes, False)
        for warning in rules.warnings:
            if warning not in self._warned:  # once each: a source of images of mixed sizes places per size
                self._warned.add(warning)
                log.warning(warning)
        if old is not None:
            same_size = self._size == (width, height)
            if same_size and config.zones == before.zones:
                rules.zones = old.zones
            else:
                ids = old.zones.table.ids
                self._closing += old.zones.end(ids, ts)
                entered = dict(zip(old.zones.names, old.zones.entered, strict=True))
                for z, name in enumerate(rules.zones.names):
                    if name in entered:
                        rules.zones.entered[z] = entered[name]
            if same_size and config.lines == before.lines:
                rules.lines = old.lines
            else:
                self._closing += old.lines.end(old.lines.table.ids, ts)  # a crossing under way counts
                counts = dict(zip(old.lines.names, old.lines.counts, strict=True))
                for k, name in enumerate(rules.lines.names):
                    if name in counts:
                        rules.lines.counts[k] = counts[name]
        self._zone_names = {}
        self._rules, self._config, self._size = rules, config, (width, height)

    # -- per frame ------------------------------------------------------------------------------------------

    def filter(self, detections: Detections, frame: Frame) -> Detections:
        """Masks and ``detect.filters`` on the detections of ``frame``: run before the tracker."""
        height, width = frame.image.shape[:2]
        if self._rules is None or self._size != (width, height) or self._wanted is not self._config:
            self._place(width, height, frame.ts)
        assert self._rules is not None
        return self._rules.filter.apply(detections)

    def update(
        self, detections: Detections, ts: float, mono: float, origins: Origins | None = None
    ) -> tuple[Detections, list[SceneEvent]]:
        """Zones and lines after the tracker: the same detections, those of confirmed tracks carrying their
        zones' names (with zones configured), and the frame's scene events (a rebuild's closing ones first).
        ``origins``: the tracker's (:meth:`~edgecv.track.tracker.ByteTracker.origins`), so that a line crossed
        while a track was still tentative counts once the track is confirmed."""
        events, self._closing = self._closing, []
        rules = self._rules
        if rules is None:
            return detections, events
        events += rules.lines.update(detections, ts, mono, origins)
        bits, zone_events = rules.zones.update(detections, mono, ts)
        events += zone_events
        if rules.zones.rules and detections.track_ids is not None:
            names = self.zone_names(bits)
            names[detections.track_ids < 0] = None  # no confirmed track: no zones key at all
            detections = detections.with_zones(names)
        return detections, events

    @property
    def follows_tracks(self) -> bool:
        """Whether zones or lines are placed: the rules that follow tracks (on skipped frames too)."""
        rules = self._rules
        return rules is not None and bool(rules.zones.rules or rules.lines.rules)

    def hold(
        self, held: Detections, ts: float, mono: float, origins: Origins | None = None
    ) -> list[SceneEvent]:
        """Zones and lines on a frame the detector skipped because nothing moved: ``held``, the tracker's
        confirmed tracks where the last detection saw them (:meth:`~edgecv.track.tracker.ByteTracker.held`).
        Standing still, they cross no line and change no zone; their timers run on, so a ``loiter`` or a
        pending ``zone_enter``/``zone_exit`` comes when due, not at the next forced detection. The frame
        prints no detections, so no zone names are made."""
        events, self._closing = self._closing, []
        rules = self._rules
        if rules is None:
            return events
        events += rules.lines.update(held, ts, mono, origins)
        events += rules.zones.update(held, mono, ts)[1]
        return events

    def end(self, track_ids: np.ndarray, ts: float) -> list[SceneEvent]:
        """The tracker ended these tracks: they leave their zones; a crossing under way counts."""
        if self._rules is None or not len(track_ids):
            return []
        ids = np.asarray(track_ids, np.int64)
        return self._rules.lines.end(ids, ts) + self._rules.zones.end(ids, ts)

    def end_tracks(self, events: Sequence[TrackEvent], ts: float) -> list[SceneEvent]:
        """:meth:`end` for the tracks whose ``end`` is among the tracker's ``events``."""
        if self._rules is None or not events:
            return []
        ended = [e.track_id for e in events if e.kind == "end"]  # the frame's few events, not its objects
        return self.end(np.array(ended, np.int64), ts) if ended else []

    def finish(self, ts: float) -> list[SceneEvent]:
        """The source ended: every track still followed is ended (occupancy back to zero)."""
        events, self._closing = self._closing, []
        if self._rules is not None:
            events += self._end_all(self._rules, ts)
        return events

    @staticmethod
    def _end_all(rules: SceneRules, ts: float) -> list[SceneEvent]:
        ids = np.union1d(rules.lines.table.ids, rules.zones.table.ids)
        return rules.lines.end(ids, ts) + rules.zones.end(ids, ts)

    # -- names and totals -----------------------------------------------------------------------------------

    def zone_names(self, bits: np.ndarray) -> np.ndarray:
        """Object array of name tuples, one per bitmask: each distinct mask is decoded once per geometry."""
        assert self._rules is not None
        unique, inverse = np.unique(bits, return_inverse=True)
        names = self._rules.zones.names
        table = np.empty(unique.size, dtype=object)
        for i, mask in enumerate(unique.tolist()):  # distinct masks of the frame: a handful
            found = self._zone_names.get(mask)
            if found is None:
                found = self._zone_names[mask] = tuple(n for z, n in enumerate(names) if mask >> z & 1)
            table[i] = found
        return table[inverse.reshape(-1)]

    def line_totals(self) -> dict[str, dict[str, dict[str, int]]]:
        """``{line: {"in": {label: n}, "out": {label: n}}}`` since the start: the labels the line's
        ``classes`` name (0 included, as on MQTT) and any other with n > 0."""
        if self._rules is None:
            return {name: {"in": {}, "out": {}} for name in self._wanted.lines}
        lines = self._rules.lines
        return {
            rule.name: {
                "in": self._by_label(lines.counts[k, 0], rule.class_ids),
                "out": self._by_label(lines.counts[k, 1], rule.class_ids),
            }
            for k, rule in enumerate(lines.rules)
        }

    def zone_totals(self) -> dict[str, dict[str, dict[str, int]]]:
        """``{zone: {"entered": {label: n}}}`` since the start: the zone's ``classes`` (0 included) and any
        other label with n > 0."""
        if self._rules is None:
            return {name: {"entered": {}} for name in self._wanted.zones}
        zones = self._rules.zones
        return {
            rule.name: {"entered": self._by_label(zones.entered[z], rule.class_ids)}
            for z, rule in enumerate(zones.rules)
        }

    def occupancy(self) -> dict[str, dict[str, int]]:
        """``{zone: {label: n}}``: tracks inside now, by the class they entered as; a label that ever entered
        (or that the zone's classes name) stays at 0 once they have all left."""
        if self._rules is None:
            return {name: {} for name in self._wanted.zones}
        zones = self._rules.zones
        now = zones.occupancy()
        out = {}
        for z, rule in enumerate(zones.rules):  # per zone, for a report: not on the frame path
            listed = np.zeros(now.shape[1], bool)
            if rule.class_ids is not None:
                listed[list(rule.class_ids)] = True
            shown = listed | (zones.entered[z] > 0) | (now[z] > 0)
            out[rule.name] = {self._label(c): int(now[z, c]) for c in np.flatnonzero(shown).tolist()}
        return out

    def _label(self, column: int) -> str:
        return self.labels.name(column)

    def _by_label(self, counts: np.ndarray, listed: tuple[int, ...] | None = None) -> dict[str, int]:
        shown = counts > 0
        if listed is not None:
            shown[list(listed)] = True
        return {self._label(c): int(counts[c]) for c in np.flatnonzero(shown).tolist()}
