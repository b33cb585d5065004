"""Registers the sink ``mqtt``. The sink itself is :class:`edgecv.mqtt.sink.MqttSink`; it is imported only
when ``mqtt.host`` is set, so paho stays unimported (and optional) everywhere else."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import SINKS, SinkContext

if TYPE_CHECKING:
    from ..mqtt.sink import MqttSink


def build(context: SinkContext) -> MqttSink | None:
    settings = context.settings
    if settings.mqtt.host is None:
        return None
    from ..mqtt.commands import control_of
    from ..mqtt.image import AnnotatedJpeg
    from ..mqtt.rules import scene_rules
    from ..mqtt.sink import MqttSink

    sections = settings.camera_sections()
    snapshot = settings.mqtt.snapshot
    return MqttSink(
        settings.mqtt,
        context.labels,
        cameras=context.cameras,
        timings=context.timings,
        dropped_frames=context.dropped_frames,
        decimals=settings.output.decimals,
        controls=context.controls or {c.name: control_of(c, context.labels) for c in context.cameras},
        render=AnnotatedJpeg(
            context.labels,
            {name: section.scene() for name, section in sections.items()},
            snapshot.width,
            snapshot.quality,
        ),
        scenes={name: scene_rules(camera, context.labels) for name, camera in sections.items()},
    )


SINKS.register("mqtt", build)
