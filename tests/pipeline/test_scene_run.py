"""Scene rules in ``edgecv run``, end to end: the real command on the bundled demo clip and model (shapes
moving about a 480x360 frame) and on ``video/vtest.mp4`` with SSD MobileNet v1 from ../shared.

What a subscriber relies on: scene event lines that validate against the contract, summary totals equal
to the events counted, every zone_enter closed by a zone_exit by the end, frame lines whose ``zones`` say
what the events said, masks and size filters that drop detections before the tracker ever sees them, and
rules that touch only their own camera.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from edgecv import bundled
from edgecv.capture import open_source
from edgecv.config import Settings, SourceConfig
from edgecv.config.scene import SceneConfig
from edgecv.contracts import FrameJson, RunSummaryJson
from edgecv.detections import Detections
from edgecv.frame import Frame
from edgecv.labels import Labels
from edgecv.output.base import SinkBase
from edgecv.pipeline.build import build_cameras, build_detector, build_sources
from edgecv.pipeline.camera import Camera
from edgecv.pipeline.loop import Pipeline
from edgecv.scene.events import SceneEvent, SceneEventJson
from edgecv.scene.rules import CameraScene

from ..cli.helpers import edgecv, error_line

SCENE_KINDS = {"zone_enter", "zone_exit", "loiter", "line_cross"}
ZONES = {
    "left": {"polygon": [[0, 0], [240, 0], [240, 360], [0, 360]], "inertia_s": 0.2, "loiter_s": 1.0},
    "low": {
        "polygon": [[0, 180], [480, 180], [480, 360], [0, 360]],
        "classes": ["triangle"],
        "inertia_s": 0.2,
    },
    "beyond": {"polygon": [[400, 300], [600, 300], [600, 400]]},  # reaches past the right edge: a warning
}
LINES = {
    "mid": {"points": [[240, 0], [240, 360]]},
    "horizon": {"points": [[0, 0.5], [1, 0.5]], "units": "relative", "classes": ["circle", "square"]},
}
MASK = [[0, 300], [200, 300], [200, 360], [0, 360]]  # the bottom left, where circles and squares pass


def run(tmp_path: Path, name: str, config: dict[str, Any], *args: str) -> tuple[list[dict], dict, str]:
    """``edgecv run --config``: its output lines, its summary and its stderr."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    summary = tmp_path / f"{name}.summary.json"
    result = edgecv("run", "--config", str(path), "--summary-json", str(summary), *args, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return lines, json.loads(summary.read_text()), result.stderr


def scene_events(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["type"] == "event" and line["event"] in SCENE_KINDS]


def anchors(lines: list[dict], camera: str | None = None) -> list[tuple[float, float, dict]]:
    """Bottom centre of every detection of every frame line (of ``camera``)."""
    out = []
    for line in lines:
        if line["type"] == "frame" and camera in (None, line["camera"]):
            for det in line["detections"]:
                x1, _, x2, y2 = det["box"]
                out.append(((x1 + x2) / 2, y2, det))
    return out


def in_mask(x: float, y: float) -> bool:
    # one pixel inside the polygon's edges: the raster's boundary pixels belong to it
    return x < 199 and y > 301


def check_scene_lines(lines: list[dict], summary: dict) -> list[dict]:
    """The contract of every line, the totals against the events, closed zone stays, frame-line zones."""
    events = scene_events(lines)
    for event in events:
        SceneEventJson.model_validate(event)
    for line in lines:
        if line["type"] == "frame":
            FrameJson.model_validate(line)
    RunSummaryJson.model_validate(summary)
    for camera, totals in summary["cameras"].items():
        mine = [e for e in events if e["camera"] == camera]
        crossed = Counter((e["line"], e["direction"], e["label"]) for e in mine if e["event"] == "line_cross")
        assert crossed == Counter(
            {
                (ln, d, label): n
                for ln, dirs in totals["lines"].items()
                for d, by in dirs.items()
                for label, n in by.items()
            }
        )
        entered = Counter((e["zone"], e["label"]) for e in mine if e["event"] == "zone_enter")
        assert entered == Counter(
            {(z, label): n for z, t in totals["zones"].items() for label, n in t["entered"].items()}
        )
    # Each track's stays alternate enter, exit, ... and end with an exit; the frame lines' zones agree with
    # the events that follow them (a frame's events come right after its frame line), but for the exits of
    # tracks that ended there (the tracker's end, or the source's: after the track's last frame line).
    inside: dict[tuple[str, int], set[str]] = {}
    blocks: list[tuple[dict, list[dict]]] = []
    for line in lines:
        if line["type"] == "frame":
            blocks.append((line, []))
        elif blocks:
            blocks[-1][1].append(line)
    for frame, after in blocks:
        ended = {(e["camera"], e["track_id"]) for e in after if e["event"] == "end"}
        closing = []
        for event in after:
            if event["event"] not in ("zone_enter", "zone_exit"):
                continue
            key = (event["camera"], event["track_id"])
            if event["event"] == "zone_exit" and key in ended:
                closing.append(event)
                continue
            zones = inside.setdefault(key, set())
            entering = event["event"] == "zone_enter"
            assert (event["zone"] in zones) != entering, f"{event['event']} out of turn: {event}"
            (zones.add if entering else zones.discard)(event["zone"])
        for det in frame["detections"]:
            if "track_id" in det and "zones" in det:
                shown = inside.get((frame["camera"], det["track_id"]), set())
                assert set(det["zones"]) == shown, (frame["seq"], det)
            else:
                assert "zones" not in det or "track_id" in det
        for event in closing:
            zones = inside.get((event["camera"], event["track_id"]), set())
            assert event["zone"] in zones, f"zone_exit out of turn: {event}"
            zones.discard(event["zone"])
    assert not any(inside.values()), f"stays never closed: {inside}"
    return events


FILTERS = {  # squares under 5000 px, triangles wider than tall, circles under 3.5% of the frame (6048 px)
    "square": {"min_area": 5000},
    "triangle": {"max_ratio": 1.0},
    "circle": {"min_area": 0.035},
}


def filtered(det: dict, slack: float = 0.002) -> bool:
    """Whether FILTERS drop ``det`` (by ``slack`` beyond a bound: printed boxes are rounded; a negative
    ``slack`` says whether it might be dropped)."""
    x1, y1, x2, y2 = det["box"]
    w, h = x2 - x1, y2 - y1
    area = {"square": 5000, "circle": 0.035 * 480 * 360}.get(det["label"], 0)
    return w * h < area * (1 - slack) or (det["label"] == "triangle" and w / h > 1.0 + slack)


def near_mask(x: float, y: float) -> bool:
    return x < 201 and y > 299


def test_zones_and_lines_in_a_run(tmp_path: Path) -> None:
    config = {"zones": ZONES, "lines": LINES, "masks": [{"polygon": MASK}]}
    lines, summary, stderr = run(tmp_path, "rules", config)
    events = check_scene_lines(lines, summary)
    kinds = Counter(e["event"] for e in events)
    assert kinds["zone_enter"] >= 3 and kinds["line_cross"] >= 2 and kinds["loiter"] >= 1, kinds
    assert {e["zone"] for e in events if "zone" in e} == {"left", "low"}
    assert {e["label"] for e in events if e.get("zone") == "low"} == {"triangle"}
    assert {e["label"] for e in events if e.get("line") == "horizon"} <= {"circle", "square"}
    totals = summary["cameras"]["cam0"]
    assert set(totals["lines"]) == {"mid", "horizon"} and set(totals["zones"]) == {"left", "low", "beyond"}
    assert totals["zones"]["beyond"] == {"entered": {}}
    assert "scene" in summary["stages_ms"]
    # The frame size is known at the first frame: one warning, naming the polygon outside it.
    warnings = [line for line in stderr.splitlines() if "outside the 480x360 frame" in line]
    assert len(warnings) == 1 and "zone 'beyond'" in warnings[0], stderr
    # Masked before tracking: no track ever places a box there (its smoothed box may lean a few pixels
    # over the edge, hence the margin).
    for line in lines:
        if line["type"] == "event" and line["event"] in ("new", "update"):
            x1, _, x2, y2 = line["box"]
            assert not in_mask((x1 + x2) / 2 + 5, y2 - 5), line
    assert not [det for x, y, det in anchors(lines) if in_mask(x + 5, y - 5)]


def test_masks_and_filters_drop_detections(tmp_path: Path) -> None:
    """Untracked, so that the boxes printed are the boxes the rules saw."""
    untracked = {"tracker": {"enabled": False}}
    baseline, _, _ = run(tmp_path, "plain", untracked)
    lines, summary, _ = run(
        tmp_path, "masked", {**untracked, "masks": [{"polygon": MASK}], "detect": {"filters": FILTERS}}
    )
    assert summary["cameras"]["cam0"]["lines"] == {} and summary["cameras"]["cam0"]["zones"] == {}
    reasons = Counter(
        "mask" if in_mask(x, y) else det["label"]
        for x, y, det in anchors(baseline)
        if in_mask(x, y) or filtered(det)
    )
    assert set(reasons) == {"mask", "square", "triangle", "circle"}, reasons  # each rule has work to do
    left = [det for x, y, det in anchors(lines) if in_mask(x, y) or filtered(det)]
    assert not left, f"detections the rules drop reached the output: {left[:3]}"
    # and nothing else went: the output keeps the baseline's detections that are clear of every bound
    clear = [det for x, y, det in anchors(baseline) if not (near_mask(x, y) or filtered(det, -0.002))]
    assert len(clear) > 100
    out = Counter(json.dumps(det) for _, _, det in anchors(lines))
    assert all(out[json.dumps(det)] for det in clear)


def test_rules_touch_only_their_camera(tmp_path: Path, demo_model: Path) -> None:
    clip = str(bundled.demo_clip())
    config = {
        "model": {"path": str(demo_model), "threads": 1},
        "cameras": {
            "ruled": {"source": {"uri": clip}, "zones": ZONES, "lines": LINES, "masks": [{"polygon": MASK}]},
            "plain": {"source": {"uri": clip}},
        },
    }
    record = tmp_path / "two.jsonl"
    lines, summary, stderr = run(tmp_path, "two", config, "--record", str(record))
    events = check_scene_lines(lines, summary)
    recorded = [json.loads(line) for line in record.read_text().splitlines()]
    assert scene_events(recorded) == events  # the recording keeps the scene event lines
    assert events and {e["camera"] for e in events} == {"ruled"}
    assert summary["cameras"]["plain"]["lines"] == {} and summary["cameras"]["plain"]["zones"] == {}
    assert summary["cameras"]["ruled"]["lines"]["mid"] != {"in": {}, "out": {}}
    assert all("zones" not in det for _, _, det in anchors(lines, "plain"))
    assert any("zones" in det for _, _, det in anchors(lines, "ruled"))
    assert any(in_mask(x, y) for x, y, _ in anchors(lines, "plain"))
    assert not any(in_mask(x, y) for x, y, _ in anchors(lines, "ruled"))
    assert "camera ruled: zone 'beyond' reaches outside" in stderr


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"zones": {"door": {**ZONES["left"], "classes": ["hexagon"]}}}, "zones.door.classes"),
        ({"lines": {"gate": {**LINES["mid"], "classes": ["hexagon"]}}}, "lines.gate.classes"),
        ({"detect": {"filters": {"hexagon": {"min_area": 10}}}}, "detect.filters"),
        (
            {
                "cameras": {
                    "yard": {
                        "source": {"uri": "CLIP"},
                        "lines": {"gate": {**LINES["mid"], "classes": ["hexagon"]}},
                    }
                }
            },
            "cameras.yard.lines.gate.classes",
        ),
    ],
)
def test_unknown_rule_class_stops_the_start(tmp_path: Path, demo_model: Path, config: dict, key: str) -> None:
    if "cameras" in config:
        config["cameras"]["yard"]["source"]["uri"] = str(bundled.demo_clip())
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"model": {"path": str(demo_model)}, **config}))
    result = edgecv("run", "--config", str(path))
    assert result.returncode == 2, result.stderr
    assert error_line(result).startswith(f"edgecv: error: {key}: class 'hexagon' is not in"), result.stderr
    assert result.stdout == ""  # before the model ran a frame


