"""Replay: record a whole-pipeline run, then score its tracks against MOT ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgecv.errors import EdgecvError
from edgecv.evaluate.tracking import evaluate_recording, read_recording

from ..cli.helpers import edgecv


def test_record_then_score_against_ground_truth(tmp_path: Path, yolov8n: Path, shared_assets: Path) -> None:
    sequence = shared_assets / "mot15" / "TUD-Campus"
    recording = tmp_path / "run.jsonl"
    result = edgecv(
        "run",
        "--model",
        str(yolov8n),
        "--source",
        str(sequence / "TUD-Campus.mp4"),
        "--threads",
        "1",
        "--record",
        str(recording),
        env={"EDGECV_DETECT__CLASSES": "person", "EDGECV_OUTPUT__STDOUT": "off"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # stdout off; the recording has everything
    lines = [json.loads(line) for line in recording.read_text().splitlines()]
    frames = [line for line in lines if line["type"] == "frame"]
    assert [f["seq"] for f in frames] == list(range(71))
    assert any(line["type"] == "event" for line in lines)
    scored = edgecv(
        "eval", "track", "--recorded", str(recording), "--gt", str(sequence / "gt" / "gt.txt"), "--json"
    )
    assert scored.returncode == 0, scored.stderr
    figures = json.loads(scored.stdout)
    # YOLOv8n instead of the sequence's Faster R-CNN detections, the whole pipeline. 0.649 / 0.787 since issue
    # 16 (filtered boxes, the cascade, retuned thresholds); the floor is the figure before it, 0.565 / 0.672:
    # the tracker's tuning on the Faster R-CNN sequences must never cost the pipeline.
    assert figures["mota"] >= 0.565 and figures["idf1"] >= 0.672, figures


def test_recording_errors(tmp_path: Path) -> None:
    with pytest.raises(EdgecvError, match="recording not found"):
        read_recording(tmp_path / "absent.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "frame", "seq": 0, "ts": 1, "detections": []}\nnot json\n')
    with pytest.raises(EdgecvError, match="bad.jsonl:2: not a JSON line"):
        read_recording(bad)
    empty = tmp_path / "events.jsonl"
    empty.write_text('{"type": "event"}\n')
    with pytest.raises(EdgecvError, match="no frame lines"):
        read_recording(empty)


def test_perfect_recording_scores_one(tmp_path: Path) -> None:
    gt = tmp_path / "gt.txt"
    gt.write_text("1,1,10,10,20,40,1,-1,-1,-1\n2,1,12,10,20,40,1,-1,-1,-1\n2,2,100,50,30,60,1,-1,-1,-1\n")
    recording = tmp_path / "run.jsonl"
    frames = [
        {
            "type": "frame",
            "seq": 0,
            "ts": 0.0,
            "detections": [
                {"label": "person", "class_id": 0, "score": 0.9, "box": [10, 10, 30, 50], "track_id": 7}
            ],
        },
        {
            "type": "frame",
            "seq": 1,
            "ts": 0.1,
            "detections": [
                {"label": "person", "class_id": 0, "score": 0.9, "box": [12, 10, 32, 50], "track_id": 7},
                {"label": "person", "class_id": 0, "score": 0.9, "box": [100, 50, 130, 110], "track_id": 9},
                {"label": "person", "class_id": 0, "score": 0.3, "box": [300, 50, 330, 110]},
            ],
        },
    ]
    recording.write_text("".join(json.dumps(f) + "\n" for f in frames))
    figures = evaluate_recording(recording, gt)
    assert figures["mota"] == pytest.approx(1.0) and figures["idf1"] == pytest.approx(1.0)
    assert figures["id_switches"] == 0


def test_a_recording_of_several_cameras_is_scored_per_camera(
    tmp_path: Path, ssd_mobilenet: Path, shared_assets: Path
) -> None:
    """TUD-Campus as two cameras of one run: each camera's own tracker, so each scores as a one-camera run
    of the clip does (track ids differ: they are unique across the run)."""
    sequence = shared_assets / "mot15" / "TUD-Campus"
    clip, gt = str(sequence / "TUD-Campus.mp4"), str(sequence / "gt" / "gt.txt")
    model = {"path": str(ssd_mobilenet), "labels": str(ssd_mobilenet.parent / "labelmap.txt"), "threads": 1}
    base = {"model": model, "detect": {"classes": ["person"]}, "tracker": {"high_score": 0.5}}
    two = tmp_path / "two.yaml"
    two.write_text(
        json.dumps(
            {**base, "cameras": {"left": {"source": {"uri": clip}}, "right": {"source": {"uri": clip}}}}
        )
    )
    one = tmp_path / "one.yaml"
    one.write_text(json.dumps(base))
    env = {"EDGECV_OUTPUT__STDOUT": "off"}
    assert (
        edgecv("run", "--config", str(two), "--record", str(tmp_path / "two.jsonl"), env=env).returncode == 0
    )
    alone = edgecv(
        "run", "--config", str(one), "--source", clip, "--record", str(tmp_path / "one.jsonl"), env=env
    )
    assert alone.returncode == 0, alone.stderr

    def score(recording: str, *camera: str) -> dict:
        result = edgecv("eval", "track", "--recorded", recording, "--gt", gt, *camera, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    expected = score(str(tmp_path / "one.jsonl"))
    for name in ("left", "right"):
        got = score(str(tmp_path / "two.jsonl"), "--camera", name)
        assert (got["mota"], got["idf1"], got["id_switches"]) == (
            expected["mota"],
            expected["idf1"],
            expected["id_switches"],
        ), name
    assert expected["mota"] > 0.4, expected  # SSD MobileNet on TUD-Campus: a real score, not an empty one
    both = edgecv("eval", "track", "--recorded", str(tmp_path / "two.jsonl"), "--gt", gt)
    assert both.returncode == 2 and "records 2 cameras (left, right)" in both.stderr
    assert "--camera" in both.stderr
    wrong = edgecv("eval", "track", "--recorded", str(tmp_path / "two.jsonl"), "--gt", gt, "--camera", "x")
    assert wrong.returncode == 2 and "no frames of camera 'x'" in wrong.stderr
