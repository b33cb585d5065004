"""``edgecv bench``: the whole pipeline against the model's bare ``invoke()``, measured in one process.

For each interpreter thread count the same interpreter is timed bare (fixed input, nothing else running),
then drives the full pipeline over the source, then is timed bare again; ``efficiency`` is the pipeline's
frame rate over the mean of the two bare rates, so a drift of the machine's speed during the run is shared
by both sides.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..capture import open_source
from ..config import Settings
from ..detect.detector import Detector
from ..pipeline.build import build_detector, build_tracker_factory
from ..pipeline.loop import Pipeline
from ..pipeline.summary import peak_rss_mb

INFERENCE_THREAD_STAGES = ("frame_wait", "inference", "handoff")
# A thread count must beat the next smaller one by this much to be worth its core.
RECOMMEND_GAIN = 1.05


def invoke_fps(detector: Detector, invokes: int) -> float:
    spec = detector.input
    detector.interpreter.set_tensor(spec.index, np.zeros(spec.shape, spec.dtype))
    for _ in range(3):
        detector.interpreter.invoke()
    start = time.perf_counter()
    for _ in range(invokes):
        detector.interpreter.invoke()
    return invokes / (time.perf_counter() - start)


def bench_threads(settings: Settings, threads: int, frames: int) -> dict[str, Any]:
    settings = settings.model_copy(deep=True)
    settings.model.threads = threads
    detector = build_detector(settings)
    invokes = max(20, min(frames, 200))
    bare_before = invoke_fps(detector, invokes)
    source_config = replace_loop(settings)
    source = open_source(source_config, default_uri=_default_uri(settings))
    source.open()
    try:
        pipeline = Pipeline(
            detector,
            [source],
            [],
            max_frames=frames,
            tracker_factory=build_tracker_factory(settings, detector),
        )
        result = pipeline.run()
    finally:
        source.close()
    bare_after = invoke_fps(detector, invokes)
    bare = (bare_before + bare_after) / 2
    stages = result.stages_ms
    inference_thread = {k: stages[k] for k in INFERENCE_THREAD_STAGES if k in stages}
    overlapped = {k: v for k, v in stages.items() if k not in INFERENCE_THREAD_STAGES}
    loop_ms = 1000 / result.fps if result.fps else 0.0
    stage_sum = sum(v["mean"] for v in inference_thread.values())
    return {
        "threads": threads,
        "frames": result.frames,
        "fps": round(result.fps, 2),
        "invoke_fps": round(bare, 2),
        "efficiency": round(result.fps / bare, 4) if bare else 0.0,
        "peak_rss_mb": peak_rss_mb(),
        "stages_ms": stages,
        "inference_thread_ms": inference_thread,
        "overlapped_ms": overlapped,
        "loop_ms": round(loop_ms, 3),
        "inference_thread_coverage": round(stage_sum / loop_ms, 4) if loop_ms else 0.0,
        "dropped_frames": sum(s.dropped for s in result.sources.values()),
    }


def replace_loop(settings: Settings) -> Any:
    """Files loop in a benchmark, so ``--frames`` may exceed the clip's length."""
    return settings.source.model_copy(update={"loop": True})


def _default_uri(settings: Settings) -> str | None:
    from .. import bundled

    return None if settings.source.uri else str(bundled.demo_clip())


def recommend(sweep: list[dict[str, Any]]) -> dict[str, Any]:
    """The fewest threads within reach of the best frame rate: extra threads steal the capture core."""
    ordered = sorted(sweep, key=lambda r: r["threads"])
    best = ordered[0]
    for row in ordered[1:]:
        if row["fps"] >= best["fps"] * RECOMMEND_GAIN:
            best = row
    return best


def run_bench(settings: Settings, thread_counts: list[int], frames: int) -> dict[str, Any]:
    sweep = [bench_threads(settings, t, frames) for t in thread_counts]
    chosen = recommend(sweep)
    return {**chosen, "peak_rss_mb": peak_rss_mb(), "recommended_threads": chosen["threads"], "sweep": sweep}
