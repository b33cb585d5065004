"""Config → the objects of a run: detector, sources, sinks."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

from .. import bundled
from ..capture import open_source
from ..capture.base import FrameSource
from ..capture.uri import AUTO as SOURCE_AUTO
from ..config import Settings
from ..detect.detector import Detector, DetectParams
from ..errors import ConfigError, ModelError
from ..output import SINKS, Sink, SinkContext
from ..track.tracker import ByteTracker
from .timing import StageTimes


def source_configured(settings: Settings) -> bool:
    """Whether a source was asked for (``--source``, ``source.uri`` or a ``source.type``): not the demo."""
    return settings.source.uri is not None or settings.source.type != SOURCE_AUTO


def require_model(settings: Settings, command: str) -> None:
    """A :class:`ConfigError` (exit 2) unless ``model.path`` is set.

    The bundled model finds circles, squares and triangles: on a user's photos or camera it would answer
    with confident nonsense. It stays the default only for the bare demo (``edgecv run`` with no source,
    ``make demo``); ``detect``, ``eval`` and any run or bench of a configured source call this.
    """
    if settings.model.path is None:
        raise ConfigError(
            f"{command} needs a model: the bundled demo model only knows circles, squares and triangles, "
            "and is the default only for the bare demo ('edgecv run' with no source)",
            "pass --model M (or set model.path, EDGECV_MODEL__PATH)",
        )


def model_path(settings: Settings) -> Path:
    if settings.model.path is not None:
        return settings.model.path
    path = bundled.demo_model()
    if not path.exists():
        raise ModelError(
            f"no model configured and the bundled demo model is missing ({path})",
            "set model.path / --model, or reinstall edgecv (the demo ships in its package data)",
        )
    return path


def build_detector(settings: Settings, *, check_labels: bool = True) -> Detector:
    """The configured detector; ``check_labels=False`` lets labels that do not fit the model through
    (``edgecv check --model`` describes the model and reports the misfit as a row)."""
    m, d = settings.model, settings.detect
    path = model_path(settings)
    labels = m.labels
    if labels is None and m.path is None and bundled.demo_labels().exists():
        labels = bundled.demo_labels()
    detector = Detector(
        path,
        labels=labels,
        threads=m.threads,
        edgetpu=m.edgetpu_device if m.edgetpu else None,
        layout=m.layout,
        resize=m.resize,
        params=DetectParams(conf=d.conf, iou=d.iou, max_detections=d.max_detections, agnostic=d.agnostic),
        check_labels=check_labels,
    )
    detector.set_filters(d.classes, d.class_iou)
    return detector


def build_sources(settings: Settings) -> list[FrameSource]:
    default_uri = None if settings.source.uri else str(bundled.demo_clip())
    return [open_source(settings.source, source_id="0", default_uri=default_uri)]


def build_sinks(
    settings: Settings, detector: Detector, sources: list[FrameSource], timings: StageTimes | None = None
) -> list[Sink]:
    """The sinks ``output.sinks`` lists, in that order, less those their own settings leave off.

    ``timings``: the pipeline's StageTimes, reported on the MQTT stats topic.
    """
    context = SinkContext(settings, detector.labels, sources, timings)
    sinks = (SINKS.get(name)(context) for name in settings.output.sinks)
    return [sink for sink in sinks if sink is not None]


def build_tracker_factory(settings: Settings, detector: Detector) -> Callable[[], ByteTracker] | None:
    """One tracker per source (None with tracking off); ids are unique across the sources of the run."""
    config = settings.tracker
    if not config.enabled:
        return None
    gates = {}
    for key, gate in config.class_gates.items():
        class_id = int(key) if key.strip().lstrip("-").isdigit() else detector.labels.id_of(key)
        if class_id is None:
            raise ConfigError(
                f"tracker.class_gates: unknown class {key!r}", "use a label of the model or a class id"
            )
        gates[class_id] = gate
    ids = itertools.count(1)
    return lambda: ByteTracker(config, gates, ids)
