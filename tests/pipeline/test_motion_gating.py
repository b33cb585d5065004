"""Motion-gated detection (``motion.enabled``) through the real command and the run loop, on real footage.

Clips are made from ``video/vtest.mp4`` (PETS09-S2L1): a still stretch repeats one of its frames (its people
frozen where they stood), a moving stretch plays its frames as they are.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from edgecv.capture import open_source
from edgecv.config import SourceConfig
from edgecv.config.scene import MotionConfig
from edgecv.contracts import FrameJson, RunSummaryJson
from edgecv.detect.detector import Detector
from edgecv.pipeline.camera import Camera
from edgecv.pipeline.loop import Pipeline
from edgecv.track.tracker import ByteTracker

from ..cli.helpers import edgecv

FPS = 10
NOISE = 3.0


def clip_of(
    path: Path, shared_assets: Path, stretches: list[tuple[str, int]], start: int = 100, noise: float = 0.0
) -> Path:
    """A clip of vtest's frames from ``start``: ("still", n) repeats the current frame n times, ("move", n)
    plays the next n frames; ``noise``: the standard deviation of a camera's sensor noise added to each
    frame (grey levels). Written as MJPG at vtest's 10 fps."""
    rng = np.random.default_rng(13)
    capture = cv2.VideoCapture(str(shared_assets / "video" / "vtest.mp4"))
    capture.set(cv2.CAP_PROP_POS_FRAMES, start)
    ok, image = capture.read()
    if not ok:
        pytest.skip("vtest.mp4 does not decode here")
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, image.shape[1::-1])
    for kind, count in stretches:
        for _ in range(count):
            if kind == "move":
                ok, image = capture.read()
                assert ok
            if noise:
                grain = rng.normal(0, noise, image.shape)
                writer.write(np.clip(image + grain, 0, 255).astype(np.uint8))
            else:
                writer.write(image)
    writer.release()
    capture.release()
    return path


