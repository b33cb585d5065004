"""Line counting and zone occupancy against MOT15 ground truth, asserted as figures (BENCHMARKS.md "Scene
rules"): the benches' own code on the seven sequences' public detections and on the ground truth's boxes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "tools" / "bench"


def bench(name: str) -> ModuleType:
    sys.path.insert(0, str(BENCH))  # the benches import each other by name
    try:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


def line_error(mot15: Path, truth_boxes: bool) -> float:
    lc, m = bench("line_counts"), bench("line_counts_mot")
    errors = total = 0
    for name in m.SEQUENCES:
        gt = mot15 / name / "gt" / "gt.txt"
        g = lc.load_gt(gt)
        frame, boxes, scores, n, fps, _, _ = m.load(mot15 / name)
        if truth_boxes:
            order = np.argsort(g[:, 0], kind="stable")
            frame = g[order, 0].astype(np.int64) - 1
            boxes = np.concatenate([g[order, 2:4], g[order, 2:4] + g[order, 4:6]], axis=1).astype(np.float32)
            scores = np.full(len(frame), 0.95, np.float32)
        lines = lc.choose_lines(g[:, 2] + g[:, 4] / 2, g[:, 3] + g[:, 5])
        truth = lc.gt_counts(gt, lines)
        errors += lc.error(lc.edgecv_counts(frame, boxes, scores, n, fps, lines, 0.1), truth)
        total += sum(sum(v) for v in truth.values())
    return errors / total


@pytest.mark.shared
def test_line_counts_on_seven_mot15_sequences(shared_assets: Path) -> None:
    mot15 = shared_assets / "mot15"
    # measured 5.7% (truth boxes) and 27.7% (det.txt): the lines and tracker lose little, the detector the rest
    assert line_error(mot15, truth_boxes=True) <= 0.07
    assert line_error(mot15, truth_boxes=False) <= 0.29


def test_reference_counts_a_wobbling_trajectory_once() -> None:
    lc = bench("line_counts")
    line = [[0.0, 100.0], [200.0, 100.0]]  # in: below
    ys = np.array([80, 95, 103, 98, 104, 99, 102, 130.0])  # wobbles within 5 px (band 0.05 x 100 px), then in
    xs, heights = np.linspace(20, 180, ys.size), np.full(ys.size, 100.0)
    assert lc.gt_crossings(xs, ys, heights, line, band=0.05) == [1, 0]
    assert lc.gt_crossings(xs, ys, heights, line, band=0.0) == [
        3,
        2,
    ]  # the plain reference counts each wobble
    # first and last points decide even inside the band: starting 2 px out and walking in is a crossing
    assert lc.gt_crossings(xs[:3], np.array([98, 120, 140.0]), heights[:3], line, band=0.05) == [1, 0]
