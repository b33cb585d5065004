"""tools/pi/compare_detections.py, the judge of make test-arm64: lenient by exactly the stated tolerance."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

STEP = 1 / 256


@pytest.fixture(scope="module")
def compare(repo_root: Path) -> ModuleType:
    path = repo_root / "tools" / "pi" / "compare_detections.py"
    spec = importlib.util.spec_from_file_location("compare_detections", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def detection(label: str, score: float, box: list[float], track_id: int | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"label": label, "class_id": 0, "score": score, "box": box}
    if track_id is not None:
        found["track_id"] = track_id
    return found


DETECT_LINES = [
    {
        "image": "/a/000001.jpg",
        "width": 640,
        "height": 480,
        "detections": [
            detection("person", 0.91, [10, 10, 110, 210]),
            detection("dog", 0.5, [300, 300, 400, 380]),
            detection("cup", 0.02, [50, 50, 60, 60]),
        ],
    },
    {"image": "/a/000002.jpg", "width": 320, "height": 240, "detections": []},
]

RUN_LINES = [
    {"type": "frame", "seq": 0, "ts": 1.0, "detections": [detection("circle", 0.9, [0, 0, 50, 50], 1)]},
    {
        "type": "event",
        "event": "new",
        "seq": 0,
        "ts": 1.0,
        "track_id": 1,
        "label": "circle",
        "class_id": 0,
        "score": 0.9,
        "top_score": 0.9,
        "box": [0, 0, 50, 50],
        "first_seen": 1.0,
        "last_seen": 1.0,
        "age": 0.0,
    },
    {"type": "frame", "seq": 1, "ts": 1.1, "detections": [detection("circle", 0.91, [2, 0, 52, 50], 1)]},
]


def run(
    compare: ModuleType,
    tmp_path: Path,
    expected: list[dict[str, Any]],
    change: Callable[[list[dict[str, Any]]], None],
) -> int:
    actual = copy.deepcopy(expected)
    change(actual)
    for name, lines in (("x86.jsonl", expected), ("arm.jsonl", actual)):
        (tmp_path / name).write_text("".join(json.dumps(line) + "\n" for line in lines))
    result: int = compare.main([str(tmp_path / "x86.jsonl"), str(tmp_path / "arm.jsonl")])
    return result


def nothing(lines: list[dict[str, Any]]) -> None:
    pass


def shift_box(lines: list[dict[str, Any]]) -> None:
    lines[0]["detections"][0]["box"] = [30, 10, 130, 210]  # IoU 0.67


def nudge_box(lines: list[dict[str, Any]]) -> None:
    lines[0]["detections"][0]["box"] = [11, 10, 111, 211]  # IoU ~0.98


def score_two_steps(lines: list[dict[str, Any]]) -> None:
    lines[0]["detections"][0]["score"] = round(0.91 - 2 * STEP, 4)


def score_three_steps(lines: list[dict[str, Any]]) -> None:
    lines[0]["detections"][0]["score"] = round(0.91 - 3 * STEP, 4)


def drop_confident(lines: list[dict[str, Any]]) -> None:
    del lines[0]["detections"][1]


def other_class(lines: list[dict[str, Any]]) -> None:
    lines[0]["detections"][1]["label"] = "cat"


def drop_image(lines: list[dict[str, Any]]) -> None:
    del lines[1]


def low_score_differs(lines: list[dict[str, Any]]) -> None:
    lines[0]["detections"][2]["score"] = 0.2  # below --min-score on both machines: not compared


def near_threshold_only_here(lines: list[dict[str, Any]]) -> None:
    lines[0]["detections"].append(detection("kite", 0.25 + STEP, [500, 10, 600, 90]))


def above_tolerance_only_here(lines: list[dict[str, Any]]) -> None:
    lines[0]["detections"].append(detection("kite", 0.25 + 3 * STEP, [500, 10, 600, 90]))


@pytest.mark.parametrize(
    ("change", "agrees"),
    [
        (nothing, True),
        (nudge_box, True),
        (score_two_steps, True),
        (low_score_differs, True),
        (near_threshold_only_here, True),
        (shift_box, False),
        (score_three_steps, False),
        (drop_confident, False),
        (other_class, False),
        (drop_image, False),
        (above_tolerance_only_here, False),
    ],
)
def test_detect_lines(
    compare: ModuleType, tmp_path: Path, change: Callable[[list[dict[str, Any]]], None], agrees: bool
) -> None:
    assert run(compare, tmp_path, DETECT_LINES, change) == (0 if agrees else 1)


def other_track(lines: list[dict[str, Any]]) -> None:
    lines[2]["detections"][0]["track_id"] = 2


def other_event(lines: list[dict[str, Any]]) -> None:
    lines[1]["event"] = "end"


def dropped_frame(lines: list[dict[str, Any]]) -> None:
    del lines[2]


def later_clock(lines: list[dict[str, Any]]) -> None:
    for line in lines:
        line["ts"] += 100.0
        if line["type"] == "event":
            line["first_seen"] += 100.0
            line["last_seen"] += 100.0


@pytest.mark.parametrize(
    ("change", "agrees"),
    [
        (nothing, True),
        (later_clock, True),
        (other_track, False),
        (other_event, False),
        (dropped_frame, False),
    ],
)
def test_run_lines(
    compare: ModuleType, tmp_path: Path, change: Callable[[list[dict[str, Any]]], None], agrees: bool
) -> None:
    assert run(compare, tmp_path, RUN_LINES, change) == (0 if agrees else 1)


def test_missing_output_fails(compare: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "x86.jsonl").write_text(json.dumps(DETECT_LINES[0]) + "\n")
    assert compare.main([str(tmp_path / "x86.jsonl"), str(tmp_path / "absent.jsonl")]) == 1
