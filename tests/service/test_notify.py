"""sd_notify without libsystemd: addresses, the watchdog period and whose watchdog it is."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest

from edgecv.service.notify import Notifier


def test_datagram_to_a_socket_path(notify_socket) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": str(notify_socket.path)})
    assert notifier.enabled
    notifier.ready("waiting: for camera 0\nsecond line")
    notifier.watchdog()
    notifier.stopping()
    notify_socket.wait_for("STOPPING", "1", timeout=5)
    fields = [f for _, f in notify_socket.messages]
    assert fields[0] == {"READY": "1", "STATUS": "waiting: for camera 0 second line"}  # STATUS is one line
    assert fields[1] == {"WATCHDOG": "1"}


def test_abstract_namespace_address() -> None:
    name = f"edgecv-test-{uuid.uuid4().hex}"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(b"\0" + name.encode())
    server.settimeout(5)
    try:
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).send(READY=1)
        assert server.recv(100) == b"READY=1"
    finally:
        server.close()


def test_outside_systemd_everything_is_a_no_op(tmp_path: Path) -> None:
    notifier = Notifier({})
    assert not notifier.enabled and notifier.watchdog_interval_s is None
    assert notifier.send(READY=1) is False
    # a vanished manager is not an error either
    assert Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")}).send(READY=1) is False


@pytest.mark.parametrize(
    ("environ", "interval"),
    [
        ({"WATCHDOG_USEC": "2000000"}, 1.0),
        ({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid())}, 1.0),
        ({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
    ],
)
def test_watchdog_interval_is_half_the_timeout_and_only_for_us(environ: dict, interval: float | None) -> None:
    assert Notifier(environ).watchdog_interval_s == interval
