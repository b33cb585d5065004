"""What scene events cost the post thread in ``MqttSink``, beside what track events cost, in the same run.

    .venv/bin/python tools/bench/mqtt_scene.py [--calls 2000] [--rounds 3]

A real mosquitto on loopback, the spool on (each event is appended to disk before it is sent). Per call:
``write_events`` with one track event, ``write_scene_events`` with one line crossing, and with a burst of ten
(crossings and zone entries and exits); the kinds alternate call by call so that they share the machine's
load. Prints the median and p99 per call in microseconds, and how many retained ``lines/`` messages the
crossings produced (coalesced: at most one per second per line, plus the first).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from edgecv.config.mqtt import MqttConfig  # noqa: E402
from edgecv.frame import Frame  # noqa: E402
from edgecv.labels import Labels  # noqa: E402
from edgecv.mqtt.rules import SceneRules  # noqa: E402
from edgecv.mqtt.sink import MqttSink  # noqa: E402
from edgecv.scene.events import SceneEvent  # noqa: E402
from edgecv.track.events import TrackEvent  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls of each kind per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    mosquitto = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
    if mosquitto is None:
        print("mosquitto not installed", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="edgecv-bench-"))
    port = _free_port()
    broker = subprocess.Popen([mosquitto, "-p", str(port)], stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    try:
        config = MqttConfig(
            host="127.0.0.1", port=port, device="bench", camera="cam", spool_dir=work, flush_timeout_s=30
        )
        rules = SceneRules(zones={"bay": ("person",)}, lines={"door": ("person",), "gate": ("person",)})
        sink = MqttSink(config, Labels(["person"]), scenes={"cam": rules})
        time.sleep(0.5)  # connected
        image = np.zeros((8, 8, 3), np.uint8)
        box = np.array([1, 2, 30, 40], np.float32)
        times: dict[str, list[float]] = {"track event x1": [], "scene event x1": [], "scene events x10": []}
        seq = events = 0
        for _ in range(args.rounds):
            for i in range(args.calls):
                seq += 1
                frame = Frame(image, seq, time.time())
                track = [TrackEvent("update", i, 0, 0.8, 0.9, box, frame.ts, frame.ts)]
                one = [SceneEvent("line_cross", i, 0, "door", frame.ts, "in")]
                burst = [
                    SceneEvent("line_cross", i, 0, ("door", "gate")[k % 2], frame.ts, "out") for k in range(6)
                ]
                burst += [
                    SceneEvent("zone_enter", i, 0, "bay", frame.ts),
                    SceneEvent("zone_exit", i, 0, "bay", frame.ts),
                ]
                burst += [SceneEvent("line_cross", i + 1, 0, "door", frame.ts, "in")] * 2
                for name, call in (
                    ("track event x1", partial(sink.write_events, frame, track)),
                    ("scene event x1", partial(sink.write_scene_events, frame, one)),
                    ("scene events x10", partial(sink.write_scene_events, frame, burst)),
                ):
                    start = time.perf_counter()
                    call()
                    times[name].append(time.perf_counter() - start)
                events += len(track) + len(one) + len(burst)
        published = sink.publisher.published
        sink.close()
        totals = sink.scenes["cam"].totals()
        for name, values in times.items():
            us = np.array(values) * 1e6
            print(
                f"{name:18s} median {np.median(us):7.1f} us  p99 {np.percentile(us, 99):7.1f} us  ({len(us)} calls)"
            )
        crossings = sum(sum(d.values()) for line in totals.values() for d in line.values())
        print(
            f"{crossings} crossings counted; {events} events and {published - events} other messages published "
            "(availability, counts, and the coalesced zones/ and lines/ topics: start, updates)"
        )
    finally:
        broker.terminate()
        broker.wait(5)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
