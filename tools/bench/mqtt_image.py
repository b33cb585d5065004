"""What the ``image`` topic costs ``MqttSink``'s caller (the post thread), with and without it, in one run.

    .venv/bin/python tools/bench/mqtt_image.py [--frames 600] [--rounds 3] [--interval 1]

A real mosquitto on loopback. Frames of vtest.mp4 (``../shared/assets/video``, else a generated 640x480
frame) with five tracked boxes go through ``write_frame`` (and ``write_events`` with a ``new`` event every
100 frames) of two sinks, one with the annotated image (``mqtt.image_interval_s`` = ``--interval``) and one
without, alternating frame by frame. Prints the median and p99 per frame in microseconds for each, the time
the encoder thread spent drawing and encoding per image, and how many images went out.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from edgecv.config.mqtt import MqttConfig  # noqa: E402
from edgecv.detections import Detections  # noqa: E402
from edgecv.frame import Frame  # noqa: E402
from edgecv.labels import Labels  # noqa: E402
from edgecv.mqtt.image import AnnotatedJpeg  # noqa: E402
from edgecv.mqtt.sink import MqttSink  # noqa: E402
from edgecv.track.events import TrackEvent  # noqa: E402

VTEST = ROOT.parent / "shared" / "assets" / "video" / "vtest.mp4"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _frames(n: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(VTEST))
    frames = []
    while len(frames) < n:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    return frames or [np.full((480, 640, 3), 90, np.uint8)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=600, help="frames per sink per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--interval", type=float, default=1.0, help="mqtt.image_interval_s")
    args = parser.parse_args()
    mosquitto = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
    if mosquitto is None:
        print("mosquitto not installed", file=sys.stderr)
        return 1
    port = _free_port()
    workdir = Path(tempfile.mkdtemp())
    (workdir / "m.conf").write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    broker = subprocess.Popen([mosquitto, "-c", str(workdir / "m.conf")], stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    labels = Labels(["person"])
    images = _frames(200)
    n = 5
    boxes = np.array([[40 + 60 * i, 80, 90 + 60 * i, 220] for i in range(n)], np.float32)
    detections = Detections(boxes, np.full(n, 0.8, np.float32), np.zeros(n, np.int32), np.arange(1, n + 1))
    event = TrackEvent("new", 1, 0, 0.8, 0.8, boxes[0], 0.0, 0.0)  # type: ignore[arg-type]
    times: dict[str, list[float]] = {"image": [], "none": []}
    sinks = {}
    try:
        for kind in times:
            config = MqttConfig(
                host="127.0.0.1", port=port, device=f"bench-{kind}", camera="cam", spool=False,
                image_interval_s=args.interval, stats_interval_s=3600,
            )  # fmt: skip
            render = AnnotatedJpeg(labels, {}, 640, 80) if kind == "image" else None
            sinks[kind] = MqttSink(config, labels, render=render)
        time.sleep(0.5)
        seq = 0
        for _ in range(args.rounds):
            for i in range(args.frames):
                image = images[i % len(images)]
                # Alternate which sink goes first: the first of a pair pays for waking the network threads.
                for kind, sink in sorted(sinks.items(), reverse=bool(i % 2)):
                    frame = Frame(image, seq, time.time(), source_id="cam")
                    start = time.perf_counter()
                    sink.write_frame(frame, detections)
                    if i % 100 == 0:
                        sink.write_events(frame, [event])
                    times[kind].append(time.perf_counter() - start)
                seq += 1
                time.sleep(1 / 30)  # a camera's pace: the interval is in wall time
        encoder = sinks["image"].images
        assert encoder is not None
        time.sleep(0.5)
        print(
            f"frames per sink: {len(times['image'])} ({args.rounds} rounds), 30 fps pace, {n} tracked boxes"
        )
        for kind, values in times.items():
            us = np.array(values) * 1e6
            print(f"{kind:>5}: median {np.median(us):.1f} us, p99 {np.percentile(us, 99):.1f} us per frame")
        per_image = encoder.encode_s / encoder.published * 1e3 if encoder.published else float("nan")
        print(
            f"images published: {encoder.published}, drawing + encoding {per_image:.2f} ms each (encoder thread)"
        )
    finally:
        for sink in sinks.values():
            sink.close()
        broker.terminate()
        broker.wait(5)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
