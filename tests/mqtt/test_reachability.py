"""An unreachable broker is said out loud: one WARNING naming host:port and the reason within 5 s, again
when the reason changes, at most once a minute while it persists, and the recovery; ``stats`` and the run
summary carry ``mqtt.connected`` and ``mqtt.last_error``."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgecv.labels import Labels
from edgecv.mqtt import reachability
from edgecv.mqtt.payloads import StatsMessage
from edgecv.mqtt.reachability import Reachability, describe
from edgecv.mqtt.sink import MqttSink

LABELS = Labels(["person", "car"])
WARN_WITHIN_S = 5.0  # the contract


def _warnings(caplog: pytest.LogCaptureFixture, text: str = "unreachable") -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and text in r.getMessage()]


@contextlib.contextmanager
def _silent_server() -> Iterator[int]:
    """Accepts TCP connections and never says a word (a firewall's tarpit, a hung broker)."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                accepted.append(server.accept()[0])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        for conn in accepted:
            conn.close()
        server.close()


def test_edgecv_run_names_host_port_and_reason(broker_factory, mq, tmp_path: Path) -> None:
    port = broker_factory(start=False).port  # a free port nobody listens on
    summary = tmp_path / "summary.json"
    done = mq.run_edgecv(["run", "--max-frames", "5", "--summary-json", str(summary)], mq.edgecv_env(port))
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "WARNING" in line and "unreachable" in line]
    assert len(warnings) == 1, done.stderr  # retried many times, said once
    assert f"127.0.0.1:{port}" in warnings[0] and "connection refused" in warnings[0]
    mqtt = json.loads(summary.read_text())["mqtt"]
    assert mqtt["connected"] is False and mqtt["last_error"].startswith("connection refused")


def test_refused_is_warned_within_5_s_once_then_recovery_logged(broker_factory, mq, caplog) -> None:
    caplog.set_level(logging.INFO)
    broker = broker_factory(start=False)
    sink = MqttSink(mq.config(broker.port, reconnect_min_s=0.05, reconnect_max_s=0.1), LABELS)
    try:
        assert mq.wait_until(lambda: _warnings(caplog), timeout=WARN_WITHIN_S)
        assert mq.wait_until(lambda: sink.publisher.link.reachability.failures >= 5)
        (warning,) = _warnings(caplog)  # five attempts, one line
        assert f"127.0.0.1:{broker.port}" in warning and "connection refused" in warning
        state = sink.summary()["mqtt"]
        assert state["connected"] is False and state["last_error"].startswith("connection refused")
        broker.start()
        assert mq.wait_until(lambda: sink.publisher.online)
        assert mq.wait_until(lambda: any("reachable again" in r.getMessage() for r in caplog.records))
        state = sink.summary()["mqtt"]
        assert state["connected"] is True and state["last_error"].startswith("connection refused")
    finally:
        sink.close()


def test_a_broker_that_never_answers_is_a_timeout(mq, caplog, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reachability, "SILENCE_S", 0.5)  # the real one is 4.5 s: within the 5 s
    with _silent_server() as port:
        sink = MqttSink(mq.config(port), LABELS)
        try:
            assert mq.wait_until(lambda: _warnings(caplog), timeout=WARN_WITHIN_S)
            (warning,) = _warnings(caplog)
            assert f"127.0.0.1:{port}" in warning and "timeout (no answer within 0.5 s)" in warning
        finally:
            sink.close()


def test_tls_to_a_plain_port_is_a_tls_failure(broker, mq, caplog) -> None:
    sink = MqttSink(mq.config(broker.port, tls={"enabled": True}), LABELS)
    try:
        assert mq.wait_until(lambda: _warnings(caplog), timeout=WARN_WITHIN_S)
        (warning,) = _warnings(caplog)
        assert f"127.0.0.1:{broker.port}" in warning and "TLS failure" in warning
    finally:
        sink.close()


def test_stats_carry_connected_and_last_error(broker, subscribe, mq) -> None:
    sub = subscribe(broker.port, ["edgecv/dev/cam/stats"])
    sink = MqttSink(mq.config(broker.port, stats_interval_s=0.05), LABELS)
    try:
        assert mq.wait_until(lambda: sink.publisher.online)
        seq = 0
        while not sub.json("/stats") and seq < 200:  # bounded: a stats message every 50 ms
            sink.write_frame(mq.frame(seq), mq.detections([0]))
            seq += 1
            mq.wait_until(lambda: False, timeout=0.01)
        stats = sub.json("/stats")
        assert stats, "no stats message"
        StatsMessage.model_validate(stats[-1])
        assert stats[-1]["mqtt"] == {"connected": True, "last_error": None}
        assert stats[-1]["spooled"] == 0 and stats[-1]["spool_errors"] == 0
    finally:
        sink.close()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_persisting_reason_is_repeated_once_a_minute_and_a_change_at_once(caplog) -> None:
    caplog.set_level(logging.INFO)
    clock = FakeClock()
    state = Reachability("broker.lan:1883", clock=clock)
    for _ in range(30):  # 30 attempts within 59 s
        state.failed("connection refused")
        clock.now += 59 / 30
    assert len(_warnings(caplog)) == 1
    clock.now += 2  # past the minute
    state.failed("connection refused")
    assert len(_warnings(caplog)) == 2 and "still unreachable after 61 s" in _warnings(caplog)[-1]
    state.failed("name not resolved (Name or service not known)")  # a change: said at once
    assert len(_warnings(caplog)) == 3 and "now: name not resolved" in _warnings(caplog)[-1]
    clock.now += 10
    state.up()
    assert state.connected and state.last_error == "name not resolved (Name or service not known)"
    assert any("reachable again after 71.0 s" in r.getMessage() for r in caplog.records)
    state.lost("keep alive timeout")
    state.failed("connection refused")  # a new outage: warned at once
    assert (
        len(_warnings(caplog)) == 4
        and "broker.lan:1883 unreachable: connection refused" in _warnings(caplog)[-1]
    )


def _refused() -> OSError:
    port = socket.create_server(("127.0.0.1", 0))
    number = port.getsockname()[1]
    port.close()
    try:
        socket.create_connection(("127.0.0.1", number), timeout=1).close()
    except OSError as exc:
        return exc
    raise AssertionError("a closed port accepted")


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (_refused, "connection refused"),
        (lambda: socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "name not resolved"),
        (lambda: TimeoutError("timed out"), "timeout (no answer within 4 s)"),
        (lambda: ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), "TLS failure"),
        (lambda: ssl.SSLCertVerificationError(1, "certificate verify failed"), "TLS failure"),
        (lambda: OSError(101, "Network is unreachable"), "network is unreachable"),
    ],
)
def test_reasons_in_words(make, expected: str) -> None:
    assert describe(make(), 4.0).startswith(expected)
