"""The real ``edgecv run`` on the bundled demo clip against a real mosquitto: events survive an exit, a
``kill -9`` and a full queue during a broker outage (the spool, on by default), and the retained state is
true after a clean exit.

The demo clip gives a few dozen track events (new/update/end) with the default tracker, the same ones on
every run, so a run's events are compared by what they are (camera, track id, event, frame) with an
undisturbed run's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

Key = tuple[str, int, str, int]  # camera, track id, event, frame


def _keys(messages: list[dict]) -> set[Key]:
    return {(m["camera"], m["track_id"], m["event"], m["seq"]) for m in messages}


def _recorded(path: Path, camera: str = "cam") -> set[Key]:
    """The events of a ``--record`` file (one camera: the lines carry no camera of their own)."""
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {(camera, e["track_id"], e["event"], e["seq"]) for e in lines if e.get("type") == "event"}


def _spool_file() -> Path:
    """Where the default spool of device dev, camera cam lives in these tests (XDG_STATE_HOME is per test)."""
    return Path(os.environ["XDG_STATE_HOME"]) / "edgecv" / "spool" / "dev" / "cam" / "events.jsonl"


def _spool_ids() -> list[str]:
    return [json.loads(line)["id"] for line in _spool_file().read_text().splitlines()]


@pytest.fixture(scope="session")
def clip_events(mq, demo_model: Path, tmp_path_factory: pytest.TempPathFactory) -> int:
    """How many events the demo clip gives (a run without MQTT, recorded)."""
    record = tmp_path_factory.mktemp("clip") / "run.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("EDGECV_")}  # no broker
    done = mq.run_edgecv(["run", "--record", str(record)], env)
    assert done.returncode == 0, done.stderr
    count = len(_recorded(record))
    assert count >= 20, "the demo clip gives too few events for these tests"
    return count


@pytest.fixture
def undisturbed(broker, subscribe, mq, clip_events: int) -> set[Key]:
    """The events of the demo clip delivered when nothing goes wrong."""
    sub = subscribe(broker.port, ["edgecv/dev/cam/events"])
    done = mq.run_edgecv(["run"], mq.edgecv_env(broker.port))
    assert done.returncode == 0, done.stderr
    assert mq.wait_until(lambda: len(_keys(sub.json("/events"))) >= clip_events)
    events = _keys(sub.json("/events"))
    assert len(events) == clip_events
    return events


def test_clip_ending_in_an_outage_is_delivered_by_the_next_start(
    broker, subscribe, mq, undisturbed: set[Key], tmp_path: Path
) -> None:
    n = len(undisturbed)
    env = mq.edgecv_env(broker.port)
    broker.stop()  # the outage: the whole clip runs and ends while the broker is down
    summary = tmp_path / "outage.json"
    done = mq.run_edgecv(["run", "--summary-json", str(summary)], env)
    assert done.returncode == 0, done.stderr
    mqtt = json.loads(summary.read_text())["mqtt"]
    assert (mqtt["spooled"], mqtt["undelivered"], mqtt["connected"]) == (n, 0, False)
    assert f"{n} event(s) spooled for the next start, 0 undelivered" in done.stderr
    # The stop path waited for the spool instead of abandoning the sink half way.
    assert "abandoning" not in done.stderr, done.stderr
    spooled_ids = _spool_ids()
    assert len(spooled_ids) == n

    broker.start()
    sub = subscribe(broker.port, ["edgecv/dev/cam/events"])
    summary = tmp_path / "next.json"
    again = mq.run_edgecv(["run", "--max-frames", "1", "--summary-json", str(summary)], env)
    assert again.returncode == 0, again.stderr
    mqtt = json.loads(summary.read_text())["mqtt"]
    assert (mqtt["spooled"], mqtt["undelivered"], mqtt["connected"]) == (0, 0, True)
    assert mq.wait_until(lambda: len(sub.json("/events")) >= n)
    received = sub.json("/events")
    assert _keys(received) == undisturbed
    # First, in order, with the ids they were spooled with.
    assert [m["id"] for m in received[:n]] == spooled_ids
    assert _spool_file().read_text() == ""


def test_kill_9_in_an_outage_loses_no_recorded_event(
    broker, subscribe, mq, clip_events: int, tmp_path: Path, repo_root: Path
) -> None:
    # Slowed to 30 fps, so that the clip is still running when it is killed.
    env = mq.edgecv_env(broker.port, EDGECV_SOURCE__MAX_FPS="30")
    broker.stop()
    record = tmp_path / "run.jsonl"
    child = subprocess.Popen(
        [sys.executable, "-m", "edgecv", "run", "--record", str(record)],
        env=env,
        cwd=repo_root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert mq.wait_until(lambda: record.exists() and len(_recorded(record)) >= 10, timeout=60)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        child.kill()
        child.wait(10)
    recorded = _recorded(record)
    assert 10 <= len(recorded) < clip_events, "killed mid-clip"
    assert len(_spool_ids()) >= 1

    broker.start()
    sub = subscribe(broker.port, ["edgecv/dev/cam/events"])
    again = mq.run_edgecv(["run", "--max-frames", "1"], mq.edgecv_env(broker.port))
    assert again.returncode == 0, again.stderr
    # kill -9 keeps what was written (the kernel has it); only a power cut loses the last fsync window.
    assert mq.wait_until(lambda: _keys(sub.json("/events")) >= recorded, timeout=10), recorded - _keys(
        sub.json("/events")
    )


def test_a_full_offline_queue_does_not_drop_spooled_events(broker, mq, tmp_path: Path) -> None:
    env = mq.edgecv_env(broker.port, EDGECV_MQTT__QUEUE__MAX_MESSAGES="5")
    broker.stop()
    summary = tmp_path / "summary.json"
    record = tmp_path / "run.jsonl"
    done = mq.run_edgecv(["run", "--summary-json", str(summary), "--record", str(record)], env)
    assert done.returncode == 0, done.stderr
    mqtt = json.loads(summary.read_text())["mqtt"]
    # Detections overflowed the 5-message queue; every event is still on disk.
    assert mqtt["dropped"] > 0
    assert (mqtt["spooled"], mqtt["undelivered"]) == (len(_recorded(record)), 0)
    assert len(_spool_ids()) == mqtt["spooled"]


def test_a_full_spool_drops_its_oldest_and_says_so(broker, mq, clip_events: int, tmp_path: Path) -> None:
    env = mq.edgecv_env(broker.port, EDGECV_MQTT__SPOOL_MAX_MB="0.005")  # ~5 KB: about a dozen events
    broker.stop()
    summary = tmp_path / "summary.json"
    done = mq.run_edgecv(["run", "--summary-json", str(summary)], env)
    assert done.returncode == 0, done.stderr
    mqtt = json.loads(summary.read_text())["mqtt"]
    assert 0 < mqtt["spooled"] < clip_events and mqtt["spooled"] == len(_spool_ids())
    assert mqtt["undelivered"] == clip_events - mqtt["spooled"] and mqtt["dropped"] >= mqtt["undelivered"]
    assert "the spool" in done.stderr and "is full (mqtt.spool_max_mb = 0.005)" in done.stderr
    assert f"{mqtt['undelivered']} undelivered (lost)" in done.stderr


def test_an_unwritable_spool_is_a_warning_not_a_crash(broker, mq, clip_events: int, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    env = mq.edgecv_env(broker.port, EDGECV_MQTT__SPOOL_DIR=str(blocker / "spool"))
    broker.stop()
    summary = tmp_path / "summary.json"
    done = mq.run_edgecv(["run", "--summary-json", str(summary)], env)
    assert done.returncode == 0, done.stderr
    warning = [line for line in done.stderr.splitlines() if "cannot use the spool" in line]
    assert len(warning) == 1 and "WARNING" in warning[0] and str(blocker) in warning[0]
    mqtt = json.loads(summary.read_text())["mqtt"]
    assert (mqtt["spool_errors"], mqtt["spooled"], mqtt["undelivered"]) == (1, 0, clip_events)
    assert f"0 event(s) spooled for the next start, {clip_events} undelivered (lost)" in done.stderr


def test_a_disk_that_fills_up_mid_run_is_a_warning_and_a_count(
    broker, mq, clip_events: int, tmp_path: Path
) -> None:
    # A real write failure: the file size limit makes every write past 8 KB fail with EFBIG, as a full
    # disk fails with ENOSPC (SIGXFSZ ignored, so the write returns the error instead of killing us).
    def limit_files() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))

    env = mq.edgecv_env(broker.port)
    broker.stop()
    summary = tmp_path / "summary.json"
    done = subprocess.run(
        [sys.executable, "-m", "edgecv", "run", "--summary-json", str(summary)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit_files,
    )
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "cannot write the spool" in line]
    assert len(warnings) == 1 and "WARNING" in warnings[0], done.stderr  # once per streak, not per event
    mqtt = json.loads(summary.read_text())["mqtt"]
    assert mqtt["spool_errors"] > 0 and 0 < mqtt["spooled"] < clip_events
    assert mqtt["spooled"] + mqtt["undelivered"] == clip_events
    assert len(_spool_ids()) == mqtt["spooled"]  # whole records only: the failed write was cut back off


def test_a_flush_longer_than_the_stop_budget_still_leaves_the_spool_whole(
    broker, mq, clip_events: int, tmp_path: Path
) -> None:
    # mqtt.flush_timeout_s above service.stop_deadline_s: the flush gives way, the spool is closed in time.
    env = mq.edgecv_env(broker.port, EDGECV_MQTT__FLUSH_TIMEOUT_S="30", EDGECV_SERVICE__STOP_DEADLINE_S="1")
    broker.stop()
    summary = tmp_path / "summary.json"
    done = mq.run_edgecv(["run", "--summary-json", str(summary)], env, timeout=20)
    assert done.returncode == 0, done.stderr
    assert "abandoning" not in done.stderr, done.stderr
    mqtt = json.loads(summary.read_text())["mqtt"]
    assert (mqtt["spooled"], mqtt["undelivered"]) == (clip_events, 0) and len(_spool_ids()) == clip_events


def test_a_spool_in_the_earlier_layout_is_delivered(broker, subscribe, mq, tmp_path: Path) -> None:
    # Before per-camera spools, mqtt.spool_dir (the units set it) held events.jsonl and acked.log itself.
    spool_dir = tmp_path / "state" / "edgecv" / "cam1"
    spool_dir.mkdir(parents=True)
    records = [
        {
            "id": f"old-{i}",
            "topic": "edgecv/dev/cam/events",
            "qos": 1,
            "payload": json.dumps({"id": f"old-{i}"}),
        }
        for i in range(3)
    ]
    (spool_dir / "events.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (spool_dir / "acked.log").write_text("old-1\n")
    sub = subscribe(broker.port, ["edgecv/dev/cam/events"])
    env = mq.edgecv_env(broker.port, EDGECV_MQTT__SPOOL_DIR=str(spool_dir))
    done = mq.run_edgecv(["run", "--max-frames", "1"], env)
    assert done.returncode == 0, done.stderr
    assert mq.wait_until(lambda: len(sub.json("/events")) >= 2)
    assert [m["id"] for m in sub.json("/events")] == ["old-0", "old-2"]
    assert not (spool_dir / "events.jsonl").exists()  # taken over by the per-camera spool
    assert (spool_dir / "dev" / "cam" / "events.jsonl").read_text() == ""


def test_counts_are_zero_before_offline_after_a_clean_exit(broker, subscribe, mq) -> None:
    sub = subscribe(broker.port, ["edgecv/dev/cam/counts/#", "edgecv/dev/cam/availability"])
    done = mq.run_edgecv(["run"], mq.edgecv_env(broker.port))
    assert done.returncode == 0, done.stderr
    assert mq.wait_until(lambda: sub.on("/availability") and sub.on("/availability")[-1][1] == b"offline")
    # The clip ends with five tracks in view; once edgecv has gone, none is.
    last: dict[str, int] = {}
    offline_at = max(i for i, (topic, payload, _) in enumerate(sub.messages) if payload == b"offline")
    for topic, payload, _ in sub.messages[:offline_at]:
        if "/counts/" in topic:
            last[topic] = json.loads(payload)["count"]
    assert last["edgecv/dev/cam/counts/all"] == 0 and set(last.values()) == {0}, last
    assert len(last) >= 2  # a label's count and the total
    late = subscribe(broker.port, ["edgecv/dev/cam/counts/#"])
    time.sleep(0.3)
    assert late.messages and all(json.loads(p)["count"] == 0 for _, p, r in late.messages if r)