def run(
    tmp_path: Path, ssd_mobilenet: Path, clip: Path, config: dict, name: str = "run", *extra: str
) -> tuple[list[dict], dict]:
    """``edgecv run`` with ``config``: (its JSON lines, its summary)."""
    config_path = tmp_path / f"{name}.yaml"
    config_path.write_text(yaml.safe_dump(config))
    summary_path = tmp_path / f"{name}.summary.json"
    result = edgecv(
        "run",
        "--config", str(config_path),
        "--model", str(ssd_mobilenet),
        "--labels", str(ssd_mobilenet.parent / "labelmap.txt"),
        "--threads", "1",
        "--source", str(clip),
        "--summary-json", str(summary_path),
        *extra,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    summary = json.loads(summary_path.read_text())
    RunSummaryJson.model_validate(summary)
    return lines, summary


def frames(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["type"] == "frame"]


def test_still_scene_skips_the_detector_but_detects_every_max_skip_s(
    tmp_path: Path, ssd_mobilenet: Path, shared_assets: Path
) -> None:
    clip = clip_of(tmp_path / "still.avi", shared_assets, [("still", 60)])
    config = {"motion": {"enabled": True, "max_skip_s": 1.0}, "output": {"include_skipped": True}}
    lines, summary = run(tmp_path, ssd_mobilenet, clip, config)
    seen = frames(lines)
    for line in seen:
        FrameJson.model_validate(line)
    assert [line["seq"] for line in seen] == list(range(60))  # every frame, in order
    detected = [line["seq"] for line in seen if not line.get("skipped")]
    skipped = [line for line in seen if line.get("skipped")]
    assert all(line["detections"] == [] for line in skipped)
    assert summary["skipped_frames"] == len(skipped) == summary["cameras"]["cam0"]["skipped_frames"]
    assert summary["frames"] == 60
    # The first frame, the frames that confirm the still people's tracks, then one per max_skip_s.
    assert detected[0] == 0
    assert max(np.diff([*detected, 60])) <= FPS  # never more than max_skip_s (10 frames) without detecting
    assert len(skipped) >= 40, detected


def test_moving_people_are_never_gated_out(tmp_path: Path, ssd_mobilenet: Path, shared_assets: Path) -> None:
    clip = clip_of(tmp_path / "mixed.avi", shared_assets, [("still", 30), ("move", 30), ("still", 30)])
    gated, summary = run(
        tmp_path, ssd_mobilenet, clip, {"motion": {"enabled": True}, "output": {"include_skipped": True}}
    )
    plain, _ = run(tmp_path, ssd_mobilenet, clip, {}, "plain")
    by_seq = {line["seq"]: line for line in frames(gated)}
    # Every frame of the moving stretch is detected, with the detector's findings of an ungated run (the
    # boxes are the tracker's, whose state the still stretch held rather than predicted: compare the rest).
    assert not [seq for seq in range(30, 60) if by_seq[seq].get("skipped")]
    plain_by_seq = {line["seq"]: line["detections"] for line in frames(plain)}

    def found(detections: list[dict]) -> list[tuple[str, float]]:
        return sorted((d["label"], d["score"]) for d in detections)

    assert all(found(by_seq[seq]["detections"]) == found(plain_by_seq[seq]) for seq in range(30, 60))
    assert summary["skipped_frames"] > 20  # the still stretches were gated
    # Every person the ungated run announces, the gated one announces too: within 0.5 s once people move.
    # On the first still stretch the gate hears of a still person's tentative track from the post thread,
    # which a file camera's capture thread may be up to 7 frames ahead of (its buffers and the results
    # queue), so the confirming detection may come that much later there.
    new = [(e["seq"], e["label"]) for e in gated if e["type"] == "event" and e["event"] == "new"]
    reference = [(e["seq"], e["label"]) for e in plain if e["type"] == "event" and e["event"] == "new"]
    assert [label for _, label in new] == [label for _, label in reference], (new, reference)
    for (seq, _), (ref, _) in zip(new, reference, strict=True):
        assert 0 <= seq - ref <= (FPS // 2 if ref >= 30 else 8), (new, reference)


def test_still_people_keep_their_track_ids_across_skipped_stretches(
    tmp_path: Path, ssd_mobilenet: Path, shared_assets: Path
) -> None:
    # Tracks would end after 0.3 s and a single missed detection without the hold: a forced detection
    # every 2 s that misses a person (SSD's scores flicker on coding noise) would end them.
    clip = clip_of(tmp_path / "still.avi", shared_assets, [("still", 100)], noise=NOISE)
    config = {
        "motion": {"enabled": True, "max_skip_s": 2.0},
        "tracker": {"lost_s": 0.3, "lost_frames": 0},
    }
    lines, summary = run(tmp_path, ssd_mobilenet, clip, config)
    assert summary["skipped_frames"] >= 70
    events = [line for line in lines if line["type"] == "event"]
    new = [e for e in events if e["event"] == "new"]
    assert new, "SSD finds vtest's people"
    assert all(e["seq"] < 10 for e in new), new  # confirmed at the start, never found again as new tracks
    ended = [e for e in events if e["event"] == "end"]
    assert all(e["seq"] == 99 for e in ended), ended  # ended by the clip's end only
    assert {e["track_id"] for e in ended} == {e["track_id"] for e in new}


def test_skipped_frames_are_printed_only_with_include_skipped(
    tmp_path: Path, ssd_mobilenet: Path, shared_assets: Path
) -> None:
    clip = clip_of(tmp_path / "still.avi", shared_assets, [("still", 40)])
    lines, summary = run(tmp_path, ssd_mobilenet, clip, {"motion": {"enabled": True}})
    printed = frames(lines)
    assert summary["frames"] == 40 and summary["skipped_frames"] > 20
    assert len(printed) == 40 - summary["skipped_frames"]
    assert not [line for line in printed if "skipped" in line]
    # --max-frames counts the frames through the run, skipped ones too.
    _, summary = run(
        tmp_path, ssd_mobilenet, clip, {"motion": {"enabled": True}}, "max", "--max-frames", "25"
    )
    assert summary["frames"] == 25 and summary["skipped_frames"] > 15


def test_each_camera_gates_as_its_motion_section_says(
    tmp_path: Path, ssd_mobilenet: Path, shared_assets: Path
) -> None:
    clip = clip_of(tmp_path / "still.avi", shared_assets, [("still", 40)])
    config = {
        "motion": {"enabled": True, "masks": [{"polygon": [[0, 0], [600, 0], [600, 40]]}]},
        "cameras": {
            "gated": {"source": {"uri": str(clip)}},
            "always": {"source": {"uri": str(clip)}, "motion": {"enabled": False}},
        },
    }
    config_path = tmp_path / "cameras.yaml"
    config_path.write_text(yaml.safe_dump(config))
    summary_path = tmp_path / "cameras.summary.json"
    result = edgecv(
        "run",
        "--config", str(config_path),
        "--model", str(ssd_mobilenet),
        "--labels", str(ssd_mobilenet.parent / "labelmap.txt"),
        "--threads", "1",
        "--summary-json", str(summary_path),
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    cameras = json.loads(summary_path.read_text())["cameras"]
    assert cameras["gated"]["skipped_frames"] > 20 and cameras["always"]["skipped_frames"] == 0
    assert cameras["gated"]["frames"] == cameras["always"]["frames"] == 40
    # The mask reaches past the 480 px wide frame: named once, for the camera that measures motion.
    warnings = [line for line in result.stderr.splitlines() if "motion mask 0" in line]
    assert (
        len(warnings) == 1 and "camera gated: motion mask 0 reaches outside the 480x360 frame" in warnings[0]
    )


class CountingDetector:
    """A real detector whose invocations are counted."""

    def __init__(self, detector: Detector) -> None:
        self.detector = detector
        self.invoked = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.detector, name)

    def infer(self, tensor: np.ndarray) -> list[np.ndarray]:
        self.invoked += 1
        return self.detector.infer(tensor)


def pipeline_run(
    ssd_mobilenet: Path, clip: Path, motion: MotionConfig, detect_enabled: bool = True
) -> tuple[int, Camera]:
    detector = CountingDetector(
        Detector(ssd_mobilenet, labels=ssd_mobilenet.parent / "labelmap.txt", threads=1)
    )
    source = open_source(SourceConfig(uri=str(clip)), source_id="cam0")
    source.open()
    camera = Camera("cam0", source, tracker=ByteTracker(), motion=motion)
    camera.detect_enabled = detect_enabled
    try:
        Pipeline(detector, [camera], []).run()  # type: ignore[arg-type]  # a Detector by duck typing
    finally:
        source.close()
    return detector.invoked, camera


def test_the_interpreter_is_not_invoked_on_skipped_frames(
    tmp_path: Path, ssd_mobilenet: Path, shared_assets: Path
) -> None:
    clip = clip_of(tmp_path / "still.avi", shared_assets, [("still", 50)])
    invoked, camera = pipeline_run(ssd_mobilenet, clip, MotionConfig(enabled=True, max_skip_s=2.0))
    assert camera.frames == 50 and camera.skipped_frames > 30
    assert invoked == camera.frames - camera.skipped_frames
    invoked, camera = pipeline_run(ssd_mobilenet, clip, MotionConfig(enabled=False))
    assert invoked == camera.frames == 50 and camera.skipped_frames == 0


def test_detect_switched_off_skips_every_frame(
    tmp_path: Path, ssd_mobilenet: Path, shared_assets: Path
) -> None:
    clip = clip_of(tmp_path / "still.avi", shared_assets, [("still", 30)])
    invoked, camera = pipeline_run(ssd_mobilenet, clip, MotionConfig(enabled=True), detect_enabled=False)
    assert invoked == 0 and camera.frames == camera.skipped_frames == 30  # no forced detection either


def test_bench_infers_every_frame_with_motion_gating_configured(
    tmp_path: Path, ssd_mobilenet: Path, shared_assets: Path
) -> None:
    clip = clip_of(tmp_path / "still.avi", shared_assets, [("still", 40)])
    result = edgecv(
        "bench",
        "--model", str(ssd_mobilenet),
        "--labels", str(ssd_mobilenet.parent / "labelmap.txt"),
        "--source", str(clip),
        "--frames", "30",
        "--threads", "1",
        "--json",
        env={"EDGECV_MOTION__ENABLED": "true"},
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    # The pipeline's rate against bare invoke(): gating would count skipped frames as processed ones.
    assert "motion" not in report["sweep"][0]["stages_ms"]
    assert report["sweep"][0]["stages_ms"]["inference"]


def test_a_still_person_loiters_on_time_while_the_detector_is_skipped(
    tmp_path: Path, ssd_mobilenet: Path, shared_assets: Path
) -> None:
    # People walk for 2 s (every frame detected, gated or not), then freeze: the zone's timers run on the
    # held tracks of the skipped frames, not at the next forced detection (after the clip's end here).
    clip = clip_of(tmp_path / "freeze.avi", shared_assets, [("move", 20), ("still", 80)])
    inertia_s, loiter_s = 0.5, 6.0
    zone = {"polygon": [[0, 0], [1, 0], [1, 1], [0, 1]], "units": "relative", "inertia_s": inertia_s}
    scene = {"zones": {"floor": {**zone, "loiter_s": loiter_s}}}
    gated, summary = run(
        tmp_path,
        ssd_mobilenet,
        clip,
        {**scene, "motion": {"enabled": True, "max_skip_s": 8.0}, "output": {"include_skipped": True}},
    )
    plain, _ = run(tmp_path, ssd_mobilenet, clip, scene, "plain")
    assert summary["skipped_frames"] >= 30

    def scene_events(lines: list[dict], kind: str) -> dict[int, float]:
        """Track id -> the event's time since the clip's first frame."""
        start = frames(lines)[0]["ts"]
        return {e["track_id"]: e["ts"] - start for e in lines if e["type"] == "event" and e["event"] == kind}

    loiters, reference = scene_events(gated, "loiter"), scene_events(plain, "loiter")
    assert reference and loiters.keys() == reference.keys(), (loiters, reference)
    entered = scene_events(gated, "zone_enter")
    skipped = {round(line["ts"] - frames(gated)[0]["ts"], 3) for line in frames(gated) if line.get("skipped")}
    for track_id, at in loiters.items():
        assert abs(at - reference[track_id]) <= 0.2, (loiters, reference)
        # A stay begins when the entry's inertia timer started: loiter is due loiter_s after that.
        due = entered[track_id] - inertia_s + loiter_s
        assert -1e-6 <= at - due <= 1 / FPS + 1e-6, (track_id, at, due)
        assert round(at, 3) in skipped  # fired on a skipped frame: the held tracks', not a detection's
    assert all(line["detections"] == [] for line in frames(gated) if line.get("skipped"))
