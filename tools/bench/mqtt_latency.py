"""Detection → subscriber latency through a real mosquitto on loopback, and publisher CPU per message.

Publishes ``detections`` messages (5 objects each, the real payload path of MqttSink.write_frame) at a
fixed rate and measures, per message, the time from the write_frame call to its arrival at a QoS 0
subscriber in another process-free paho client on the same host. CPU per message is the publishing
thread's process_time delta plus paho's network thread (whole-process CPU, minus the subscriber's share is
not separable in one process, so the subscriber runs in a child process).

    .venv/bin/python tools/bench/mqtt_latency.py [--rate 30] [--seconds 20]

Goal: p99 ≤ 5 ms at 30 messages/s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SUBSCRIBER = r"""
import json, sys, time, threading
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
port, n = int(sys.argv[1]), int(sys.argv[2])
arrivals = {}
done = threading.Event()
def on_message(c, u, m):
    arrivals[json.loads(m.payload)["seq"]] = time.time()
    if len(arrivals) >= n: done.set()
c = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
c.on_message = on_message
c.on_connect = lambda c, u, f, r, p: (c.subscribe("bench/+/+/detections", qos=0), print("ready", flush=True))
c.connect("127.0.0.1", port)
c.loop_start()
done.wait(float(sys.argv[3]))
c.loop_stop()
print(json.dumps(arrivals))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=30.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="duration (bounded)")
    args = parser.parse_args()
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(mosquitto).exists():
        print("mosquitto not installed: apt-get install -y mosquitto", file=sys.stderr)
        return 1

    from edgecv.config.mqtt import MqttConfig
    from edgecv.detections import Detections
    from edgecv.frame import Frame
    from edgecv.labels import Labels
    from edgecv.mqtt.sink import MqttSink

    n = int(args.rate * min(args.seconds, 120))
    tmp = Path(tempfile.mkdtemp())
    port = free_port()
    (tmp / "m.conf").write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    broker = subprocess.Popen([mosquitto, "-c", str(tmp / "m.conf")], stderr=subprocess.DEVNULL)
    sub = None
    try:
        time.sleep(0.3)
        sub = subprocess.Popen(
            [sys.executable, "-c", SUBSCRIBER, str(port), str(n), str(args.seconds + 10)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert sub.stdout.readline().strip() == "ready"
        sink = MqttSink(
            MqttConfig(
                host="127.0.0.1", port=port, prefix="bench", device="d", camera="c", stats_interval_s=3600
            ),
            Labels(["person", "car"]),
        )
        deadline = time.monotonic() + 5
        while not sink.publisher.online and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        rng = np.random.default_rng(0)
        image = np.zeros((8, 8, 3), np.uint8)
        sent: dict[int, float] = {}
        period = 1.0 / args.rate
        # A steady scene (3 people, 2 cars, boxes moving): counts are retained on change only, so a scene
        # whose counts changed every frame would measure the counts topic, not detections.
        classes = np.array([0, 0, 0, 1, 1], np.int32)
        cpu0, t0 = time.process_time(), time.monotonic()
        publish_cpu = 0.0
        for seq in range(n):
            boxes = rng.uniform(0, 600, (5, 4)).astype(np.float32)
            dets = Detections(boxes, rng.uniform(0.3, 1, 5).astype(np.float32), classes)
            frame = Frame(image, seq, time.time())
            c = time.thread_time()
            sent[seq] = time.time()
            sink.write_frame(frame, dets)
            publish_cpu += time.thread_time() - c
            next_at = t0 + (seq + 1) * period
            time.sleep(max(0.0, next_at - time.monotonic()))
        wall = time.monotonic() - t0
        process_cpu = time.process_time() - cpu0  # this process: post thread + paho's network thread
        sink.close()
        out, _ = sub.communicate(timeout=30)
    finally:
        if sub is not None and sub.poll() is None:
            sub.kill()
        broker.terminate()
        broker.wait(5)
        shutil.rmtree(tmp, ignore_errors=True)
    arrivals = {int(k): v for k, v in json.loads(out.strip().splitlines()[-1]).items()}
    latencies = np.array([(arrivals[s] - sent[s]) * 1000 for s in sent if s in arrivals])
    result = {
        "rate_msg_s": args.rate,
        "messages": n,
        "received": len(latencies),
        "p50_ms": round(float(np.percentile(latencies, 50)), 3),
        "p99_ms": round(float(np.percentile(latencies, 99)), 3),
        "max_ms": round(float(latencies.max()), 3),
        "write_frame_cpu_us_per_msg": round(publish_cpu / n * 1e6, 1),
        "process_cpu_us_per_msg": round(process_cpu / n * 1e6, 1),
        "process_cpu_pct": round(process_cpu / wall * 100, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(result))
    print(
        f"mqtt latency at {args.rate:.0f} msg/s: p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms "
        f"(goal ≤ 5 ms: {'met' if result['p99_ms'] <= 5 else 'MISSED'}); publisher CPU "
        f"{result['process_cpu_us_per_msg']:.0f} µs/msg ({result['write_frame_cpu_us_per_msg']:.0f} µs in write_frame)",
        file=sys.stderr,
    )
    return 0 if len(latencies) == n else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
