"""MOTChallenge reading, scoring against TrackEval, and the TUD-Campus accuracy floor."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgecv.cli import main as cli_main
from edgecv.errors import EdgecvError
from edgecv.evaluate.mot import frame_pairs, read_sequence, run_tracker, subsample
from edgecv.track.tracker import ByteTracker

pytest.importorskip("motmetrics")
from edgecv.evaluate.mot_scores import OVERALL, score

# Committed figures (BENCHMARKS.md, "Tracking"), each a little under what the tracker scores now.
# TUD-Campus alone: 0.643 / 0.759; the peers' best is 0.579 MOTA (ByteTrack), 0.680 IDF1 (OC-SORT).
TUD_CAMPUS_MOTA = 0.641
TUD_CAMPUS_IDF1 = 0.757
MOT15_SEVEN = (
    "ADL-Rundle-6",
    "ADL-Rundle-8",
    "ETH-Pedcross2",
    "ETH-Sunnyday",
    "KITTI-17",
    "TUD-Campus",
    "Venice-2",
)
# Overall over the seven at their own rates and at about 5 fps: edgecv 0.355 / 0.486 and 0.367 / 0.516
# MOTA / IDF1; the best peer (tools/bench/tracker.py) 0.333 (OC-SORT) / 0.457 (OC-SORT) and 0.340 / 0.481
# (both roboflow ByteTrack). Floors: (fps, MOTA, IDF1).
MOT15_SEVEN_FLOORS = ((None, 0.352, 0.484), (5.0, 0.365, 0.513))


def write_sequence(
    root: Path, gt_rows: list[list[float]], det_rows: list[list[float]], length: int, fps: float = 10
) -> Path:
    (root / "gt").mkdir(parents=True)
    (root / "det").mkdir()
    (root / "seqinfo.ini").write_text(f"[Sequence]\nname={root.name}\nframeRate={fps}\nseqLength={length}\n")
    (root / "gt" / "gt.txt").write_text("\n".join(",".join(map(str, r)) for r in gt_rows) + "\n")
    (root / "det" / "det.txt").write_text("\n".join(",".join(map(str, r)) for r in det_rows) + "\n")
    return root


def test_consider_flag_and_mot17_distractors(tmp_path):
    # MOT17 layout (9 columns): id 1 pedestrian, id 2 ignored (consider 0), id 3 a static person (class 7).
    gt = (
        [[f, 1, 10, 10, 40, 100, 1, 1, 1.0] for f in range(1, 4)]
        + [[f, 2, 200, 10, 40, 100, 0, 1, 1.0] for f in range(1, 4)]
        + [[f, 3, 400, 10, 40, 100, 1, 7, 1.0] for f in range(1, 4)]
    )
    seq = write_sequence(tmp_path / "MOT17-XX", gt, [], 3)
    seq = read_sequence(seq)
    assert seq.has_classes
    results = np.array(
        [[f, 9, 400, 10, 40, 100] for f in range(1, 4)] + [[f, 5, 10, 10, 40, 100] for f in range(1, 4)],
        float,
    )
    frames = frame_pairs(seq, results)
    assert [g.tolist() for g, _, _ in frames] == [[1]] * 3  # only the considered pedestrian is ground truth
    assert [t.tolist() for _, t, _ in frames] == [[5]] * 3  # the box on the static person is not a FP
    r = score({"MOT17-XX": frames})["MOT17-XX"]
    assert r["mota"] == 1.0 and r["idf1"] == 1.0 and r["false_positives"] == 0


def test_mot15_world_columns_are_not_classes(tmp_path):
    gt = [[1, 1, 10, 10, 40, 100, 1, 4.5, 5.5, 0]]
    seq = read_sequence(write_sequence(tmp_path / "S", gt, [[1, -1, 10, 10, 40, 100, 0.9]], 1))
    assert not seq.has_classes
    assert [g.tolist() for g, _, _ in frame_pairs(seq, np.zeros((0, 6)))] == [[1]]


def test_hota_mota_idf1_agree_with_trackeval(shared_assets):
    metrics = pytest.importorskip("trackeval.metrics")
    seq = read_sequence(shared_assets / "mot15" / "TUD-Campus")
    frames = frame_pairs(seq, run_tracker(seq, ByteTracker().update).results)
    ours = score({seq.name: frames})[OVERALL]
    gt_ids = {v: i for i, v in enumerate(np.unique(np.concatenate([f[0] for f in frames])))}
    tr_ids = {v: i for i, v in enumerate(np.unique(np.concatenate([f[1] for f in frames])))}
    data = {
        "num_timesteps": len(frames),
        "num_gt_ids": len(gt_ids),
        "num_tracker_ids": len(tr_ids),
        "num_gt_dets": sum(f[0].size for f in frames),
        "num_tracker_dets": sum(f[1].size for f in frames),
        "gt_ids": [np.array([gt_ids[v] for v in f[0]], int) for f in frames],
        "tracker_ids": [np.array([tr_ids[v] for v in f[1]], int) for f in frames],
        "similarity_scores": [f[2] for f in frames],
    }
    hota = metrics.HOTA().eval_sequence(data)
    clear = metrics.CLEAR().eval_sequence(data)
    identity = metrics.Identity().eval_sequence(data)
    assert ours["hota"] == pytest.approx(float(np.mean(hota["HOTA"])), abs=1e-9)
    assert ours["mota"] == pytest.approx(clear["MOTA"], abs=1e-9)
    assert ours["idf1"] == pytest.approx(identity["IDF1"], abs=1e-9)


@pytest.mark.shared
def test_tud_campus_does_not_regress(shared_assets, capsys):
    seq = shared_assets / "mot15" / "TUD-Campus"
    assert cli_main(["eval", "track", "--json", str(seq)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) >= {"mota", "idf1", "hota", "id_switches", "ms_per_frame", "sequences"}
    assert result["sequences"]["TUD-Campus"]["mota"] == result["mota"]
    assert result["mota"] >= TUD_CAMPUS_MOTA, result
    assert result["idf1"] >= TUD_CAMPUS_IDF1, result


@pytest.mark.shared
@pytest.mark.parametrize(("fps", "mota", "idf1"), MOT15_SEVEN_FLOORS, ids=["native", "5fps"])
def test_overall_over_seven_mot15_sequences_does_not_regress(shared_assets, capsys, fps, mota, idf1):
    """The tuning set as a whole (never one sequence): seven sequences, static and moving cameras."""
    paths = [str(shared_assets / "mot15" / name) for name in MOT15_SEVEN]
    args = ["eval", "track", "--json", *paths] + ([] if fps is None else ["--fps", str(fps)])
    assert cli_main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert sorted(result["sequences"]) == sorted(MOT15_SEVEN)
    assert result["mota"] >= mota, result
    assert result["idf1"] >= idf1, result


def test_eval_track_rejects_a_folder_that_is_no_sequence(tmp_path, capsys):
    assert cli_main(["eval", "track", str(tmp_path)]) != 0
    assert "seqinfo.ini" in capsys.readouterr().err


def _walker(frames: range, track: int = 1) -> list[list[float]]:
    """MOT15 rows of one person walking right at 4 px per frame."""
    return [[f, track, 10 + 4 * f, 10, 40, 100, 1, -1, -1, -1] for f in frames]


def test_subsample_keeps_every_kth_frame_renumbered(tmp_path):
    gt = _walker(range(1, 11))
    det = [[f, -1, 10 + 4 * f, 10, 40, 100, 0.9] for f in range(1, 11)]
    seq = read_sequence(write_sequence(tmp_path / "S", gt, det, 10, fps=30))
    low = subsample(seq, 10)  # k = 3: frames 1, 4, 7, 10
    assert (low.fps, low.length, low.step) == (10.0, 4, 3)
    assert low.gt[:, 0].tolist() == [1, 2, 3, 4]
    assert low.gt[:, 2].tolist() == [14, 26, 38, 50]  # x of the original frames 1, 4, 7, 10
    assert low.det[:, 0].tolist() == [1, 2, 3, 4] and low.det[:, 1].tolist() == [14, 26, 38, 50]
    assert subsample(seq, 7).step == 4  # round(30 / 7) = 4
    assert subsample(seq, 60) is seq  # above the native rate: every frame
    assert subsample(subsample(seq, 15), 5).step == 6  # 30 -> 15 -> 5 fps
    for bad in (0.0, -5.0, float("nan")):
        with pytest.raises(EdgecvError, match="positive frame rate"):
            subsample(seq, bad)


def test_overall_is_motmetrics_compute_many(tmp_path):
    """Two sequences combine as motmetrics' OVERALL row: sums of counts, not a mean of the two MOTAs."""
    perfect = [[f, 7, 10 + 4 * f, 10, 40, 100] for f in range(1, 5)]
    seq_a = read_sequence(write_sequence(tmp_path / "A", _walker(range(1, 5)), [], 4))
    # B: 2 ground-truth rows; the tracker has one right box and one false positive.
    seq_b = read_sequence(write_sequence(tmp_path / "B", _walker(range(1, 3)), [], 2))
    results_b = np.array([[1, 3, 14, 10, 40, 100], [2, 4, 500, 10, 40, 100]], float)
    scores = score({"A": frame_pairs(seq_a, np.array(perfect, float)), "B": frame_pairs(seq_b, results_b)})
    assert scores["A"]["mota"] == 1.0
    assert scores["B"]["mota"] == pytest.approx(1 - 2 / 2)  # one miss, one false positive
    assert scores[OVERALL]["mota"] == pytest.approx(1 - 2 / 6)
    assert scores[OVERALL]["false_positives"] == 1 and scores[OVERALL]["misses"] == 1
    assert scores[OVERALL]["idf1"] == pytest.approx(2 * 5 / (2 * 5 + 1 + 1))


def test_eval_track_fps_flag(tmp_path, capsys):
    gt = _walker(range(1, 31))
    det = [[f, -1, 10 + 4 * f, 10, 40, 100, 0.9] for f in range(1, 31)]
    seq = write_sequence(tmp_path / "S", gt, det, 30, fps=30)
    assert cli_main(["eval", "track", "--json", "--fps", "5", str(seq)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["sequences"]["S"]["fps"] == 5.0
    assert result["mota"] > 0.5  # one walker at 24 px per frame is still tracked
    assert cli_main(["eval", "track", "--fps", "0", str(seq)]) != 0
    assert "positive frame rate" in capsys.readouterr().err
    gt_file = str(seq / "gt" / "gt.txt")
    assert cli_main(["eval", "track", "--recorded", "run.jsonl", "--gt", gt_file, "--fps", "5"]) != 0
    assert "--fps applies to sequence folders" in capsys.readouterr().err
