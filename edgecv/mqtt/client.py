"""The connection to the broker (the only module that imports paho-mqtt).

paho's ``loop_start()`` thread owns the socket: it connects (``connect_async``, so a broker that is absent at
start does not stop the pipeline), reconnects with bounded exponential backoff, and calls the callbacks
below. Callbacks run on that thread and must be quick; they only flip flags and hand over to
:class:`~edgecv.mqtt.publisher.Publisher`.

Every failed attempt goes to :class:`~edgecv.mqtt.reachability.Reachability`, which says out loud (one
WARNING naming ``host:port`` and the reason) that the broker cannot be reached. Two failures are not left to
the retry loop at all, because retrying hides them:

* the broker refuses the credentials (CONNACK "bad user name or password" / "not authorized" / "banned"):
  retrying cannot succeed, so the link stops and records :class:`MqttAuthError` (exit code 2, the code the
  service unit does not restart on). The sink raises it on the next frame and ``edgecv run`` ends with one
  line, instead of running for months without publishing anything;
* another client uses our client id: the broker drops whichever connected first, both reconnect, and they
  kick each other off forever. MQTT 5 says so (reason 142, session taken over); with 3.1.1 it shows as
  sessions that the broker ends while every reconnect succeeds at once. Reported once, loudly.
"""

from __future__ import annotations

import logging
import os
import ssl
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion

from ..config.mqtt import MqttConfig, MqttTlsConfig, credentials_password_file
from ..credentials import first_line
from ..errors import ConfigError, EdgecvError
from .reachability import Reachability, describe

log = logging.getLogger(__name__)

# CONNACK reason codes (MQTT 5 numbering; paho maps 3.1.1 return codes onto them) that retrying cannot fix.
FATAL_CONNACK = {
    133: "client identifier not valid",
    134: "bad user name or password",
    135: "not authorized (mosquitto's answer to a wrong user name or password)",
    138: "banned",
    140: "bad authentication method",
}
SESSION_TAKEN_OVER = 142
# 3.1.1 duplicate-id pattern: this many broker-ended sessions in a row, each shorter than SHORT_SESSION_S,
# each followed by a reconnect that succeeded at the first attempt (a restarting broker refuses some).
TAKEOVER_STREAK = 3
SHORT_SESSION_S = 30.0
# TCP connect and TLS handshake: a broker that does not answer in this long is reported as a timeout (paho's
# own default, 5 s, would come after the 5 s in which a failure is to be reported).
CONNECT_TIMEOUT_S = 4.0


class MqttAuthError(ConfigError):
    """The broker refused our credentials or client id: a configuration problem, exit code 2."""


def read_password(config: MqttConfig) -> str | None:
    """The password from the config, its file, or systemd's credential directory. Never logged."""
    if config.password is not None:
        return config.password.get_secret_value()
    path = config.password_file
    if path is not None and not path.is_absolute() and os.environ.get("CREDENTIALS_DIRECTORY"):
        candidate = Path(os.environ["CREDENTIALS_DIRECTORY"]) / path
        path = candidate if candidate.exists() else path
    if path is None:
        path = credentials_password_file()
    if path is None:
        return None
    return first_line(
        path, f"cannot read mqtt.password_file {path}", "check the path and that the edgecv user may read it"
    )


def build_client(config: MqttConfig, client_id: str) -> paho.Client:
    """A paho client set up as ``config`` says (protocol, session, credentials, TLS), neither connected nor
    given callbacks. :class:`MqttLink` adds its last will, limits and callbacks; ``edgecv check`` connects
    once with it, so the check proves exactly the connection the service will make.

    Raises :class:`ConfigError` when a TLS file is missing or does not load, or the password file cannot be
    read.
    """
    v5 = config.protocol == "5"
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
        # A clean session for the publisher: QoS 1 messages in flight are kept and re-sent by the
        # client itself after a reconnect; a persistent session would only matter for subscriptions.
        clean_session=None if v5 else True,
    )
    if config.username is not None:
        client.username_pw_set(config.username, read_password(config))
    if config.tls.active:
        _set_tls(client, config.tls)
    return client


