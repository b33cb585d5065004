"""The protocol every output speaks, and the registry that builds the ones a run asks for."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..detections import Detections
from ..frame import Frame
from ..registry import Registry
from ..scene.events import SceneEvent
from ..track.events import TrackEvent

if TYPE_CHECKING:
    from ..capture.base import FrameSource
    from ..config import Settings
    from ..labels import Labels
    from ..mqtt.commands import CameraControl
    from ..pipeline.camera import Camera
    from ..pipeline.timing import StageTimes


class Sink(Protocol):
    """Receives every processed frame on the post-processing thread; must return quickly.

    ``write_events`` receives the tracker's events of that frame (``new``/``update``/``end``) right after
    ``write_frame``; ``summary`` returns the sink's counters for the run summary, keyed by the sink's name
    (``{"mqtt": {...}}``), or ``{}``. ``close`` flushes and releases; the run calls it once, from another
    thread, against the stop deadline.
    """

    def write_frame(self, frame: Frame, detections: Detections) -> None: ...

    def write_events(self, frame: Frame, events: list[TrackEvent]) -> None: ...

    def summary(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


@runtime_checkable
class ClosesBy(Protocol):
    """A sink whose close waits for the network and then has local work that must not be cut short (MQTT:
    the flush, then a consistent spool on disk). The run calls ``close_by`` instead of ``close``, with the
    stop deadline (monotonic), so that the sink ends its wait early enough to finish before it."""

    def close_by(self, deadline: float) -> None: ...


@runtime_checkable
class WatchesCameras(Protocol):
    """A sink that reports whether each camera's frames are flowing (MQTT: each camera's availability).

    The service watchdog decides it, from each camera's last frame and its source's loss, and calls
    ``camera_state`` from its own thread on every change (and once per camera when the run starts):
    ``flowing`` is False while the camera is lost, stalled, not yet opened, or ended. Must return quickly.
    """

    def camera_state(self, camera: str, flowing: bool) -> None: ...


@runtime_checkable
class DescribesCameras(Protocol):
    """A sink that shows why a camera is (not) flowing (the web's ``/healthz``): the watchdog calls
    ``camera_detail`` from its thread whenever a camera's state changes, with its kind (running, starting,
    waiting, reconnecting, stalled, ended, failed) and detail (``lost 12 s ago``, ``4.9 fps``, or None)."""

    def camera_detail(self, camera: str, kind: str, detail: str | None) -> None: ...


@runtime_checkable
class WritesSceneEvents(Protocol):
    """A sink that also takes the scene rules' events (zone enter/exit, loiter, line crossings; see
    :mod:`edgecv.scene.events`). The post thread calls it right after ``write_events`` of the same frame,
    with that frame's scene events (``frame.source_id`` names the camera). Must return quickly."""

    def write_scene_events(self, frame: Frame, events: Sequence[SceneEvent]) -> None: ...


@runtime_checkable
class ResetsCounts(Protocol):
    """A sink that keeps running totals of a camera's counting lines (MQTT: ``lines/<line>``, kept on disk
    across restarts). ``reset_counts`` zeroes that camera's totals wherever the sink keeps them; it raises
    ``ValueError`` for a camera the sink does not publish. Thread-safe: runtime control calls it from its own
    thread."""

    def reset_counts(self, camera: str) -> None: ...


@runtime_checkable
class WantsCandidates(Protocol):
    """A sink that shows the best detections *below* a camera's threshold (the web view's ``?debug=1``: why
    is nothing detected). The post thread asks ``wants_candidates`` every frame; only when it says yes does
    it decode that frame a second time at a low threshold and call ``write_candidates`` (before
    ``write_frame``) with the top few under the camera's own threshold, so nobody watching costs nothing."""

    def wants_candidates(self, camera: str) -> bool: ...

    def write_candidates(self, frame: Frame, candidates: Detections) -> None: ...


@runtime_checkable
class SeesSinks(Protocol):
    """A sink that reports on the others (the web view's ``/api/stats`` shows the MQTT sink's ``summary``).
    Told the run's sinks once they are all built."""

    def see_sinks(self, sinks: Sequence[Sink]) -> None: ...


class SinkBase:
    """Defaults for sinks that care only about frames."""

    def write_events(self, frame: Frame, events: list[TrackEvent]) -> None:
        return None

    def summary(self) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        return None


@dataclass(frozen=True)
class SinkContext:
    """What a sink factory may use besides the settings: the run's labels, sources, stage timings and
    cameras (each with its own counters and timings; the cameras' sources are ``sources``)."""

    settings: Settings
    labels: Labels
    sources: Sequence[FrameSource]
    timings: StageTimes | None = None
    cameras: Sequence[Camera] = ()
    # each camera's run-time control by name (MQTT commands and reloads change it); empty: none shared
    controls: Mapping[str, CameraControl] = field(default_factory=dict)

    def dropped_frames(self) -> int:
        """Frames captured but never inferred, so far, over every camera."""
        if self.cameras:
            return sum(camera.dropped_frames for camera in self.cameras)
        return sum(source.stats.dropped for source in self.sources)


# A factory returns None when the sink's own settings leave it off (no mqtt.host, stdout: off), so listing
# a sink in output.sinks allows it without forcing it.
SinkFactory = Callable[[SinkContext], "Sink | None"]

SINKS: Registry[SinkFactory] = Registry("sink", "edgecv.output")
