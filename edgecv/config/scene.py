"""Scene rules of a camera: ``zones``, ``lines``, ``masks``, ``motion`` and the ``detect.filters`` bounds.

Coordinates are pixels of the source frame, or fractions of its width and height with ``units: relative``.
Whether a polygon or line lies in the frame is known only once the frame size is (:func:`edgecv.scene.rules`
warns then, naming it).
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, Field, model_validator

from ..scene.geometry import ANCHORS
from .sections import Section, SizeFilterConfig

Point = tuple[float, float]
AnchorName = Literal["bottom_center", "center", "top_center", "bottom_left", "bottom_right"]
ANCHOR_ABOUT = (
    "The point of a box the rule looks at: bottom_center (where a person stands), center, top_center, "
    "bottom_left or bottom_right."
)
UNITS_ABOUT = "pixels: coordinates in source-frame pixels; relative: fractions (0-1) of its width and height."
assert set(ANCHORS) == set(get_args(AnchorName))  # one list of anchors: geometry's


def check_rule_name(name: str) -> str:
    """A zone's or line's name is an MQTT topic level (``<camera>/zones/<zone>``)."""
    if not name or "/" in name or "+" in name or "#" in name:
        raise ValueError(f"rule name {name!r} must be non-empty without '/', '+' or '#' (MQTT topic level)")
    return name


RuleName = Annotated[str, AfterValidator(check_rule_name)]


def _check_relative(points: list[Point], units: str, what: str) -> None:
    if units == "relative" and any(not (0 <= c <= 1) for p in points for c in p):
        raise ValueError(f"{what} with units: relative takes fractions from 0 to 1, found {points}")


class RuleConfig(Section):
    """What zones and lines share: coordinates' units, the point of a box that counts, the classes."""

    units: Literal["pixels", "relative"] = Field("pixels", description=UNITS_ABOUT)
    anchor: AnchorName = Field("bottom_center", description=ANCHOR_ABOUT)
    classes: list[str] | None = Field(
        None, description="Only these classes (names) count for the rule; all when omitted."
    )


class ZoneConfig(RuleConfig):
    polygon: list[Point] = Field(
        min_length=3, description="The zone's corners [[x, y], ...] in order (at least three)."
    )
    min_score: float = Field(
        0.0,
        ge=0,
        le=1,
        description="A detection under this score is no evidence for or against the zone (it neither enters "
        "nor leaves on it).",
    )
    inertia_s: float = Field(
        0.5,
        ge=0,
        description="A track enters after its anchor has been inside this long, and exits after being "
        "outside as long. Higher debounces boxes that flicker across an edge; 0 reacts on the first frame.",
    )
    loiter_s: float | None = Field(
        None,
        gt=0,
        description="A loiter event fires once per stay after this long inside; none when omitted.",
    )

    @model_validator(mode="after")
    def _relative(self) -> ZoneConfig:
        _check_relative(self.polygon, self.units, "a zone polygon")
        return self


class LineConfig(RuleConfig):
    points: list[Point] = Field(
        min_length=2,
        max_length=2,
        description="[[x1, y1], [x2, y2]]: the directed segment. 'in' is a crossing to the side where "
        "(x2-x1)(y-y1) - (y2-y1)(x-x1) > 0 (x right, y down): for a line drawn top to bottom, the left.",
    )
    margin: float = Field(
        0.1,
        ge=0,
        le=1,
        description="Hysteresis: a crossing counts at once when the anchor is this fraction of its box height "
        "beyond the line; a shallower one counts after 0.3 s over the line or when the track ends there. "
        "Higher leaves more of the counting to settling time.",
    )

    @model_validator(mode="after")
    def _distinct(self) -> LineConfig:
        if self.points[0] == self.points[1]:
            raise ValueError(f"a line needs two distinct points, found {self.points[0]} twice")
        _check_relative(self.points, self.units, "a line")
        return self


class MaskConfig(Section):
    polygon: list[Point] = Field(
        min_length=3, description="Detections anchored inside are dropped before tracking."
    )
    units: Literal["pixels", "relative"] = Field("pixels", description=UNITS_ABOUT)
    anchor: AnchorName = Field("bottom_center", description=ANCHOR_ABOUT)

    @model_validator(mode="after")
    def _relative(self) -> MaskConfig:
        _check_relative(self.polygon, self.units, "a mask polygon")
        return self


class MotionConfig(Section):
    enabled: bool = Field(False, description="Skip the detector on frames where nothing moves.")
    threshold: float = Field(
        25,
        gt=0,
        lt=255,
        description="Brightness change (0-255) that makes a pixel 'changed'. Higher ignores flicker and "
        "compression noise; lower sees low-contrast movement.",
    )
    min_area: float = Field(
        0.0005,
        gt=0,
        description="Changed area that means motion: pixels, or a fraction of the frame below 1 (0.0005: "
        "12x12 px of a 640x480 frame). Lower sees smaller or farther movers; higher ignores small "
        "disturbances (mask known ones instead: motion.masks).",
    )
    max_skip_s: float = Field(
        5.0, gt=0, description="Run a full detection at least this often, moving or not."
    )
    masks: list[MaskConfig] = Field(
        default_factory=list, description="Regions where change is ignored (clock overlays, trees in wind)."
    )


class SceneConfig(Section):
    """One camera's rules (the top level for the one-camera shorthand, or under ``cameras.<name>``)."""

    zones: dict[RuleName, ZoneConfig] = Field(default_factory=dict, description="Named zones.")
    lines: dict[RuleName, LineConfig] = Field(default_factory=dict, description="Named counting lines.")
    masks: list[MaskConfig] = Field(
        default_factory=list, description="Detections anchored in these are dropped."
    )
    motion: MotionConfig = Field(default_factory=MotionConfig)
    filters: dict[str, SizeFilterConfig] = Field(
        default_factory=dict, description="detect.filters: per-class size bounds, keyed by class name."
    )
