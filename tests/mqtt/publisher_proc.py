"""An edgecv MQTT publisher in its own process (tests kill it with SIGKILL, like a crash or power cut).

Drives :class:`MqttSink` with synthetic frames and track events at a bounded rate, then closes it, or
with ``--hold`` waits to be killed. Prints ``sent N`` after each event so the test can follow.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from edgecv.config.mqtt import MqttConfig
from edgecv.detections import Detections
from edgecv.frame import Frame
from edgecv.labels import Labels
from edgecv.mqtt.sink import MqttSink
from edgecv.track.events import TrackEvent


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True, help="MqttConfig as JSON")
    parser.add_argument("--events", type=int, default=0)
    parser.add_argument("--first-track", type=int, default=0)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--hold", action="store_true", help="after sending, wait to be killed")
    args = parser.parse_args()
    sink = MqttSink(MqttConfig(**json.loads(args.config)), Labels(["person", "car"]))
    image = np.zeros((8, 8, 3), np.uint8)
    box = np.array([1, 2, 3, 4], np.float32)
    for i in range(args.events):
        ts = time.time()
        frame = Frame(image, i, ts)
        sink.write_frame(frame, Detections(box[None], np.array([0.9], np.float32), np.array([0], np.int32)))
        track = args.first_track + i
        sink.write_events(frame, [TrackEvent("new", track, 0, 0.9, 0.9, box, ts, ts)])
        print(f"sent {i + 1}", flush=True)
        time.sleep(1.0 / args.rate)
    if args.hold:
        print("holding", flush=True)
        time.sleep(120)  # bounded: the test kills us long before
    sink.close()
    print(json.dumps(sink.summary()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
