"""The mosquitto ACL docs/mqtt.md shows, on a real broker: only Home Assistant's user may publish to
``set/``; edgecv's own user receives what it may; everyone else reads and cannot steer."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs" / "mqtt.md"
USERS = ("edgecv", "homeassistant", "viewer")


def documented_acl() -> str:
    """The ACL block of docs/mqtt.md, as written there."""
    match = re.search(r"```\n(# /etc/mosquitto/acl.*?)```", DOCS.read_text(), re.S)
    assert match, "no ACL example in docs/mqtt.md"
    return match.group(1)


class Client:
    def __init__(self, port: int, user: str, subscribe: str | None = None) -> None:
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion

        self.received: list[tuple[str, bytes]] = []
        self.subscribed = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"acl-{user}")
        self.client.username_pw_set(user, f"{user}-password")
        connected = threading.Event()
        self.client.on_connect = lambda *_: connected.set()
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = lambda _c, _u, m: self.received.append((m.topic, bytes(m.payload)))
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        assert connected.wait(5), f"{user} could not connect"
        if subscribe:
            self.client.subscribe(subscribe, qos=1)
            assert self.subscribed.wait(5)

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_only_home_assistant_may_publish_to_set(tmp_path: Path, broker_factory, mq) -> None:
    passwd = shutil.which("mosquitto_passwd") or shutil.which("mosquitto_passwd", path="/usr/bin:/usr/sbin")
    if passwd is None:
        pytest.skip("mosquitto_passwd not installed (apt-get install mosquitto)")
    passwords = tmp_path / "passwords"
    for i, user in enumerate(USERS):
        flags = ["-b", "-c"] if i == 0 else ["-b"]
        subprocess.run([passwd, *flags, str(passwords), user, f"{user}-password"], check=True)
    passwords.chmod(0o644)
    acl = tmp_path / "acl"
    acl.write_text(documented_acl())
    acl.chmod(0o644)
    broker = broker_factory(start=False, passwords=passwords)
    broker.config.write_text(broker.config.read_text() + f"acl_file {acl}\n")
    broker.start()
    edgecv = Client(broker.port, "edgecv", subscribe="edgecv/dev/+/set/+")
    viewer = Client(broker.port, "viewer", subscribe="edgecv/#")
    homeassistant = Client(broker.port, "homeassistant")
    try:
        viewer.publish("edgecv/dev/cam/set/detect", b"OFF")  # refused by the broker (dropped)
        homeassistant.publish("edgecv/dev/cam/set/conf", b"0.6")
        edgecv.publish("edgecv/dev/cam/state/conf", b"0.6")
        assert mq.wait_until(lambda: edgecv.received and viewer.received, 5)
        assert edgecv.received == [("edgecv/dev/cam/set/conf", b"0.6")]  # the viewer's OFF never arrived
        # The viewer reads edgecv's topics (and, being a reader, Home Assistant's command too).
        assert mq.wait_until(lambda: ("edgecv/dev/cam/state/conf", b"0.6") in viewer.received, 5)
    finally:
        for client in (edgecv, viewer, homeassistant):
            client.close()
