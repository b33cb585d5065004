"""Registers the sink ``web``. The sink itself is :class:`edgecv.web.sink.WebSink`; it (with waitress and
prometheus_client, the ``[web]`` extra) is imported only when ``web.enabled``. ``web.enabled: true`` is
enough: the run adds the sink even when ``output.sinks`` does not list it (see
:func:`edgecv.pipeline.build.build_sinks`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ConfigError
from .base import SINKS, SinkContext

if TYPE_CHECKING:
    from ..web.sink import WebSink


def build(context: SinkContext) -> WebSink | None:
    settings = context.settings
    if not settings.web.enabled:
        return None
    try:
        import prometheus_client  # noqa: F401
        import waitress  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            f"web.enabled needs {exc.name}, which is not installed", "pip install 'edgecv[web]'"
        ) from None
    from ..web.sink import WebSink

    return WebSink(settings, context.labels, context.cameras, context.timings)


SINKS.register("web", build)
