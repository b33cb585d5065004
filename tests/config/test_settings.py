from __future__ import annotations

from pathlib import Path

import pytest

from edgecv.config import load_settings
from edgecv.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "edgecv.yaml"
    path.write_text(text)
    return path


def test_defaults_need_nothing() -> None:
    settings = load_settings(environ={})
    assert settings.detect.conf == 0.25
    assert settings.detect.iou == 0.45
    assert settings.model.layout == "auto"
    assert settings.source.uri is None


def test_file_then_environment_then_overrides(tmp_path: Path) -> None:
    config = write(
        tmp_path, "detect:\n  conf: 0.3\n  iou: 0.5\n  max_detections: 10\nsource:\n  loop: true\n"
    )
    environ = {"EDGECV_DETECT__IOU": "0.6", "EDGECV_DETECT__MAX_DETECTIONS": "20"}
    settings = load_settings(config, {"detect": {"max_detections": 30}}, environ=environ)
    assert settings.detect.conf == 0.3  # file
    assert settings.detect.iou == 0.6  # environment beats file
    assert settings.detect.max_detections == 30  # flag beats environment
    assert settings.source.loop is True


def test_config_path_from_environment(tmp_path: Path) -> None:
    config = write(tmp_path, "detect:\n  conf: 0.7\n")
    assert load_settings(environ={"EDGECV_CONFIG": str(config)}).detect.conf == 0.7


@pytest.mark.parametrize(
    ("value", "expected"),
    [("person,car", ["person", "car"]), ('["person", 3]', ["person", 3]), ("0", ["0"])],
)
def test_class_list_from_environment(value: str, expected: list) -> None:
    assert load_settings(environ={"EDGECV_DETECT__CLASSES": value}).detect.classes == expected


def test_invalid_value_names_field_value_and_origin() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"EDGECV_DETECT__CONF": "1.5"})
    message = str(info.value)
    assert "detect.conf" in message and "'1.5'" in message and "less than or equal to 1" in message
    assert "EDGECV_DETECT__CONF" in message
    assert info.value.exit_code == 2


def test_invalid_value_from_file_says_so(tmp_path: Path) -> None:
    config = write(tmp_path, "model:\n  threads: 0\n")
    with pytest.raises(ConfigError, match=r"model\.threads = 0: .*greater than or equal to 1") as info:
        load_settings(config, environ={})
    assert str(info.value).endswith(f"(from config file {config})")


def test_invalid_value_from_flag_says_so() -> None:
    with pytest.raises(ConfigError, match=r"detect\.iou = 2\.0.*command line"):
        load_settings(overrides={"detect": {"iou": 2.0}}, environ={})


@pytest.mark.parametrize(
    "text",
    ["detect:\n  confidence: 0.3\n", "detector:\n  conf: 0.3\n", "model:\n  path: m.tflite\n  lables: x\n"],
)
def test_unknown_keys_in_file_are_rejected(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError, match="unknown key"):
        load_settings(write(tmp_path, text), environ={})


@pytest.mark.parametrize("name", ["EDGECV_DETECT__CONFIDENCE", "EDGECV_DETECTOR__CONF", "EDGECV_THREADS"])
def test_unknown_environment_variables_are_rejected(name: str) -> None:
    with pytest.raises(ConfigError, match=f"unknown environment variable {name}"):
        load_settings(environ={name: "1"})


def test_environment_is_case_insensitive() -> None:
    assert load_settings(environ={"edgecv_detect__conf": "0.4"}).detect.conf == 0.4


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "absent.yaml", environ={})
    with pytest.raises(ConfigError, match="not valid YAML at line 3"):
        load_settings(write(tmp_path, "detect:\n  conf: [0.3\n"), environ={})
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_settings(write(tmp_path, "- a\n- b\n"), environ={})


def test_empty_file_is_all_defaults(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, ""), environ={}).detect.conf == 0.25


def test_cross_field_checks() -> None:
    with pytest.raises(ConfigError, match="reconnect_max_s"):
        load_settings(environ={"EDGECV_SOURCE__RECONNECT_MIN_S": "10", "EDGECV_SOURCE__RECONNECT_MAX_S": "1"})
    with pytest.raises(ConfigError, match=r"class_iou\['person'\] = 1.5"):
        load_settings(overrides={"detect": {"class_iou": {"person": 1.5}}}, environ={})


def test_every_field_is_described() -> None:
    from pydantic import BaseModel

    from edgecv.config import Settings

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            assert field.description, f"{prefix}{name} has no description"
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
                walk(field.annotation, f"{prefix}{name}.")

    walk(Settings, "")


def test_process_environment_is_left_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setenv("UNRELATED_VAR", "1")
    before = dict(os.environ)
    load_settings(environ={"EDGECV_DETECT__CONF": "0.3"})
    assert dict(os.environ) == before
