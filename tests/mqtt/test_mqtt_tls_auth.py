"""TLS with a CA generated here and password authentication: the right password publishes, a wrong one is
a clear error at once, not a retry loop that hides it; ``edgecv run`` ends with exit code 2."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgecv.labels import Labels
from edgecv.mqtt.client import MqttAuthError
from edgecv.mqtt.sink import MqttSink


def _write_pki(directory: Path) -> dict[str, Path]:
    """A CA and a server certificate for 127.0.0.1/localhost, made with the openssl command line."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl not installed")
    paths = {"ca": directory / "ca.pem", "cert": directory / "server.pem", "key": directory / "server.key"}
    ca_key, csr, ext = directory / "ca.key", directory / "server.csr", directory / "san.ext"
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = lambda *args: subprocess.run([openssl, *args], check=True, capture_output=True)  # noqa: E731
    run(
        "req",
        "-x509",
        *ec,
        "-keyout",
        str(ca_key),
        "-out",
        str(paths["ca"]),
        "-days",
        "1",
        "-subj",
        "/CN=edgecv test CA",
    )
    run("req", *ec, "-keyout", str(paths["key"]), "-out", str(csr), "-subj", "/CN=localhost")
    run(
        "x509", "-req", "-in", str(csr), "-CA", str(paths["ca"]), "-CAkey", str(ca_key), "-CAcreateserial",
        "-out", str(paths["cert"]), "-days", "1", "-extfile", str(ext),
    )  # fmt: skip
    paths["key"].chmod(0o644)  # mosquitto may drop privileges; it must still read its key
    return paths


@pytest.fixture
def secure_broker(broker_factory, tmp_path: Path):
    passwd = shutil.which("mosquitto_passwd")
    if passwd is None:
        pytest.skip("mosquitto_passwd not installed (package mosquitto)")
    pki = _write_pki(tmp_path)
    passwords = tmp_path / "passwords"
    subprocess.run([passwd, "-b", "-c", str(passwords), "cam", "right-password"], check=True)
    passwords.chmod(0o644)
    return broker_factory(tls=pki, passwords=passwords), pki


def _config(mq, port: int, pki: dict[str, Path], tmp_path: Path, password: str):
    secret = tmp_path / "password"
    secret.write_text(password + "\n")
    return mq.config(port, username="cam", password_file=str(secret), tls={"ca_file": str(pki["ca"])})


def test_tls_and_password_publish(secure_broker, mq, tmp_path: Path) -> None:
    broker, pki = secure_broker
    sink = MqttSink(_config(mq, broker.port, pki, tmp_path, "right-password"), Labels(["person"]))
    try:
        assert mq.wait_until(lambda: sink.publisher.online, timeout=5)
        sink.write_frame(mq.frame(0), mq.detections([0]))
        assert mq.wait_until(lambda: sink.publisher.acked >= 2)
    finally:
        sink.close()


def test_wrong_password_is_a_clear_error_not_a_retry_loop(secure_broker, mq, tmp_path: Path, caplog) -> None:
    broker, pki = secure_broker
    sink = MqttSink(_config(mq, broker.port, pki, tmp_path, "wrong-password"), Labels(["person"]))
    try:
        assert mq.wait_until(lambda: sink.publisher.link.fatal is not None, timeout=5)
        time.sleep(0.5)  # several backoff periods: no further attempts
        assert sink.publisher.link.failed_attempts == 0 and sink.publisher.link.connects == 0
        with pytest.raises(MqttAuthError) as info:
            sink.write_frame(mq.frame(0), mq.detections([0]))
        message = str(info.value)
        assert "refused" in message and "password" in message and "'cam'" in message
        assert "wrong-password" not in message and "wrong-password" not in caplog.text
        assert info.value.exit_code == 2
    finally:
        sink.close()


def test_edgecv_run_exits_2_on_wrong_password(secure_broker, mq, tmp_path: Path, repo_root: Path) -> None:
    model = repo_root / "models" / "demo_int8.tflite"
    shared = (
        repo_root.parent / "shared" / "assets" / "models" / "ssd_mobilenet_v1_coco_quant" / "detect.tflite"
    )
    model = model if model.exists() else shared
    if not model.exists():
        pytest.skip("no model to run (bundled demo not built, ../shared absent)")
    images = tmp_path / "images"
    images.mkdir()
    import cv2
    import numpy as np

    for i in range(40):
        cv2.imwrite(str(images / f"{i:03d}.jpg"), np.full((120, 160, 3), 90, np.uint8))
    broker, pki = secure_broker
    config = _config(mq, broker.port, pki, tmp_path, "wrong-password")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGECV_")}
    env.update(
        {
            "EDGECV_MQTT__HOST": "127.0.0.1",
            "EDGECV_MQTT__PORT": str(broker.port),
            "EDGECV_MQTT__USERNAME": "cam",
            "EDGECV_MQTT__PASSWORD_FILE": str(config.password_file),
            "EDGECV_MQTT__TLS__CA_FILE": str(pki["ca"]),
            "EDGECV_SOURCE__LOOP": "true",
            "EDGECV_SOURCE__MAX_FPS": "20",
        }
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "edgecv",
            "run",
            "--model",
            str(model),
            "--source",
            str(images),
            "--max-frames",
            "400",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    errors = [line for line in result.stderr.splitlines() if line.startswith("edgecv: error:")]
    assert result.returncode == 2, result.stderr
    assert len(errors) == 1 and "refused" in errors[0] and "password" in errors[0], result.stderr
    assert "wrong-password" not in result.stderr + result.stdout


def test_check_probes_with_the_service_connection_settings(secure_broker, mq, tmp_path: Path) -> None:
    # `edgecv check` builds its client with the link's own builder: same TLS, credentials and protocol.
    from edgecv.errors import ConfigError, EdgecvError
    from edgecv.service.checks import probe_broker

    broker, pki = secure_broker
    assert "connected to" in probe_broker(_config(mq, broker.port, pki, tmp_path, "right-password"))
    with pytest.raises(EdgecvError, match="refused the connection"):
        probe_broker(_config(mq, broker.port, pki, tmp_path, "wrong-password"))
    missing_ca = mq.config(broker.port, tls={"ca_file": str(tmp_path / "no-such-ca.pem")})
    with pytest.raises(ConfigError, match="mqtt.tls.ca_file not found"):
        probe_broker(missing_ca)


def test_a_broker_certificate_we_cannot_verify_is_a_tls_warning(
    secure_broker, mq, tmp_path: Path, caplog
) -> None:
    # The system CA store does not know the test CA: the handshake fails, and says so within 5 s.
    broker, _pki = secure_broker
    secret = tmp_path / "password"
    secret.write_text("right-password\n")
    config = mq.config(broker.port, username="cam", password_file=str(secret), tls={"enabled": True})
    sink = MqttSink(config, Labels(["person"]))
    try:
        warned = lambda: [r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()]  # noqa: E731
        assert mq.wait_until(warned, timeout=5)
        (warning,) = warned()
        assert f"127.0.0.1:{broker.port}" in warning and "TLS failure: self-signed certificate" in warning
        assert sink.summary()["mqtt"]["last_error"].startswith("TLS failure")
    finally:
        sink.close()
