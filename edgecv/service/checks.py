"""``edgecv check``'s self-test: each configured part tried for real, once, with a verdict and a reason.

Worth running before ``systemctl enable``: a service that fails at 3 a.m. because the camera path has a
typo or the broker password is wrong is found here in seconds, with the message a person needs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Literal

import numpy as np

from ..config import Settings, SourceConfig, load_settings
from ..config.mqtt import MqttConfig
from ..config.secrets import Redactor
from ..errors import EXIT_INPUT, EXIT_RUNTIME, ConfigError, EdgecvError
from . import access

# warn: works, but something a person should fix (a secret every user can read); does not fail the check.
Outcome = Literal["pass", "warn", "fail", "skipped"]
MQTT_TIMEOUT_S = 5.0


@dataclass
class Check:
    name: str
    outcome: Outcome
    detail: str
    exit_code: int = 0  # of a failure: 2 when an input must be fixed (edgecv.errors), else 1


def run_checks(config_path: str | None, overrides: dict[str, dict[str, Any]]) -> list[Check]:
    """Config, then source, model and broker; a part that cannot be tried is ``skipped`` with the reason."""
    try:
        settings = load_settings(config_path, overrides)
    except ConfigError as exc:
        return [Check("config", "fail", str(exc))] + [
            Check(name, "skipped", "the config is invalid") for name in ("files", "source", "model", "mqtt")
        ]
    checks = [Check("config", "pass", str(config_path) if config_path else "defaults and environment")]
    checks.append(check_files(settings, config_path))
    frame: list[np.ndarray] = []
    # One row per camera of a cameras map, named by its config key ("cameras.front"); the shorthand's one
    # camera is "source".
    for name, camera in settings.camera_sections().items():
        row = f"cameras.{name}" if settings.cameras else "source"
        checks.append(_attempt(row, partial(_source, camera.source, frame, bool(settings.cameras))))
    checks.append(_attempt("model", lambda: _model(settings, frame[0] if frame else None)))
    mqtt = settings.mqtt
    if mqtt.host is None:
        checks.append(Check("mqtt", "skipped", "mqtt.host is not set"))
    else:
        checks.append(_attempt("mqtt", lambda: probe_broker(mqtt)))
    # A library's message may quote a configured secret (or a URL with its password): the table never does.
    redact = Redactor.for_settings(settings)
    return [replace(c, detail=redact(c.detail)) for c in checks]


def check_files(settings: Settings, config_path: str | None) -> Check:
    """The files the service reads, tried as the service's user would (see :mod:`edgecv.service.access`).

    Only for a service's config (``/etc/edgecv/*.yaml``, also under an install root): a config on a laptop is
    read by the person running edgecv, and their files need not be readable by anyone else.
    """
    if not access.is_service_config(config_path):
        return Check("files", "skipped", "not a service config (/etc/edgecv/*.yaml)")
    groups = access.service_groups()
    items = access.needs(settings, config_path)
    relative = access.relative(items)
    if relative:
        return Check(
            "files",
            "fail",
            f"relative paths in a service config: {'; '.join(map(str, relative))}; the service starts in /, "
            "so make them absolute",
        )
    blocked = access.denied(items, groups)
    exposed = access.exposed_secrets(config_path)
    as_whom = (
        f"as uid {access.SERVICE_UID} with groups {', '.join(groups) or 'none'}, like the service's dynamic user"
        if os.geteuid() == 0
        else "by permission bits only (run as root to try them as the service user)"
    )
    if blocked:
        return Check(
            "files",
            "fail",
            f"the service user cannot access {'; '.join(map(str, blocked))} (checked {as_whom}); make them "
            "readable by others (chmod o+r, o+x on folders) or run 'edgecv service install' again for the config",
        )
    if exposed:
        return Check(
            "files",
            "warn",
            f"{config_path} holds {', '.join(exposed)} and every user can read it; run 'edgecv service install' "
            "to move it into /etc/edgecv/credentials (LoadCredential=)",
        )
    return Check("files", "pass", f"{len(items)} files readable (checked {as_whom})")


def _attempt(name: str, action: Callable[[], str]) -> Check:
    try:
        return Check(name, "pass", action())
    except EdgecvError as exc:
        return Check(name, "fail", str(exc), exc.exit_code)
    except Exception as exc:  # a check reports every failure as a row; the table is the point
        return Check(name, "fail", f"{type(exc).__name__}: {exc}", EXIT_RUNTIME)


def _source(section: SourceConfig, out: list[np.ndarray], named: bool) -> str:
    """Open ``section``'s source and read one frame (appended to ``out``). ``named``: a camera of a cameras map,
    which never falls back to the demo clip."""
    from .. import bundled
    from ..capture import FrameTimeout, open_source

    # Here a missing camera must fail, not be retried in the background as the service does.
    config = section.model_copy(update={"retry_open": False})
    default = None if config.uri or named else str(bundled.demo_clip())
    source = open_source(config, default_uri=default)
    start = time.monotonic()
    try:
        source.open()
        try:
            frame = source.read(config.read_timeout_s)
        except FrameTimeout:
            raise EdgecvError(
                f"{source.name} opened but sent no frame within {config.read_timeout_s:g} s",
                "check that the camera or stream is live (source.read_timeout_s)",
            ) from None
    finally:
        source.close()
    if frame is None:
        raise EdgecvError(f"{source.name} has no frames", "is the file empty?")
    out.append(frame.image)
    height, width = frame.image.shape[:2]
    return f"{width}x{height} frame from {source.name} in {time.monotonic() - start:.2f} s"


def _model(settings: Settings, image: np.ndarray | None) -> str:
    from ..pipeline.build import (
        build_detector,
        detect_params,
        require_model,
        source_configured,
        tracker_settings,
    )

    if source_configured(settings):
        require_model(settings, "a run with a source")  # as 'edgecv run' would refuse to start
    detector = build_detector(settings)
    # Every camera's class names against the model's labels, as a start or a reload (SIGHUP) checks them.
    for name, section in settings.camera_sections().items():
        where = f"cameras.{name}." if settings.cameras else ""
        detect_params(section.detect, detector, where)
        if section.tracker.enabled:
            tracker_settings(section.tracker, detector, where)
    if image is None:
        image = np.zeros((480, 640, 3), np.uint8)  # the source failed: still prove the model runs
    tensor, transform = detector.prepare(image)
    start = time.perf_counter()
    outputs = detector.infer(tensor)
    took = time.perf_counter() - start
    detections = detector.finish(outputs, transform)
    info = detector.describe()
    return (
        f"{info['family']} ({detector.model_path.name}), one inference in {took * 1000:.0f} ms, "
        f"{len(detections)} detections"
    )


def probe_broker(config: MqttConfig, timeout_s: float = MQTT_TIMEOUT_S) -> str:
    """Connect to the broker once with the configured credentials and TLS, then disconnect.

    A connection of its own (client id suffixed ``-check``), so a running service on this device is not
    kicked off the broker by a duplicate client id.
    """
    from ..mqtt.client import build_client  # paho only when a broker is configured

    if config.host is None:
        raise EdgecvError("mqtt.host is not set", "set mqtt.host to the broker's address")
    host, port = config.host, config.effective_port
    client = build_client(config, f"{config.effective_client_id}-check")
    client.connect_timeout = timeout_s
    answer: list[Any] = []
    client.on_connect = lambda _c, _u, _f, reason, _p: answer.append(reason)
    where = f"{host}:{port}"
    start = time.monotonic()
    try:
        client.connect(host, port, keepalive=10)
        while not answer and time.monotonic() - start < timeout_s:
            client.loop(timeout=0.1)
    except OSError as exc:
        raise EdgecvError(
            f"cannot reach the broker at {where}: {exc}", "check mqtt.host and mqtt.port"
        ) from None
    finally:
        client.disconnect()
    if not answer:
        raise EdgecvError(
            f"no answer from the broker at {where} within {timeout_s:g} s", "is it an MQTT port?"
        )
    reason = answer[0]
    if reason.is_failure:
        raise EdgecvError(
            f"the broker at {where} refused the connection: {reason}", "check mqtt.username/password"
        )
    return f"connected to {where} in {time.monotonic() - start:.2f} s"


def table(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = [f"{'check':<{width}}  {'result':<7}  detail"]
    lines += [f"{c.name:<{width}}  {c.outcome:<7}  {c.detail}" for c in checks]
    return "\n".join(lines)


def exit_code(checks: list[Check]) -> int:
    """0 when nothing failed; 2 when an input must be fixed (an invalid config, a missing model or label
    file: as everywhere in edgecv); 1 for any other failure."""
    if any(c.name == "config" and c.outcome == "fail" for c in checks):
        return EXIT_INPUT
    return max((c.exit_code or EXIT_RUNTIME for c in checks if c.outcome == "fail"), default=0)
