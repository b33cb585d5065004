"""Several cameras, one interpreter, through the real command: ``edgecv run --config`` with a cameras map.

Files are read without skipping, so each camera of a run gives the detections of a one-camera run of the
same file, frame for frame, whatever the other cameras do.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
import yaml

from edgecv import bundled

from ..cli.helpers import edgecv, error_line


def demo_clip(path: Path, size: tuple[int, int], frames: int, rotate: bool = False) -> Path:
    """The bundled demo clip (shapes the demo model finds) at another size, as an MJPG file."""
    capture = cv2.VideoCapture(str(bundled.demo_clip()))
    shape = (size[1], size[0]) if rotate else size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 12, shape)
    written = 0
    while written < frames:
        ok, image = capture.read()
        if not ok:
            break
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        writer.write(cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE) if rotate else image)
        written += 1
    writer.release()
    capture.release()
    if not written:
        pytest.skip("the demo clip does not decode here")
    return path


def write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config))
    return path


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def frames_by_camera(path: Path) -> dict[str, dict[int, list[dict]]]:
    out: dict[str, dict[int, list[dict]]] = {}
    for line in lines_of(path):
        if line["type"] == "frame":
            out.setdefault(line["camera"], {})[line["seq"]] = line["detections"]
    return out


def run_recorded(tmp_path: Path, name: str, *args: str, env: dict[str, str] | None = None) -> Path:
    record = tmp_path / f"{name}.jsonl"
    summary = tmp_path / f"{name}.summary.json"
    result = edgecv(
        "run", *args, "--record", str(record), "--summary-json", str(summary), env=env, timeout=600
    )
    assert result.returncode == 0, result.stderr
    return record


def assert_same_as_single_runs(
    tmp_path: Path,
    model: Path,
    clips: dict[str, Path],
    detect: dict | None = None,
    per_camera: dict[str, dict] | None = None,
    max_frames: int | None = None,
    labels: Path | None = None,
) -> dict[str, dict[int, list[dict]]]:
    """Run the clips as cameras of one run, then each alone; every frame must have the same detections."""
    per_camera = per_camera or {}
    model_section = {"path": str(model), "threads": 1, **({"labels": str(labels)} if labels else {})}
    base: dict = {"model": model_section, "tracker": {"enabled": False}}
    if detect:
        base["detect"] = detect
    cameras = {
        name: {"source": {"uri": str(clip)}, **({"detect": per_camera[name]} if name in per_camera else {})}
        for name, clip in clips.items()
    }
    config = write_config(tmp_path / "cameras.yaml", {**base, "cameras": cameras})
    limit = ["--max-frames", str(max_frames)] if max_frames else []
    together = frames_by_camera(run_recorded(tmp_path, "together", "--config", str(config), *limit))
    assert set(together) == set(clips)
    for name, clip in clips.items():
        single = {**base, "detect": {**(detect or {}), **per_camera.get(name, {})}}
        alone_config = write_config(tmp_path / f"{name}.yaml", single)
        seqs = sorted(together[name])
        assert seqs == list(range(len(seqs))), f"{name}: a file camera skipped frames: {seqs}"
        alone = frames_by_camera(
            run_recorded(
                tmp_path,
                name,
                "--config",
                str(alone_config),
                "--source",
                str(clip),
                "--max-frames",
                str(len(seqs)),
            )
        )["cam0"]
        assert sorted(alone) == seqs
        differ = [seq for seq in seqs if together[name][seq] != alone[seq]]
        assert not differ, f"{name}: {len(differ)} of {len(seqs)} frames differ, first {differ[0]}"
    return together


def test_two_files_of_different_sizes_match_one_camera_runs(tmp_path: Path, demo_model: Path) -> None:
    clips = {
        "wide": demo_clip(tmp_path / "wide.avi", (320, 240), 60),
        "tall": demo_clip(tmp_path / "tall.avi", (400, 300), 45, rotate=True),
    }
    together = assert_same_as_single_runs(tmp_path, demo_model, clips)
    assert (len(together["wide"]), len(together["tall"])) == (60, 45)
    found = sum(len(d) for frames in together.values() for d in frames.values())
    assert found >= 105, "too few detections for the comparison to mean anything"


def test_per_camera_detect_overrides(tmp_path: Path, demo_model: Path) -> None:
    clip = demo_clip(tmp_path / "clip.avi", (320, 240), 30)
    together = assert_same_as_single_runs(
        tmp_path,
        demo_model,
        {"all": clip, "squares": clip},
        detect={"conf": 0.3},
        per_camera={"squares": {"classes": ["square"], "conf": 0.5}},
    )
    labels = {d["label"] for frames in together["squares"].values() for d in frames}
    scores = [d["score"] for frames in together["squares"].values() for d in frames]
    assert labels == {"square"} and min(scores) >= 0.5
    assert {d["label"] for frames in together["all"].values() for d in frames} > {"square"}


@pytest.mark.parametrize(
    "max_frames",
    [160, pytest.param(None, marks=pytest.mark.slow, id="every-frame")],
)
def test_the_judges_two_real_clips(
    tmp_path: Path, ssd_mobilenet: Path, shared_assets: Path, max_frames: int | None
) -> None:
    """vtest.mp4 (480x360) and TUD-Campus (640x480) as two cameras, tracker off: each frame's detections
    equal a one-camera run's: the first 160 frames of the run, or every frame of both (the slow variant:
    pytest -m slow)."""
    clips = {
        "vtest": shared_assets / "video" / "vtest.mp4",
        "campus": shared_assets / "mot15" / "TUD-Campus" / "TUD-Campus.mp4",
    }
    together = assert_same_as_single_runs(
        tmp_path,
        ssd_mobilenet,
        clips,
        labels=ssd_mobilenet.parent / "labelmap.txt",
        detect={"conf": 0.3},
        max_frames=max_frames,
    )
    if max_frames is None:
        assert (len(together["campus"]), len(together["vtest"])) == (71, 795)
    else:
        # Which camera's turn the last frames fell on depends on decoding speed: only the total is fixed.
        assert len(together["campus"]) + len(together["vtest"]) == max_frames
        assert min(len(together["campus"]), len(together["vtest"])) >= 40
    people = sum(d["label"] == "person" for frames in together.values() for f in frames.values() for d in f)
    assert people >= 2 * sum(len(frames) for frames in together.values()), "people walk through both clips"


def test_summary_names_every_camera(tmp_path: Path, demo_model: Path) -> None:
    clip = demo_clip(tmp_path / "clip.avi", (160, 120), 12)
    summary = tmp_path / "summary.json"
    result = edgecv("run", "--model", str(demo_model), "--source", str(clip), "--summary-json", str(summary))
    assert result.returncode == 0, result.stderr
    report = json.loads(summary.read_text())
    assert report["cameras"]["cam0"]["frames"] == 12 == report["frames"]
    assert {line["camera"] for line in map(json.loads, result.stdout.splitlines())} == {"cam0"}


def test_source_flag_beside_a_cameras_config_exits_2(tmp_path: Path, demo_model: Path) -> None:
    clip = demo_clip(tmp_path / "clip.avi", (160, 120), 3)
    config = write_config(
        tmp_path / "c.yaml",
        {"model": {"path": str(demo_model)}, "cameras": {"a": {"source": {"uri": str(clip)}}}},
    )
    result = edgecv("run", "--config", str(config), "--source", str(clip))
    assert result.returncode == 2
    line = error_line(result)
    assert "source (from command line --source)" in line and f"cameras (from config file {config})" in line


def test_a_missing_file_camera_exits_2_naming_it(tmp_path: Path, demo_model: Path) -> None:
    clip = demo_clip(tmp_path / "clip.avi", (160, 120), 3)
    config = write_config(
        tmp_path / "c.yaml",
        {
            "model": {"path": str(demo_model)},
            "cameras": {
                "ok": {"source": {"uri": str(clip)}},
                "gone": {"source": {"uri": str(tmp_path / "no.mp4")}},
            },
        },
    )
    result = edgecv("run", "--config", str(config))
    assert result.returncode == 2
    assert "camera gone: cannot open video source" in error_line(result)


def test_bench_reports_every_camera(tmp_path: Path, demo_model: Path) -> None:
    clips = {
        "wide": demo_clip(tmp_path / "wide.avi", (320, 240), 20),
        "tall": demo_clip(tmp_path / "tall.avi", (400, 300), 20, rotate=True),
    }
    config = write_config(
        tmp_path / "c.yaml",
        {
            "model": {"path": str(demo_model)},
            "cameras": {name: {"source": {"uri": str(clip)}} for name, clip in clips.items()},
        },
    )
    result = edgecv("bench", "--config", str(config), "--frames", "60", "--threads", "1", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["fps"] > 0 and report["invoke_fps"] > 0 and report["efficiency"] > 0
    assert set(report["cameras"]) == {"wide", "tall"}
    assert sum(c["frames"] for c in report["cameras"].values()) == 60  # every frame of the three rounds
    assert all(c["frames"] > 0 and c["fps"] > 0 for c in report["cameras"].values())
    # How evenly they shared it depends on whether each camera keeps up with the interpreter (the demo
    # model is faster than decoding): measured with a real model in tools/bench/cameras.py.
    assert isinstance(report["camera_fps_spread"], float)