def _set_tls(client: paho.Client, tls: MqttTlsConfig) -> None:
    for name in ("ca_file", "cert_file", "key_file"):
        path = getattr(tls, name)
        if path is not None and not Path(path).is_file():
            raise ConfigError(f"mqtt.tls.{name} not found: {path}")
    try:
        client.tls_set(
            ca_certs=str(tls.ca_file) if tls.ca_file else None,
            certfile=str(tls.cert_file) if tls.cert_file else None,
            keyfile=str(tls.key_file) if tls.key_file else None,
            cert_reqs=ssl.CERT_REQUIRED,
        )
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise ConfigError(f"mqtt.tls: cannot load the certificates: {exc}") from None
    client.tls_insecure_set(tls.insecure)


class MqttLink:
    """One paho client, connected in the background. ``on_connect``/``on_disconnect``/``on_ack`` are the
    publisher's hooks, called on paho's network thread."""

    def __init__(
        self,
        config: MqttConfig,
        *,
        will_topic: str,
        will_payload: bytes,
        on_connect: Callable[[], None],
        on_disconnect: Callable[[], None],
        on_ack: Callable[[int], None],
        on_message: Callable[[str, bytes, bool], None] | None = None,
    ) -> None:
        self.config = config
        self.client_id = config.effective_client_id
        self._hooks = (on_connect, on_disconnect, on_ack, on_message)
        self.fatal: EdgecvError | None = None
        self.connects = 0
        self.failed_attempts = 0
        self.client_id_conflict = False
        self._connected_at = 0.0
        self._failed_since_connect = 0
        self._short_streak = 0
        self._stopped = threading.Event()
        self.reachability = Reachability(f"{config.host}:{config.effective_port}")
        self.client = self._build(will_topic, will_payload)

    def _build(self, will_topic: str, will_payload: bytes) -> paho.Client:
        c = self.config
        client = build_client(c, self.client_id)
        # Our own outbox bounds what waits while offline; paho's queue holds only what is in flight.
        client.max_inflight_messages_set(100)
        client.connect_timeout = CONNECT_TIMEOUT_S
        # Annotated as int, but paho only multiplies and sleeps: sub-second delays work (tests, LAN brokers).
        client.reconnect_delay_set(min_delay=c.reconnect_min_s, max_delay=c.reconnect_max_s)  # type: ignore[arg-type]
        client.will_set(will_topic, will_payload, qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    # -- lifecycle --------------------------------------------------------------------------------------

    def start(self) -> None:
        c = self.config
        if c.host is None:
            raise ConfigError("mqtt.host is not set", "set mqtt.host to the broker's address")
        self.client.connect_async(c.host, c.effective_port, keepalive=c.keepalive)
        self.reachability.start()
        self.client.loop_start()

    def disconnect(self) -> None:
        """Say goodbye to the broker (a clean DISCONNECT: no last will) and stop retrying; returns at once."""
        self._stopped.set()
        self.reachability.stop()
        self.client.disconnect()

    def stop(self, timeout_s: float | None = None) -> bool:
        """Disconnect and end the network thread, waiting at most ``timeout_s`` (None: until it ends) for
        it: a thread inside a TCP connect or a name lookup ends only when that returns. True when it ended."""
        self.disconnect()
        stopper = threading.Thread(target=self.client.loop_stop, name="edgecv-mqtt-stop", daemon=True)
        stopper.start()
        stopper.join(timeout_s)
        return not stopper.is_alive()

    # -- paho callbacks (network thread) ----------------------------------------------------------------

    def _on_connect(self, client: paho.Client, _userdata: Any, flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            code = reason.value
            if code in FATAL_CONNACK:
                self.fatal = MqttAuthError(
                    f"mqtt: broker {self.config.host}:{self.config.effective_port} refused client "
                    f"{self.client_id!r}"
                    + (f" user {self.config.username!r}" if self.config.username else "")
                    + f": {FATAL_CONNACK[code]}",
                    "check mqtt.username and the password (mqtt.password_file / credential), or the broker's ACL",
                )
                log.error("%s", self.fatal)
                self.reachability.last_error = FATAL_CONNACK[code]
                # disconnect() ends loop_forever: no retry loop hammering the broker with a wrong password.
                client.disconnect()
                return
            self.failed_attempts += 1
            self._failed_since_connect += 1
            self.reachability.failed(f"the broker refused the connection ({reason})")
            return
        self.connects += 1
        self.reachability.up()
        self._connected_at = time.monotonic()
        if self.connects == 1:
            log.info(
                "mqtt: connected to %s:%d as %s", self.config.host, self.config.effective_port, self.client_id
            )
        else:
            log.info("mqtt: reconnected (%d reconnects)", self.connects - 1)
        self._failed_since_connect = 0
        self._hooks[0]()

    def _on_connect_fail(self, _client: paho.Client, _userdata: Any) -> None:
        self.failed_attempts += 1
        self._failed_since_connect += 1
        # paho calls this from inside its ``except OSError:`` around the attempt, and passes no exception:
        # the one being handled is the reason.
        exc = sys.exc_info()[1]
        tls = self.config.tls.active
        self.reachability.failed(
            describe(exc, CONNECT_TIMEOUT_S, tls) if exc is not None else "connection failed"
        )

    def _on_disconnect(
        self, _client: paho.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        self._hooks[1]()
        was_up = self.reachability.connected
        if self._stopped.is_set() or self.fatal is not None:
            self.reachability.connected = False
            return
        if not was_up:
            # The TCP connection opened but closed before a CONNACK: not an MQTT broker, or a TLS port.
            self.reachability.failed(
                f"the connection closed before the broker answered ({reason}; a TLS port without mqtt.tls?)"
            )
            return
        self.reachability.lost(str(reason))
        lasted = time.monotonic() - self._connected_at
        log.warning("mqtt: disconnected after %.1f s (%s); reconnecting", lasted, reason)
        code = getattr(reason, "value", None)
        if code == SESSION_TAKEN_OVER:
            self._report_conflict("the broker says another client took over our session")
        elif lasted < SHORT_SESSION_S and self._failed_since_connect == 0:
            self._short_streak += 1
            if self._short_streak >= TAKEOVER_STREAK:
                self._report_conflict(
                    f"{self._short_streak} sessions in a row ended by the broker within {SHORT_SESSION_S:.0f} s "
                    "while every reconnect succeeded at once"
                )
        else:
            self._short_streak = 0

    def _report_conflict(self, why: str) -> None:
        if self.client_id_conflict:
            return
        self.client_id_conflict = True
        log.error(
            "mqtt: client id %r appears to be used by another client (%s): the two will keep kicking each "
            "other off; set a unique mqtt.client_id (or mqtt.device/mqtt.camera) on each device",
            self.client_id,
            why,
        )

    def _on_publish(self, _client: paho.Client, _userdata: Any, mid: int, _reason: Any, _props: Any) -> None:
        self._hooks[2](mid)

    def _on_message(self, _client: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
        if self._hooks[3] is not None:
            self._hooks[3](message.topic, bytes(message.payload), bool(message.retain))

    # -- used by the publisher --------------------------------------------------------------------------

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> tuple[int, bool]:
        """Hand a message to paho: ``(mid, kept)``. ``kept`` is False when paho dropped it (QoS 0 while the
        link is down); QoS 1/2 messages are kept by paho even then and re-sent after the reconnect."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
            return info.mid, True
        if info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN and qos > 0:
            return info.mid, True
        return info.mid, False

    def subscribe(self, topic: str, qos: int = 1) -> None:
        self.client.subscribe(topic, qos=qos)
