"""The end-of-run report: a JSON object for tools, a few lines for people."""

from __future__ import annotations

import resource
import sys
from typing import Any

from .loop import RunResult


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def summary_dict(result: RunResult, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``--summary-json`` object; ``extra`` carries the sinks' own counters (``{"mqtt": {...}}``)."""
    stats = list(result.sources.values())
    dropped = (
        sum(c.dropped_frames for c in result.cameras.values())
        if result.cameras
        else sum(s.dropped for s in stats)
    )
    return {
        "frames": result.frames,
        "fps": round(result.fps, 2),
        "dropped_frames": dropped,
        "skipped_frames": sum(c.skipped_frames for c in result.cameras.values()),
        "peak_rss_mb": peak_rss_mb(),
        "stages_ms": result.stages_ms,
        "duration_s": round(result.duration_s, 3),
        "source_failures": sum(s.failures for s in stats),
        "reconnects": sum(s.reconnects for s in stats),
        "errors": result.errors,
        # Always, one entry for the one-camera shorthand: a consumer reads every run the same way.
        "cameras": {name: camera.as_dict() for name, camera in result.cameras.items()},
        **(extra or {}),
    }


def summary_text(summary: dict[str, Any]) -> str:
    lines = [
        f"edgecv: {summary['frames']} frames in {summary['duration_s']:.1f} s ({summary['fps']:.1f} fps), "
        f"{summary['dropped_frames']} dropped, peak RSS {summary['peak_rss_mb']:.0f} MB"
        + (f", {summary['skipped_frames']} skipped (detector not run)" if summary.get("skipped_frames") else "")
    ]
    if summary["stages_ms"]:
        stages = ", ".join(f"{k} {v['mean']:.2f}/{v['p95']:.2f}" for k, v in summary["stages_ms"].items())
        lines.append(f"  stages ms (mean/p95): {stages}")
    if summary["source_failures"] or summary["reconnects"]:
        lines.append(f"  source failures {summary['source_failures']}, reconnects {summary['reconnects']}")
    cameras = summary.get("cameras") or {}
    if len(cameras) > 1:
        lines.append(
            "  cameras: "
            + ", ".join(
                f"{name} {c['frames']} frames ({c['fps']:.1f} fps, {c['dropped_frames']} dropped"
                + (f", {c['reconnects']} reconnects" if c["reconnects"] else "")
                + ")"
                for name, c in cameras.items()
            )
        )
    lines.extend(f"  error: {e}" for e in summary["errors"])
    mqtt = summary.get("mqtt") or {}
    if mqtt.get("spooled") or mqtt.get("undelivered"):
        # What a user must know about their events: waiting on disk for the next start, or gone.
        lines.append(
            f"  mqtt: {mqtt.get('spooled', 0)} event(s) spooled for the next start, "
            f"{mqtt.get('undelivered', 0)} undelivered (lost)"
            + (
                ""
                if mqtt.get("connected")
                else f"; broker not connected: {mqtt.get('last_error') or 'no answer'}"
            )
        )
    return "\n".join(lines)
