"""Multi-object tracking: stable ids across frames, and the events subscribers care about."""

from .events import TrackEvent

__all__ = ["TrackEvent"]
