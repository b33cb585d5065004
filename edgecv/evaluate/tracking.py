"""``edgecv eval track``: run the tracker over MOTChallenge sequences and score it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..config.tracker import TrackerConfig
from ..track.tracker import ByteTracker
from .mot import frame_pairs, read_sequence, run_tracker
from .mot_scores import clear_counts, hota_counts, summarise


def evaluate_tracking(paths: Sequence[str | Path], config: TrackerConfig | None = None) -> dict[str, Any]:
    """MOTA, IDF1, HOTA and id switches summed over ``paths``, each sequence's too, and update time.

    Each sequence gets a fresh tracker fed at its own frame rate; ``ms_per_frame`` is the mean wall time
    of one ``update`` over every frame of every sequence.
    """
    sequences: dict[str, Any] = {}
    clear_parts, hota_parts, times = [], [], []
    for path in paths:
        seq = read_sequence(path)
        run = run_tracker(seq, ByteTracker(config).update)
        frames = frame_pairs(seq, run.results)
        clear, hota = clear_counts(frames), hota_counts(frames)
        clear_parts.append(clear)
        hota_parts.append(hota)
        times.extend(run.update_ms)
        sequences[seq.name] = {**summarise([clear], [hota]), "ms_per_frame": run.ms_per_frame}
    total = summarise(clear_parts, hota_parts)
    return {**total, "ms_per_frame": sum(times) / max(1, len(times)), "sequences": sequences}
