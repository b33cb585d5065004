"""``/metrics``: Prometheus text from the run's own counters, read at scrape time (nothing per frame but
the event counts), through an own ``CollectorRegistry`` (no process-global state, two runs in one process
never share a metric)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

# Seconds. An int8 SSD MobileNet invoke is 10-40 ms on a desktop core, 50-300 ms on a Pi 4; a Coral is 2-10.
INFERENCE_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5)


class CameraCounters(Protocol):
    """What a metric reads of a camera (:class:`edgecv.pipeline.camera.Camera` speaks it)."""

    name: str
    frames: int

    @property
    def dropped_frames(self) -> int: ...


class StageSamples(Protocol):
    def samples_since(self, stage: str, count: int) -> tuple[np.ndarray, int]: ...


class StageHistogram:
    """Cumulative buckets of one stage's durations, folded in from :class:`~edgecv.pipeline.timing.StageTimes`
    ring buffer (vectorised, under its own lock). ``fold`` must run at least once per ring length of frames
    (the sink calls it every few hundred frames, and every scrape does): samples older than the ring are
    gone, and would leave ``_count`` above the buckets' total."""

    def __init__(self, timings: StageSamples, stage: str, buckets: Sequence[float]) -> None:
        self._timings = timings
        self._stage = stage
        self._edges = np.asarray(buckets, np.float64)
        self._counts = np.zeros(len(buckets) + 1, np.int64)  # the last is +Inf
        self._sum = 0.0
        self._seen = 0
        self._lock = threading.Lock()

    def fold(self) -> None:
        with self._lock:
            samples, self._seen = self._timings.samples_since(self._stage, self._seen)
            if len(samples):
                # le buckets: a sample equal to an edge belongs to that edge's bucket.
                index = np.searchsorted(self._edges, samples, side="left")
                self._counts += np.bincount(index, minlength=len(self._counts))
                self._sum += float(samples.sum())

    def buckets(self) -> tuple[list[tuple[str, float]], float]:
        self.fold()
        with self._lock:
            cumulative = np.cumsum(self._counts)
            names = [repr(float(edge)) for edge in self._edges] + ["+Inf"]
            return [(name, float(n)) for name, n in zip(names, cumulative, strict=True)], self._sum


class RunCollector(Collector):
    """Every metric of ``/metrics``, read from the run when Prometheus scrapes."""

    def __init__(
        self,
        cameras: Sequence[CameraCounters],
        events: Mapping[tuple[str, str], int],
        inference: StageHistogram | None,
        flowing: Mapping[str, bool],
        mqtt: Callable[[], dict[str, Any] | None],
    ) -> None:
        self._cameras = cameras
        self._events = events
        self._inference = inference
        self._flowing = flowing
        self._mqtt = mqtt

    def collect(self) -> Iterator[Metric]:
        frames = CounterMetricFamily(
            "edgecv_frames",
            "Frames through the whole pipeline (inferred, decoded, output).",
            labels=["camera"],
        )
        dropped = CounterMetricFamily(
            "edgecv_dropped_frames",
            "Frames captured but never inferred (a live source's newer frame replaced them).",
            labels=["camera"],
        )
        flowing = GaugeMetricFamily(
            "edgecv_camera_flowing",
            "1 while the camera's frames flow, 0 while it is lost, stalled or ended (the watchdog's view).",
            labels=["camera"],
        )
        for camera in self._cameras:
            frames.add_metric([camera.name], camera.frames)
            dropped.add_metric([camera.name], camera.dropped_frames)
            flowing.add_metric([camera.name], 1.0 if self._flowing.get(camera.name) else 0.0)
        yield frames
        yield dropped
        yield flowing
        events = CounterMetricFamily(
            "edgecv_events",
            "Track events (new, end) and scene events (zone_enter, zone_exit, loiter, line_cross).",
            labels=["camera", "event"],
        )
        for (name, event), count in sorted(dict(self._events).items()):
            events.add_metric([name, event], count)
        yield events
        if self._inference is not None:
            buckets, total = self._inference.buckets()
            yield HistogramMetricFamily(
                "edgecv_inference_seconds",
                "Interpreter invoke time per frame (every camera; recent frames first folded in at scrape).",
                buckets=buckets,
                sum_value=total,
            )
        mqtt = self._mqtt()
        if mqtt is not None:  # absent without an MQTT sink: a 0 would read as a broken connection
            yield GaugeMetricFamily(
                "edgecv_mqtt_queue_depth",
                "MQTT messages waiting for the broker now (queued plus unacknowledged).",
                value=float(mqtt.get("queued", 0)),
            )
            yield GaugeMetricFamily(
                "edgecv_mqtt_connected",
                "1 while connected to the MQTT broker.",
                value=1.0 if mqtt.get("connected") else 0.0,
            )


class Metrics:
    """The registry ``/metrics`` renders, and the event counts the sink adds to."""

    def __init__(
        self,
        cameras: Sequence[CameraCounters],
        timings: StageSamples | None,
        flowing: Mapping[str, bool],
        mqtt: Callable[[], dict[str, Any] | None],
    ) -> None:
        self.events: Counter[tuple[str, str]] = Counter()
        self.inference = StageHistogram(timings, "inference", INFERENCE_BUCKETS) if timings else None
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(RunCollector(cameras, self.events, self.inference, flowing, mqtt))

    def render(self) -> bytes:
        return generate_latest(self.registry)
