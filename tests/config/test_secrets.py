"""Secrets are masked in every message (errors, --show, logs, the check table), found by their marker, and
an error names the input that set the offending value: a variable, the config file or a flag."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel, Field, SecretStr

from edgecv.config import Settings, load_settings
from edgecv.config.secrets import MASK, Redactor, mask_tree, secret_paths
from edgecv.errors import ConfigError
from edgecv.logs import setup_logging

from ..cli.helpers import edgecv, error_line

PASSWORD = "hunter2-correct-horse"


def test_config_show_with_an_invalid_combination_masks_the_password_and_blames_the_variable(
    tmp_path: Path,
) -> None:
    config = tmp_path / "cam.yaml"
    config.write_text("mqtt:\n  host: 127.0.0.1\n")
    result = edgecv("config", "--show", "--config", str(config), env={"EDGECV_MQTT__PASSWORD": PASSWORD})
    assert result.returncode == 2
    assert PASSWORD not in result.stdout + result.stderr
    line = error_line(result)
    assert "a password is set without mqtt.username" in line
    # The password came from the variable and the host from the file: each is named as what it is.
    assert "mqtt.password from EDGECV_MQTT__PASSWORD" in line
    assert f"mqtt.host from config file {config}" in line


def test_a_secret_of_the_wrong_type_is_masked_where_its_value_is_quoted() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"EDGECV_MQTT": f'{{"password": ["{PASSWORD}"], "username": "u"}}'})
    message = str(info.value)
    assert PASSWORD not in message
    assert f"mqtt.password = {MASK}" in message and "(from EDGECV_MQTT)" in message


def test_a_flag_is_blamed_by_its_name() -> None:
    with pytest.raises(ConfigError, match=r"detect\.iou = 2\.0: .* \(from command line --iou\)"):
        load_settings(overrides={"detect": {"iou": 2.0}}, environ={}, flags={"detect.iou": "--iou"})
    result = edgecv("detect", "--model", "tests/data/two_outputs_int8.tflite", "--iou", "2", "tests/data")
    assert result.returncode == 2 and "(from command line --iou)" in error_line(result)


def test_a_check_across_defaults_says_so() -> None:
    with pytest.raises(ConfigError, match=r"reconnect_max_s .* \(source\.reconnect_min_s from EDGECV_"):
        load_settings(environ={"EDGECV_SOURCE__RECONNECT_MIN_S": "60"})


def test_secret_fields_are_found_by_their_marker() -> None:
    class Web(BaseModel):
        token: str | None = Field(None, json_schema_extra={"secret": True}, description="API token.")
        name: str = Field("x", description="Not a secret.")

    class Root(BaseModel):
        web: Web = Field(default_factory=Web, description="A section added later.")
        key_password: SecretStr | None = Field(None, description="A typed secret.")

    assert set(secret_paths(Root)) == {("web", "token"), ("key_password",)}
    assert ("mqtt", "password") in secret_paths(Settings)
    masked = mask_tree(
        {"web": {"token": "t0ken-value", "name": "x"}, "key_password": None}, secret_paths(Root)
    )
    assert masked == {"web": {"token": MASK, "name": "x"}, "key_password": None}


def test_config_show_masks_secrets_and_url_passwords(tmp_path: Path) -> None:
    config = tmp_path / "cam.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "source": {"uri": "rtsp://admin:camsecret99@127.0.0.1:8554/live"},
                "mqtt": {"username": "edgecv"},
            }
        )
    )
    result = edgecv("config", "--show", "--config", str(config), env={"EDGECV_MQTT__PASSWORD": PASSWORD})
    assert result.returncode == 0, result.stderr
    shown = yaml.safe_load(result.stdout)
    assert shown["mqtt"]["password"] == MASK
    assert shown["source"]["uri"] == "rtsp://admin:***@127.0.0.1:8554/live"
    assert PASSWORD not in result.stdout and "camsecret99" not in result.stdout


def test_the_check_table_masks_secrets_and_names_the_variable(tmp_path: Path) -> None:
    config = tmp_path / "cam.yaml"
    config.write_text("mqtt:\n  host: 127.0.0.1\n")
    result = edgecv("check", "--config", str(config), env={"EDGECV_MQTT__PASSWORD": PASSWORD})
    assert result.returncode == 2
    assert PASSWORD not in result.stdout + result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith("config"))
    assert "fail" in row and "EDGECV_MQTT__PASSWORD" in row


def test_log_lines_mask_the_configured_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    settings = load_settings(environ={"EDGECV_MQTT__USERNAME": "u", "EDGECV_MQTT__PASSWORD": PASSWORD})
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        setup_logging("INFO", "json", Redactor.for_settings(settings))
        log = logging.getLogger("edgecv.test")
        log.warning("broker said %s", f"bad password {PASSWORD}")
        log.warning("source rtsp://admin:camsecret99@10.0.0.2/live is gone")
        try:
            raise RuntimeError(f"library echoed {PASSWORD}")
        except RuntimeError:
            log.exception("failed")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    err = capsys.readouterr().err
    assert PASSWORD not in err and "camsecret99" not in err
    assert err.count(MASK) == 2 and "admin:***@10.0.0.2" in err
