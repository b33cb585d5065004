"""MOTChallenge reading, scoring against TrackEval, and the TUD-Campus accuracy floor."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgecv.cli import main as cli_main
from edgecv.evaluate.mot import frame_pairs, read_sequence, run_tracker
from edgecv.track.tracker import ByteTracker

pytest.importorskip("motmetrics")
from edgecv.evaluate.mot_scores import clear_counts, hota_counts, summarise

# Committed figures (BENCHMARKS.md, "Tracking"); the peers' best is 0.579 MOTA (ByteTrack), 0.680 IDF1 (OC-SORT).
TUD_CAMPUS_MOTA = 0.587
TUD_CAMPUS_IDF1 = 0.689


def write_sequence(root: Path, gt_rows: list[list[float]], det_rows: list[list[float]], length: int) -> Path:
    (root / "gt").mkdir(parents=True)
    (root / "det").mkdir()
    (root / "seqinfo.ini").write_text(f"[Sequence]\nname={root.name}\nframeRate=10\nseqLength={length}\n")
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
    r = summarise([clear_counts(frames)], [hota_counts(frames)])
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
    ours = summarise([clear_counts(frames)], [hota_counts(frames)])
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


def test_eval_track_rejects_a_folder_that_is_no_sequence(tmp_path, capsys):
    assert cli_main(["eval", "track", str(tmp_path)]) != 0
    assert "seqinfo.ini" in capsys.readouterr().err
