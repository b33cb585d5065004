"""Where detections go: stdout JSON lines now, MQTT beside it."""

from .base import Sink, SinkBase
from .stdout import StdoutSink

__all__ = ["Sink", "SinkBase", "StdoutSink"]
