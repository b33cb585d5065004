"""Where detections go: JSON lines on stdout, MQTT, a recording, any sink added here.

Every sink speaks :class:`Sink`; ``output.sinks`` lists the ones a run may build, and each builds only
when its own settings want it (stdout by ``output.stdout``, mqtt when ``mqtt.host`` is set).

How to add a sink
-----------------
Add one module to this package (``edgecv/output/<name>.py``); nothing else lists sinks.

1. Write the sink: a class with ``write_frame(frame, detections)``, ``write_events(frame, events)``,
   ``summary()`` and ``close()`` (:class:`SinkBase` gives the last three as no-ops). It runs on the
   pipeline's post thread, so it must return quickly: queue anything slow (see :mod:`edgecv.mqtt.publisher`).
2. Register a factory at the end of the module::

       def build(context: SinkContext) -> MySink | None:
           return MySink(context.labels) if context.settings.<section>.<key> else None

       SINKS.register("name", build)

   The factory gets the settings, labels, sources and stage timings of the run, and returns ``None`` when
   the sink's own settings leave it off. Import heavy or optional libraries inside the factory (as
   :mod:`edgecv.output.mqtt` does with paho), so that edgecv imports where they are missing.

``output.sinks: [stdout, name]`` then builds it; the name is checked when the config loads (a typo's error
lists the sinks), and ``edgecv config --schema`` lists it. :mod:`edgecv.output.stdout` is a complete example.
"""

from .base import SINKS, Sink, SinkBase, SinkContext
from .stdout import StdoutSink

__all__ = ["SINKS", "Sink", "SinkBase", "SinkContext", "StdoutSink"]
