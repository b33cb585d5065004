"""Which zones and lines a camera has, as MQTT publishes them: their names (topic levels) and the labels each
one reports from the start.

A rule's labels are its ``classes``, else the camera's ``detect.classes``, else none: such a rule reports
every label it sees, from the first sighting on, and Home Assistant gets one sensor summing them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config.cameras import CameraConfig
    from ..labels import Labels


@dataclass(frozen=True)
class SceneRules:
    """``zones`` and ``lines``: rule name -> the labels it reports from the start (empty: whatever it sees)."""

    zones: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    lines: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.zones or self.lines)


def _names(classes: Sequence[str | int] | None, labels: Labels) -> tuple[str, ...]:
    """Class names, in order, without repeats; a class id (``detect.classes`` may give one) by its label."""
    if not classes:
        return ()
    return tuple(dict.fromkeys(c if isinstance(c, str) else labels.name(c) for c in classes))


def scene_rules(camera: CameraConfig, labels: Labels) -> SceneRules:
    """The rules of ``camera`` (an entry of :meth:`edgecv.config.Settings.camera_sections`)."""
    scene = camera.scene()
    default = _names(camera.detect.classes, labels)
    return SceneRules(
        zones={name: _names(zone.classes, labels) or default for name, zone in scene.zones.items()},
        lines={name: _names(line.classes, labels) or default for name, line in scene.lines.items()},
    )
