"""The read-only web view (``web.enabled``): every camera's live annotated MJPEG stream, snapshots,
``/api/stats``, ``/healthz`` and ``/metrics``, served by waitress on threads of its own.

It costs the pipeline a reference swap per frame: :class:`~edgecv.web.sink.WebSink` keeps each camera's
newest frame and detections (sources hand out a new array per frame, so nothing is copied) and encodes
nothing. JPEG encoding happens on the server's worker threads, only while a viewer is connected or a
snapshot is asked for, at most ``web.stream_fps`` per camera and mode however many viewers watch. A slow
viewer blocks only its own worker, and gets the newest frame when it is ready for one.

Imported only when ``web.enabled`` (waitress and prometheus_client are the ``[web]`` extra).
"""