def test_zones_without_a_tracker_stop_the_start(tmp_path: Path) -> None:
    path = tmp_path / "untracked.yaml"
    path.write_text(yaml.safe_dump({"tracker": {"enabled": False}, "zones": {"left": ZONES["left"]}}))
    result = edgecv("run", "--config", str(path))
    assert result.returncode == 2, result.stderr
    assert "tracker.enabled" in error_line(result)
    assert result.stdout == ""


def test_vtest_people_with_ssd(tmp_path: Path, ssd_mobilenet: Path, shared_assets: Path) -> None:
    """Real people on a real model: the left half of PETS09-S2L1 and lines across it (768x576)."""
    labels = ssd_mobilenet.parent / "labelmap.txt"
    config = {
        "model": {"path": str(ssd_mobilenet), "labels": str(labels), "threads": 1},
        "source": {"uri": str(shared_assets / "video" / "vtest.mp4")},
        "zones": {"left": {"polygon": [[0, 0], [380, 0], [380, 576], [0, 576]], "classes": ["person"]}},
        "lines": {
            "mid": {"points": [[380, 0], [380, 576]], "classes": ["person"]},
            "diagonal": {"points": [[0.1, 0.9], [0.9, 0.2]], "units": "relative"},
        },
    }
    lines, summary, _ = run(tmp_path, "vtest", config)
    events = check_scene_lines(lines, summary)
    totals = summary["cameras"]["cam0"]
    assert totals["zones"]["left"]["entered"]["person"] >= 10
    mid = totals["lines"]["mid"]
    assert mid["in"]["person"] >= 5 and mid["out"]["person"] >= 5, mid
    assert {e["label"] for e in events} == {"person"}
    # Frame lines of people in the left half say so, once they have been there inertia_s.
    assert sum("left" in det.get("zones", []) for _, _, det in anchors(lines)) >= 100


