"""``edgecv bench``: the whole pipeline against the model's bare ``invoke()``, measured in one process.

For each interpreter thread count the same interpreter is timed bare (fixed input, nothing else running),
then drives the full pipeline over the source, then is timed bare again; ``efficiency`` is the pipeline's
frame rate over the mean of the two bare rates, so a drift of the machine's speed during the run is shared
by both sides.

A loaded or throttling machine still moves between a round's bare and pipeline halves. Each round's
efficiency is kept: their spread says how far the machine moved, and an efficiency above 1 (the pipeline
beating its own bare interpreter) can only be such movement. A thread count is recommended only when every
row of the sweep is steady enough to compare; otherwise ``recommended_threads`` is null, with the reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import Settings
from ..detect.detector import Detector
from ..pipeline.build import build_cameras, build_detector, build_sources
from ..pipeline.loop import Pipeline
from ..pipeline.summary import peak_rss_mb
from ..pipeline.timing import StageTimes

INFERENCE_THREAD_STAGES = ("frame_wait", "inference", "handoff")
# A thread count must beat the next smaller one by this much to be worth its core.
RECOMMEND_GAIN = 1.05
ROUNDS = MIN_ROUNDS = 3  # a spread needs at least three rounds to mean anything
MIN_ROUND_FRAMES = 10
# The pipeline runs the same invokes as the bare loop plus work around them: above 1 by more than timer noise,
# the machine sped up between the halves of a round.
MAX_EFFICIENCY = 1.02
# Rounds whose efficiencies differ by more than this: the machine's speed moved by as much as the
# differences between thread counts being compared.
MAX_SPREAD = 0.03


@dataclass(frozen=True)
class Round:
    """One round's measurements: bare invokes (both halves together) and the pipeline's steady state."""

    bare_frames: int
    bare_s: float
    pipeline_frames: int
    pipeline_s: float

    @property
    def efficiency(self) -> float:
        if self.bare_s <= 0 or self.pipeline_s <= 0 or not self.bare_frames:
            return 0.0
        return (self.pipeline_frames / self.pipeline_s) / (self.bare_frames / self.bare_s)


def summarize_rounds(rounds: list[Round]) -> dict[str, Any]:
    """Rates over all rounds, each round's efficiency, their spread, and why the figures are not to be
    trusted (``unreliable``, empty when they are)."""
    bare_s = sum(r.bare_s for r in rounds)
    pipeline_s = sum(r.pipeline_s for r in rounds)
    fps = sum(r.pipeline_frames for r in rounds) / pipeline_s if pipeline_s > 0 else 0.0
    bare = sum(r.bare_frames for r in rounds) / bare_s if bare_s > 0 else 0.0
    efficiency = fps / bare if bare else 0.0
    per_round = [round(r.efficiency, 4) for r in rounds]
    spread = max(per_round) - min(per_round) if per_round else 0.0
    unreliable = []
    if efficiency > MAX_EFFICIENCY:
        unreliable.append(
            f"efficiency {efficiency:.3f} > {MAX_EFFICIENCY}: the pipeline cannot beat its own bare "
            "interpreter; the machine's speed changed during the run"
        )
    if spread > MAX_SPREAD:
        unreliable.append(f"efficiency spread {spread:.3f} over {len(rounds)} rounds > {MAX_SPREAD}")
    return {
        "fps": round(fps, 2),
        "invoke_fps": round(bare, 2),
        "efficiency": round(efficiency, 4),
        "rounds": len(rounds),
        "efficiency_rounds": per_round,
        "efficiency_spread": round(spread, 4),
        "unreliable": unreliable,
    }


def invoke_seconds(detector: Detector, invokes: int) -> float:
    """Wall time of ``invokes`` bare invokes on a fixed input (after a short warm-up)."""
    spec = detector.input
    detector.interpreter.set_tensor(spec.index, np.zeros(spec.shape, spec.dtype))
    for _ in range(3):
        detector.interpreter.invoke()
    start = time.perf_counter()
    for _ in range(invokes):
        detector.interpreter.invoke()
    return time.perf_counter() - start


def round_counts(frames: int, rounds: int) -> list[int]:
    """``frames`` split into ``rounds`` (at least :data:`MIN_ROUNDS`) near-equal rounds."""
    rounds = max(rounds, MIN_ROUNDS)
    if frames < rounds * MIN_ROUND_FRAMES:
        raise ValueError(f"{frames} frames cannot make {rounds} rounds of {MIN_ROUND_FRAMES}")
    return [frames // rounds + (1 if i < frames % rounds else 0) for i in range(rounds)]


def bench_threads(settings: Settings, threads: int, frames: int, rounds: int = ROUNDS) -> dict[str, Any]:
    """Alternate bare invokes and pipeline runs in ``rounds``, with equal frame counts on both sides.

    A shared or throttling machine changes speed from second to second; interleaving spreads that drift
    over both sides of the ratio instead of letting it land on one. Every camera of the config runs (one
    for the shorthand): ``fps`` is all of them together, each camera's share is in ``cameras``.
    """
    settings = looping(settings)
    settings.model.threads = threads
    sources = build_sources(settings)
    detector = build_detector(settings)
    for source in sources:
        source.open()
    timings = StageTimes()
    measured: list[Round] = []
    shares = dict.fromkeys((s.source_id for s in sources), 0)
    dropped = 0
    try:
        for per_round in round_counts(frames, rounds):
            before = per_round // 2
            bare_s = invoke_seconds(detector, before)
            # Fresh cameras each round (their counters and trackers start at zero), over the same sources.
            cameras = build_cameras(settings, detector, sources)
            for camera in cameras:
                camera.motion_enabled = False  # every frame inferred: the bench measures the pipeline's rate
            pipeline = Pipeline(detector, cameras, [], max_frames=per_round, timings=timings)
            result = pipeline.run()
            for camera in cameras:
                shares[camera.name] += camera.frames
                dropped += camera.replaced
            bare_s += invoke_seconds(detector, per_round - before)
            # Throughput once the pipeline is full (first to last frame out): start-up and drain are not
            # what a camera running for months sees, and on a short benchmark they would dominate.
            measured.append(Round(per_round, bare_s, max(result.frames - 1, 0), result.steady_s))
    finally:
        for source in sources:
            source.close()
    summary = summarize_rounds(measured)
    fps = summary["fps"]
    stages = timings.summary_ms()
    inference_thread = {k: stages[k] for k in INFERENCE_THREAD_STAGES if k in stages}
    overlapped = {k: v for k, v in stages.items() if k not in INFERENCE_THREAD_STAGES}
    loop_ms = 1000 / fps if fps else 0.0
    stage_sum = sum(v["mean"] for v in inference_thread.values())
    return {
        "threads": threads,
        "frames": frames,
        **summary,
        **camera_shares(fps, shares),
        "peak_rss_mb": peak_rss_mb(),
        "stages_ms": stages,
        "inference_thread_ms": inference_thread,
        "overlapped_ms": overlapped,
        "loop_ms": round(loop_ms, 3),
        "inference_thread_coverage": round(stage_sum / loop_ms, 4) if loop_ms else 0.0,
        "dropped_frames": dropped + sum(s.stats.dropped for s in sources),
    }


def camera_shares(fps: float, frames: dict[str, int]) -> dict[str, Any]:
    """Each camera's part of ``fps`` (by the frames it had), and ``camera_fps_spread``: how far the
    furthest camera is from the cameras' mean, as a fraction of it (0: perfectly even)."""
    total = sum(frames.values())
    rates = {name: fps * n / total if total else 0.0 for name, n in frames.items()}
    mean = sum(rates.values()) / len(rates) if rates else 0.0
    spread = max(abs(rate - mean) for rate in rates.values()) / mean if mean else 0.0
    return {
        "cameras": {name: {"fps": round(rate, 2), "frames": frames[name]} for name, rate in rates.items()},
        "camera_fps_spread": round(spread, 4),
    }


