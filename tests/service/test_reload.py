"""Reload on SIGHUP: a real ``edgecv run`` re-reads its config in-process (same PID), or refuses an invalid
one and runs on; the sd_notify sequence; what a reload classifies as live, reopened or rebuilt."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from edgecv import bundled
from edgecv.config import load_settings
from edgecv.errors import ConfigError
from edgecv.pipeline.build import build_detector
from edgecv.service.reload import prepare

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def demo(tmp_path: Path) -> dict[str, Path]:
    model = bundled.demo_model()
    if not model.exists():
        pytest.skip("the bundled demo model is not built (make demo-model)")
    out = {"clip": bundled.demo_clip(), "labels": bundled.demo_labels()}
    for name in ("m1.tflite", "m2.tflite"):
        shutil.copy(model, tmp_path / name)
        out[name] = tmp_path / name
    return out


def write_config(path: Path, demo: dict[str, Path], **sections: dict) -> Path:
    config: dict = {
        "source": {"uri": str(demo["clip"]), "loop": True, "max_fps": 15},
        "model": {"path": str(demo["m1.tflite"]), "labels": str(demo["labels"])},
        "detect": {"conf": 0.3},
    }
    for key, value in sections.items():
        config[key] = {**config.get(key, {}), **value}
    path.write_text(yaml.safe_dump(config))
    return path


class Run:
    """``edgecv run --config`` with its stdout (frame and event lines) read as they come."""

    def __init__(self, config: Path, env: dict[str, str] | None = None) -> None:
        environ = {k: v for k, v in os.environ.items() if not k.upper().startswith("EDGECV_")}
        environ.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "edgecv", "run", "--config", str(config)],
            cwd=REPO,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[tuple[float, dict]] = []
        self.errors: list[str] = []
        threading.Thread(target=self._read_out, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.strip():
                self.lines.append((time.monotonic(), json.loads(line)))

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.errors.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self.errors)

    def frames(self, after: float = 0.0) -> list[dict]:
        return [f for t, f in list(self.lines) if t >= after and f.get("type") == "frame"]

    def wait_frames(self, n: int, after: float = 0.0, timeout: float = 60) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frames = self.frames(after)
            if len(frames) >= n:
                return frames
            assert self.proc.poll() is None, f"edgecv exited: {self.stderr[-2000:]}"
            time.sleep(0.05)
        raise AssertionError(f"fewer than {n} frames within {timeout} s: {self.stderr[-2000:]}")

    def wait_log(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.stderr:
                return
            time.sleep(0.05)
        raise AssertionError(f"no {text!r} in the log within {timeout} s: {self.stderr[-2000:]}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)


@pytest.fixture
def runs() -> Iterator[list[Run]]:
    started: list[Run] = []
    yield started
    for run in started:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait(10)


def scores(frames: list[dict]) -> list[float]:
    return [d["score"] for f in frames for d in f["detections"]]


def test_sighup_with_a_changed_conf_changes_the_output_same_pid(tmp_path, demo, runs) -> None:
    config = write_config(tmp_path / "edgecv.yaml", demo, detect={"conf": 0.3})
    run = Run(config)
    runs.append(run)
    before = run.wait_frames(30)
    assert min(scores(before)) < 0.8  # the demo clip has detections between 0.3 and 0.8
    pid = run.proc.pid
    write_config(config, demo, detect={"conf": 0.8})
    run.proc.send_signal(signal.SIGHUP)
    run.wait_log("reloaded (live): detect")
    mark = time.monotonic()
    after = run.wait_frames(30, after=mark)
    assert after and min(scores(after)) >= 0.8
    assert run.proc.pid == pid and run.proc.poll() is None
    assert run.stop() == 0


def test_an_invalid_config_is_refused_and_the_run_goes_on_unchanged(tmp_path, demo, runs) -> None:
    config = write_config(tmp_path / "edgecv.yaml", demo, detect={"conf": 0.3})
    run = Run(config)
    runs.append(run)
    before = run.wait_frames(20)
    low = min(scores(before))
    for broken in (
        "detect: {conf: 0.9\n",  # not YAML
        yaml.safe_dump({"detect": {"conf": 7}}),  # out of range
        yaml.safe_dump(  # a class the model does not know: found against the labels before anything changes
            {**yaml.safe_load(config.read_text()), "detect": {"conf": 0.9, "classes": ["unicorn"]}}
        ),
    ):
        config.write_text(broken)
        refusals = run.stderr.count("reload refused")
        run.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while run.stderr.count("reload refused") == refusals and time.monotonic() < deadline:
            time.sleep(0.05)
        lines = [line for line in run.errors if "reload refused" in line]
        assert len(lines) == refusals + 1, run.stderr[-2000:]
    assert "unicorn" in lines[-1] and "conf" in lines[-2]
    mark = time.monotonic()
    after = run.wait_frames(30, after=mark)
    assert min(scores(after)) <= max(low, 0.5)  # still the old conf: low scores pass
    assert run.proc.poll() is None
    assert run.stop() == 0


def test_a_changed_model_is_reopened_in_process(tmp_path, demo, runs) -> None:
    config = write_config(tmp_path / "edgecv.yaml", demo)
    run = Run(config)
    runs.append(run)
    run.wait_frames(10)
    pid = run.proc.pid
    write_config(config, demo, model={"path": str(demo["m2.tflite"])})
    run.proc.send_signal(signal.SIGHUP)
    run.wait_log("reloaded (reopened in-process): model")
    mark = time.monotonic()
    run.wait_frames(20, after=mark)
    # Tracks of the stopped pipeline ended (an end each); ids go on from where they were.
    events = [f for _, f in run.lines if f.get("type") == "event"]
    new_ids = [e["track_id"] for e in events if e["event"] == "new"]
    assert len(new_ids) == len(set(new_ids))
    assert run.proc.pid == pid
    assert run.stop() == 0


def test_notify_sequence_reloading_then_ready(tmp_path, demo, runs, notify_socket) -> None:
    config = write_config(tmp_path / "edgecv.yaml", demo)
    run = Run(config, env={"NOTIFY_SOCKET": str(notify_socket.path)})
    runs.append(run)
    notify_socket.wait_for("READY", "1")
    write_config(config, demo, detect={"conf": 0.5})
    sent = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    run.proc.send_signal(signal.SIGHUP)
    reloading = notify_socket.wait_for("RELOADING", "1", timeout=30)
    ready = notify_socket.wait_for("READY", "1", timeout=30, after=reloading)
    assert ready >= reloading
    fields = next(f for _, f in notify_socket.messages if f.get("RELOADING") == "1")
    usec = int(fields["MONOTONIC_USEC"])
    assert sent <= usec <= time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    # A refused reload ends with READY=1 too (systemd would otherwise wait in "reloading").
    config.write_text("detect: [")
    mark = time.monotonic()
    run.proc.send_signal(signal.SIGHUP)
    again = notify_socket.wait_for("RELOADING", "1", timeout=30, after=mark)
    notify_socket.wait_for("READY", "1", timeout=30, after=again)
    assert run.stop() == 0


# -- the plan, without a process --------------------------------------------------------------------------


@pytest.fixture
def settings_pair(tmp_path, demo):
    def load(**sections: dict):
        return load_settings(write_config(tmp_path / "c.yaml", demo, **sections), environ={})

    return load


def test_plan_classifies_live_reopen_and_rebuild(settings_pair, demo) -> None:
    old = settings_pair()
    detector = build_detector(old)
    live = prepare(old, settings_pair(detect={"conf": 0.6}, tracker={"low_score": 0.2}), detector)
    assert not live.reopen and live.params[old.mqtt.camera].conf == 0.6
    assert set(live.changed) == {"detect", "tracker"}
    model = prepare(old, settings_pair(model={"path": str(demo["m2.tflite"])}), detector)
    assert model.reopen and model.detector is not None and not model.rebuild  # same labels: sinks kept
    source = prepare(old, settings_pair(source={"max_fps": 5}), detector)
    assert source.reopen and list(source.sources) == [old.mqtt.camera] and not source.rebuild
    rates = prepare(old, settings_pair(mqtt={"host": "127.0.0.1", "stats_interval_s": 5}), detector)
    assert rates.rebuild  # from no broker to one: a new sink
    tracking = prepare(old, settings_pair(tracker={"enabled": False}), detector)
    assert tracking.retrack and not tracking.rebuild
    motion = prepare(old, settings_pair(motion={"enabled": True, "max_skip_s": 2}), detector)
    assert not motion.reopen and not motion.rebuild and "motion" in motion.changed  # live: the gate re-placed


def test_plan_refuses_unknown_classes_before_anything_changes(settings_pair) -> None:
    old = settings_pair()
    detector = build_detector(old)
    with pytest.raises(ConfigError, match="unicorn"):
        prepare(old, settings_pair(detect={"classes": ["unicorn"]}), detector)
    with pytest.raises(ConfigError, match="unicorn"):
        prepare(old, settings_pair(tracker={"class_gates": {"unicorn": {}}}), detector)


def test_live_reload_reaches_cameras_trackers_and_sinks(settings_pair) -> None:
    """apply_live: detection parameters and command values back to the config, the tracker's settings handed
    over (tracks kept), scene rules to a camera that takes them, settings to a sink that reconfigures."""
    import numpy as np

    from edgecv.detections import Detections
    from edgecv.mqtt.commands import control_of
    from edgecv.pipeline.camera import Camera
    from edgecv.service.reload import Reloader
    from edgecv.track.tracker import ByteTracker

    old = settings_pair()
    detector = build_detector(old)
    name = old.mqtt.camera
    scenes: list[object] = []
    reconfigured: list[object] = []

    class SceneCamera(Camera):
        def configure_scene(self, config: object) -> None:
            scenes.append(config)

    class Sink:
        def reconfigure(self, settings: object) -> None:
            reconfigured.append(settings)

    tracker = ByteTracker()
    camera = SceneCamera(name, source=None, params=None, tracker=tracker)  # type: ignore[arg-type]
    control = control_of(camera, detector.labels)
    control.apply("conf", "0.9")
    control.apply("detect", "OFF")
    box = Detections(
        np.array([[10, 10, 50, 80]], np.float32), np.array([0.9], np.float32), np.zeros(1, np.int32)
    )
    for i in range(5):
        tracked, _ = tracker.update(box, i * 0.1)
    ids = tracked.track_ids.tolist()
    new = settings_pair(detect={"conf": 0.55}, tracker={"low_score": 0.2})
    plan = prepare(old, new, detector)
    Reloader.apply_live(plan, [camera], {name: control}, [Sink()], detector)
    assert camera.params is not None and camera.params.conf == 0.55 and camera.detect_enabled
    assert control.state()["conf"] == "0.55"
    assert scenes and reconfigured == [new]
    tracked, _ = tracker.update(box, 0.5)
    assert tracker.config.low_score == 0.2 and tracked.track_ids.tolist() == ids  # same track, same id


def test_check_finds_what_a_reload_would_refuse(tmp_path, demo) -> None:
    """'edgecv check' before 'systemctl reload': a class a camera's tracker gates on that the model lacks."""
    config = write_config(tmp_path / "edgecv.yaml", demo, tracker={"class_gates": {"unicorn": {}}})
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("EDGECV_")}
    result = subprocess.run(
        [sys.executable, "-m", "edgecv", "check", "--config", str(config)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert "tracker.class_gates: unknown class 'unicorn'" in result.stdout


def test_a_changed_cameras_map_rebuilds_in_process(tmp_path, demo, runs) -> None:
    config = write_config(tmp_path / "edgecv.yaml", demo)
    run = Run(config)
    runs.append(run)
    run.wait_frames(10)
    pid = run.proc.pid
    source = {"uri": str(demo["clip"]), "loop": True, "max_fps": 10}
    body = yaml.safe_load(config.read_text())
    del body["source"]
    body["cameras"] = {"front": {"source": source}, "back": {"source": source}}
    config.write_text(yaml.safe_dump(body))
    run.proc.send_signal(signal.SIGHUP)
    run.wait_log("reloaded (reopened in-process)")
    mark = time.monotonic()
    deadline = mark + 60
    while {f["camera"] for f in run.frames(mark)} != {"front", "back"}:
        assert time.monotonic() < deadline, run.stderr[-2000:]
        time.sleep(0.1)
    assert run.proc.pid == pid
    assert run.stop() == 0
