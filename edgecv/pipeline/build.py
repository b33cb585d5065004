"""Config → the objects of a run: sources, detector, cameras, sinks."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from pathlib import Path

from .. import bundled
from ..capture import open_source
from ..capture.base import FrameSource
from ..capture.uri import AUTO as SOURCE_AUTO
from ..config import DetectConfig, Settings
from ..config.tracker import GateConfig, TrackerConfig
from ..detect.detector import Detector, DetectParams, resolve_class_filters
from ..detect.families import FAMILIES
from ..errors import ConfigError, ModelError, SourceError
from ..mqtt.commands import CameraControl
from ..output import SINKS, Sink, SinkContext
from ..output.base import SeesSinks
from ..scene.rules import CameraScene
from ..track.tracker import ByteTracker
from .camera import Camera
from .timing import StageTimes


def source_configured(settings: Settings) -> bool:
    """Whether a source was asked for (``--source``, ``source.uri``, a ``source.type`` or a ``cameras``
    map): not the demo."""
    return bool(settings.cameras) or settings.source.uri is not None or settings.source.type != SOURCE_AUTO


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


def build_sources(settings: Settings, only: set[str] | None = None) -> list[FrameSource]:
    """Each camera's source (``only``: those of the cameras named), not yet opened, stamping the camera's
    name on its frames.

    Built before the model loads, so that a wrong path fails in a moment; an error names the camera when
    the run has several.
    """
    cameras = settings.camera_sections()
    sources = []
    for name, camera in cameras.items():
        if only is not None and name not in only:
            continue
        default_uri = None if settings.cameras or camera.source.uri else str(bundled.demo_clip())
        try:
            sources.append(open_source(camera.source, source_id=name, default_uri=default_uri))
        except SourceError as exc:
            if not settings.cameras:
                raise
            raise type(exc)(f"camera {name}: {exc.message}", exc.hint) from None
    return sources


def build_cameras(
    settings: Settings,
    detector: Detector,
    sources: list[FrameSource],
    ids: Iterator[int] | None = None,
) -> list[Camera]:
    """The run's cameras over ``sources`` (from :func:`build_sources`): each with its own detection
    parameters, tracker, scene rules and motion gating, from its sections (the top-level ones with its
    overrides). ``ids``: the run's track id counter (a reload that rebuilds cameras keeps numbering where it
    was).

    Rule class names are checked against the model's labels here, so that a typo is a :class:`ConfigError`
    naming its key (``zones.<zone>.classes``, ``cameras.<name>.lines.<line>.classes``) before any frame."""
    sections = settings.camera_sections()
    ids = ids if ids is not None else itertools.count(1)  # track ids unique across the cameras of the run
    cameras = []
    for source in sources:
        name = source.source_id
        section = sections[name]
        where = f"cameras.{name}." if settings.cameras else ""
        params = detect_params(section.detect, detector, where)
        tracker = build_tracker(section.tracker, detector, ids, where)
        scene_config = section.scene()
        try:
            scene = CameraScene(name, scene_config, detector.labels, detector.decoder.num_classes)
            camera = Camera(
                name, source, params=params, tracker=tracker, scene=scene, motion=scene_config.motion
            )
        except ValueError as exc:  # a rule's class name, too many zones, rules without a tracker
            raise ConfigError(where + str(exc), "see the README's scene rules") from None
        cameras.append(camera)
    return cameras


def detect_params(config: DetectConfig, detector: Detector, where: str = "") -> DetectParams:
    """``config`` as the decoder's parameters, class names resolved against the model's labels."""
    try:
        classes, class_iou = resolve_class_filters(detector.labels, config.classes, config.class_iou)
    except ConfigError as exc:
        raise ConfigError(where + exc.message, exc.hint) from None
    return DetectParams(
        conf=config.conf,
        iou=config.iou,
        max_detections=config.max_detections,
        agnostic=config.agnostic,
        classes=classes,
        class_iou=class_iou,
    )


def build_sinks(
    settings: Settings,
    detector: Detector,
    cameras: list[Camera],
    timings: StageTimes | None = None,
    *,
    controls: Mapping[str, CameraControl] | None = None,
) -> list[Sink]:
    """The sinks ``output.sinks`` lists, in that order, less those their own settings leave off.

    ``timings``: the pipeline's StageTimes, reported on the MQTT stats topic; ``controls``: each camera's
    run-time control (MQTT commands), shared with the reload.
    """
    context = SinkContext(
        settings, detector.labels, [c.source for c in cameras], timings, cameras, dict(controls or {})
    )
    names = list(settings.output.sinks)
    if settings.web.enabled and "web" not in names:
        names.append("web")  # web.enabled is enough: the web view is asked for by its own section
    built = (SINKS.get(name)(context) for name in names)
    sinks = [sink for sink in built if sink is not None]
    for sink in sinks:
        if isinstance(sink, SeesSinks):
            sink.see_sinks(sinks)
    return sinks


def build_tracker(
    config: TrackerConfig, detector: Detector, ids: Iterator[int] | None = None, where: str = ""
) -> ByteTracker | None:
    """A tracker as ``config`` says (None with tracking off); ``ids`` shared by the run's trackers keeps
    track ids unique across cameras."""
    if not config.enabled:
        return None
    config, gates = tracker_settings(config, detector, where)
    return ByteTracker(config, gates, ids)


def tracker_settings(
    config: TrackerConfig, detector: Detector, where: str = ""
) -> tuple[TrackerConfig, dict[int, GateConfig]]:
    """``config`` with the model family's default ``high_score`` when unset, and its class gates by class id
    (a :class:`ConfigError` names an unknown class)."""
    gates = {}
    for key, gate in config.class_gates.items():
        class_id = int(key) if key.strip().lstrip("-").isdigit() else detector.labels.id_of(key)
        if class_id is None:
            raise ConfigError(
                f"{where}tracker.class_gates: unknown class {key!r}", "use a label of the model or a class id"
            )
        gates[class_id] = gate
    family_score = FAMILIES.get(detector.decoder.family).track_high_score
    if family_score is not None and "high_score" not in config.model_fields_set:
        config = config.model_copy(update={"high_score": family_score})
    return config, gates