class SceneSink(SinkBase):
    """Frames and scene events as the post thread hands them; reconfigures the camera at one frame."""

    def __init__(self, camera: Camera, at_seq: int, config: SceneConfig) -> None:
        self.camera, self.at_seq, self.config = camera, at_seq, config
        self.frames: list[Frame] = []
        self.events: list[tuple[int, SceneEvent]] = []

    def write_frame(self, frame: Frame, detections: Detections) -> None:
        self.frames.append(frame)
        if frame.seq == self.at_seq:
            self.camera.configure_scene(self.config)

    def write_scene_events(self, frame: Frame, events: Sequence[SceneEvent]) -> None:
        self.events += [(frame.seq, event) for event in events]


def test_configure_scene_takes_effect_on_the_next_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDGECV_CONFIG", raising=False)
    settings = Settings()
    sources = build_sources(settings)
    detector = build_detector(settings)
    camera = build_cameras(settings, detector, sources)[0]
    assert camera.scene is not None and not camera.scene.active
    with pytest.raises(ValueError, match=r"^lines\.mid\.classes: class 'hexagon'"):
        camera.configure_scene(SceneConfig(lines={"mid": {**LINES["mid"], "classes": ["hexagon"]}}))
    sink = SceneSink(camera, 40, SceneConfig(lines={"mid": LINES["mid"]}))
    with sources[0]:
        result = Pipeline(detector, [camera], [sink]).run()
    assert len(sink.frames) == 120
    assert sink.events and min(seq for seq, _ in sink.events) > 40
    crossed = Counter((e.direction, detector.labels.name(e.class_id)) for _, e in sink.events)
    totals = result.cameras["cam0"].lines["mid"]
    assert crossed == Counter({(d, label): n for d, by in totals.items() for label, n in by.items()})


def test_zones_need_a_tracker_on_reconfigure(tmp_path: Path) -> None:
    source = open_source(SourceConfig(uri=str(bundled.demo_clip())), source_id="cam0")
    scene = CameraScene("cam0", SceneConfig(), Labels(["circle", "square", "triangle"]))
    camera = Camera("cam0", source, scene=scene)
    with pytest.raises(ValueError, match="tracker.enabled"):
        camera.configure_scene(SceneConfig(zones={"left": ZONES["left"]}))
    camera.configure_scene(SceneConfig(masks=[{"polygon": MASK}]))  # masks and filters need no tracks
    assert scene.active
