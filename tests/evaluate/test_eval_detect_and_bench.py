"""eval detect agrees with pycocotools on edgecv detect's own output; bench reports what it promises."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from edgecv.evaluate.coco import coco_map

from ..cli.helpers import edgecv, error_line


def test_eval_detect_equals_pycocotools_on_detect_output(
    tmp_path: Path, yolov8n: Path, shared_assets: Path
) -> None:
    coco = shared_assets / "coco_val2017"
    images = sorted((coco / "images").glob("*.jpg"))
    detect = edgecv("detect", "--model", str(yolov8n), "--conf", "0.001", *map(str, images))
    assert detect.returncode == 0, detect.stderr
    reference = coco_map([json.loads(line) for line in detect.stdout.splitlines()], coco / "instances.json")

    report_path = tmp_path / "report" / "eval.json"
    result = edgecv(
        "eval",
        "detect",
        "--model",
        str(yolov8n),
        "--images",
        str(coco / "images"),
        "--annotations",
        str(coco / "instances.json"),
        "--report",
        str(report_path),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert abs(report["map50_95"] - reference["map50_95"]) <= 1e-4
    assert abs(report["map50"] - reference["map50"]) <= 1e-4
    assert {"map50_95", "map50", "per_class", "precision", "recall"} <= set(report)
    assert report["per_class"]["person"]["instances"] > 50
    assert 0 < report["precision"] <= 1 and 0 < report["recall"] <= 1
    assert json.loads(report_path.read_text())["map50_95"] == report["map50_95"]
    plot = cv2.imread(str(report_path.with_suffix(".png")))
    assert plot is not None and plot.shape[0] > 300

    # The same photographs with their YOLO labels score the same.
    yolo = edgecv(
        "eval",
        "detect",
        "--model",
        str(yolov8n),
        "--images",
        str(coco / "images"),
        "--annotations",
        str(coco / "labels"),
        "--report",
        str(tmp_path / "yolo.json"),
        "--json",
    )
    assert yolo.returncode == 0, yolo.stderr
    assert json.loads(yolo.stdout)["map50_95"] == pytest.approx(report["map50_95"], abs=1e-4)


def test_eval_detect_bad_inputs(tmp_path: Path, demo_model: Path) -> None:
    missing = edgecv(
        "eval",
        "detect",
        "--model",
        str(demo_model),
        "--images",
        str(tmp_path / "none"),
        "--annotations",
        str(tmp_path / "a.json"),
    )
    assert missing.returncode == 2 and "images folder not found" in error_line(missing)
    (tmp_path / "imgs").mkdir()
    cv2.imwrite(str(tmp_path / "imgs" / "a.jpg"), (cv2.UMat(64, 64, cv2.CV_8UC3, 0)).get())
    bad_json = tmp_path / "a.json"
    bad_json.write_text("{}")
    result = edgecv(
        "eval",
        "detect",
        "--model",
        str(demo_model),
        "--images",
        str(tmp_path / "imgs"),
        "--annotations",
        str(bad_json),
    )
    assert result.returncode == 2 and "not COCO instances json" in error_line(result)


def test_bench_json(demo_model: Path) -> None:
    result = edgecv("bench", "--model", str(demo_model), "--frames", "40", "--threads", "1,2", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {"fps", "invoke_fps", "efficiency", "peak_rss_mb", "stages_ms", "threads"} <= set(report)
    assert [row["threads"] for row in report["sweep"]] == [1, 2]
    # Null when a row's figures are not to be trusted (this machine may be loaded): see test_bench_noise.
    assert report["recommended_threads"] in (1, 2, None)
    for row in report["sweep"]:
        assert row["frames"] == 40 and row["fps"] > 0 and row["invoke_fps"] > 0
        assert set(row["inference_thread_ms"]) == {"frame_wait", "inference", "handoff"}
        assert {"capture_wait", "preprocess", "decode_nms"} <= set(row["overlapped_ms"])


def test_bench_bad_threads() -> None:
    result = edgecv("bench", "--threads", "1,x")
    assert result.returncode == 2 and "--threads" in error_line(result)