def looping(settings: Settings) -> Settings:
    """A copy whose files loop, so ``--frames`` may exceed a clip's length."""
    settings = settings.model_copy(deep=True)
    for camera in settings.camera_sections().values():
        camera.source.loop = True
    return settings


def recommend(sweep: list[dict[str, Any]]) -> dict[str, Any]:
    """The fewest threads within reach of the best frame rate: extra threads steal the capture core."""
    ordered = sorted(sweep, key=lambda r: r["threads"])
    best = ordered[0]
    for row in ordered[1:]:
        if row["fps"] >= best["fps"] * RECOMMEND_GAIN:
            best = row
    return best


def withheld(sweep: list[dict[str, Any]]) -> str | None:
    """Why no thread count may be recommended (None when one may): a row whose figures are not to be
    trusted cannot be compared with the others."""
    reasons = [
        f"{row['threads']} threads: {'; '.join(row['unreliable'])}" for row in sweep if row["unreliable"]
    ]
    if not reasons:
        return None
    return " | ".join(reasons) + " (rerun on a quiet machine, or with more --frames or --rounds)"


def report(sweep: list[dict[str, Any]]) -> dict[str, Any]:
    """The sweep, the best row's figures at the top, and ``recommended_threads`` (null when withheld)."""
    chosen = recommend(sweep)
    reason = withheld(sweep)
    return {
        **chosen,
        "peak_rss_mb": peak_rss_mb(),
        "recommended_threads": None if reason else chosen["threads"],
        "recommendation_withheld": reason,
        "sweep": sweep,
    }


def run_bench(
    settings: Settings, thread_counts: list[int], frames: int, rounds: int = ROUNDS
) -> dict[str, Any]:
    return report([bench_threads(settings, t, frames, rounds) for t in thread_counts])
