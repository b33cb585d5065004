"""One camera's rules built from its config once the frame size is known: class names resolved to the
model's ids, relative units to pixels, and a warning naming every polygon or line outside the frame.

Motion is not here: it is measured on the capture thread, before the detector (see
:class:`edgecv.scene.motion.FrameGate`), while these rules run on the post thread after it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..config.scene import Point, RuleConfig, SceneConfig
from ..labels import Labels
from .filters import DetectionFilter, MaskRule, SizeRule
from .geometry import outside_frame, to_pixels
from .lines import LineRule, Lines
from .zones import ZoneRule, Zones

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


def build_rules(scene: SceneConfig, labels: Labels, width: int, height: int, camera: str = "") -> SceneRules:
    """The rules of ``camera`` for ``width`` x ``height`` frames; logs (and returns) the geometry warnings."""
    where = f"camera {camera}: " if camera else ""
    warnings: list[str] = []

    def pixels(points: Sequence[tuple[float, float]], units: str, what: str) -> np.ndarray:
        out = to_pixels(points, units, width, height)  # type: ignore[arg-type]  # units is a validated Literal
        if outside_frame(out, width, height):
            warnings.append(f"{where}{what} reaches outside the {width}x{height} frame: {out.tolist()}")
        return out

    num_classes = max(len(labels), 1)

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
    for warning in warnings:
        log.warning(warning)
    return SceneRules(
        Zones(zones, width, height, num_classes),
        Lines(lines, num_classes),
        DetectionFilter(masks, sizes, num_classes, width, height),
        warnings,
    )
