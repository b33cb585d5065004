"""The ``cameras`` map: names, per-camera overrides merged over the top-level sections, the shorthand."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgecv.config import load_settings
from edgecv.config.cameras import OWN_SECTIONS, CameraConfig, override_sections
from edgecv.errors import ConfigError

TWO_CAMERAS = """
detect: {conf: 0.3, classes: [person], class_iou: {person: 0.6}}
tracker: {high_score: 0.8, gate: {min_hits: 4}}
cameras:
  front:
    source: {uri: "rtsp://cam.local/1", max_fps: 10}
    detect: {conf: 0.4, classes: [person, car], class_iou: {car: 0.5}}
    tracker: {low_score: 0.7, gate: {min_score: 0.9}}
  garage:
    source: {uri: 0}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "edgecv.yaml"
    path.write_text(text)
    return path


def error_of(*args: object, **kwargs: object) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(*args, **kwargs)  # type: ignore[arg-type]
    assert info.value.exit_code == 2
    return str(info.value)


def test_overrides_replace_only_the_keys_a_camera_sets(tmp_path: Path) -> None:
    cameras = load_settings(write(tmp_path, TWO_CAMERAS), environ={}).camera_sections()
    assert list(cameras) == ["front", "garage"]
    front, garage = cameras["front"], cameras["garage"]
    assert (front.detect.conf, front.detect.classes) == (0.4, ["person", "car"])
    # A mapping value is one key: the camera's replaces the top-level one whole.
    assert front.detect.class_iou == {"car": 0.5}
    # Nested sections merge key by key: min_hits stays the top-level 4.
    assert (front.tracker.gate.min_score, front.tracker.gate.min_hits) == (0.9, 4)
    assert (front.tracker.low_score, front.tracker.high_score) == (0.7, 0.8)
    assert (garage.detect.conf, garage.detect.classes, garage.detect.class_iou) == (
        0.3,
        ["person"],
        {"person": 0.6},
    )
    assert garage.tracker.gate == load_settings(write(tmp_path, TWO_CAMERAS), environ={}).tracker.gate


def test_an_integer_uri_is_a_camera_index(tmp_path: Path) -> None:
    cameras = load_settings(write(tmp_path, TWO_CAMERAS), environ={}).camera_sections()
    assert cameras["garage"].source.uri == "0"
    assert load_settings(write(tmp_path, "source: {uri: 2}\n"), environ={}).source.uri == "2"


def test_live_cameras_retry_opening_unless_told_not_to(tmp_path: Path) -> None:
    text = "cameras:\n  a: {source: {uri: 0}}\n  b: {source: {uri: 1, retry_open: false}}\n"
    cameras = load_settings(write(tmp_path, text), environ={}).camera_sections()
    assert cameras["a"].source.retry_open and not cameras["b"].source.retry_open
    assert not load_settings(environ={}).source.retry_open  # the shorthand keeps its default


def test_environment_form_and_merge_with_the_file(tmp_path: Path) -> None:
    environ = {
        "EDGECV_CAMERAS__GARAGE__DETECT__CONF": "0.6",
        "EDGECV_CAMERAS__BACK__SOURCE__URI": "/dev/video2",
        "EDGECV_CAMERAS__BACK__DETECT__CLASSES": "dog,cat",
    }
    cameras = load_settings(write(tmp_path, TWO_CAMERAS), environ=environ).camera_sections()
    assert list(cameras) == ["front", "garage", "back"]
    assert cameras["garage"].detect.conf == 0.6 and cameras["garage"].source.uri == "0"
    assert cameras["back"].source.uri == "/dev/video2" and cameras["back"].detect.classes == ["dog", "cat"]


def test_the_shorthand_is_one_camera_named_by_mqtt_camera() -> None:
    settings = load_settings(environ={"EDGECV_SOURCE__URI": "clip.mp4", "EDGECV_MQTT__CAMERA": "door"})
    cameras = settings.camera_sections()
    assert list(cameras) == ["door"]
    assert cameras["door"].source is settings.source and cameras["door"].detect is settings.detect
    assert list(load_settings(environ={}).camera_sections()) == ["cam0"]
    assert set(override_sections()) | set(OWN_SECTIONS) == set(CameraConfig.model_fields)


@pytest.mark.parametrize(
    ("environ", "overrides", "named"),
    [
        ({"EDGECV_SOURCE__URI": "x.mp4"}, None, "source (from EDGECV_SOURCE__URI)"),
        ({}, {"source": {"uri": "x.mp4"}}, "source (from command line --source)"),
        ({"EDGECV_MQTT__CAMERA": "door"}, None, "mqtt.camera (from EDGECV_MQTT__CAMERA)"),
    ],
)
def test_the_shorthand_beside_cameras_is_an_error_naming_both(
    tmp_path: Path, environ: dict[str, str], overrides: dict | None, named: str
) -> None:
    config = write(tmp_path, TWO_CAMERAS)
    message = error_of(config, overrides, environ=environ, flags={"source.uri": "--source"})
    assert named in message and f"cameras (from config file {config})" in message
    assert "cameras.<name>.source" in message


@pytest.mark.parametrize("name", ["Front", "front-door", "état", "availability", "state", "set", "error"])
def test_camera_names(tmp_path: Path, name: str) -> None:
    message = error_of(write(tmp_path, f"cameras:\n  '{name}': {{source: {{uri: 0}}}}\n"), environ={})
    assert f"cameras.{name} = '{name}'" in message
    assert "[a-z0-9_]+" in message or "reserved" in message


def test_reserved_names_are_refused_for_the_shorthand_too() -> None:
    assert "reserved" in error_of(environ={"EDGECV_MQTT__CAMERA": "availability"})


def test_a_camera_without_a_source_names_the_camera() -> None:
    message = error_of(environ={"EDGECV_CAMERAS__NEW__DETECT__CONF": "0.2"})
    assert "cameras.new.source: required" in message and "EDGECV_CAMERAS__NEW__DETECT__CONF" in message
    message = error_of(environ={"EDGECV_CAMERAS__NEW__SOURCE__LOOP": "true"})
    assert "cameras.new: source.uri is not set" in message


def test_errors_name_the_camera_key_and_report_a_top_level_error_once(tmp_path: Path) -> None:
    config = write(tmp_path, TWO_CAMERAS)
    message = error_of(config, environ={"EDGECV_CAMERAS__FRONT__DETECT__CONF": "2"})
    assert "cameras.front.detect.conf = '2'" in message and "EDGECV_CAMERAS__FRONT__DETECT__CONF" in message
    message = error_of(config, environ={"EDGECV_DETECT__CONF": "2"})
    # garage inherits the bad value; the top-level key is the one to fix, and it is named once.
    assert message.count("detect.conf") == 1 and "invalid config: detect.conf = '2'" in message


def test_checks_across_keys_see_the_cameras_effective_section(tmp_path: Path) -> None:
    # low_score 0.7 is fine beside the top-level high_score 0.8: checked alone against the default 0.65 it
    # would not be.
    config = write(tmp_path, TWO_CAMERAS)
    assert load_settings(config, environ={}).camera_sections()["front"].tracker.low_score == 0.7
    message = error_of(config, environ={"EDGECV_CAMERAS__FRONT__TRACKER__HIGH_SCORE": "0.5"})
    assert "cameras.front.tracker: low_score (0.7) must be <= high_score (0.5)" in message


def test_unknown_camera_variables_are_rejected() -> None:
    assert "EDGECV_CAMERAS__FRONT__DETECT__CONFX" in error_of(
        environ={"EDGECV_CAMERAS__FRONT__DETECT__CONFX": "1"}
    )
    assert "EDGECV_CAMERAS__FRONT__MODEL__PATH" in error_of(
        environ={"EDGECV_CAMERAS__FRONT__MODEL__PATH": "m"}
    )


def test_edgecv_config_documents_the_map() -> None:
    from edgecv.cli.config import rows
    from edgecv.config import Settings

    listed = {key: (env, default) for key, env, default, _ in rows(Settings)}
    assert listed["cameras"] == ("EDGECV_CAMERAS", "{}")
    assert listed["cameras.<name>.source.uri"][0] == "EDGECV_CAMERAS__<NAME>__SOURCE__URI"
    assert listed["cameras.<name>.detect.<key>"] == (
        "EDGECV_CAMERAS__<NAME>__DETECT__<KEY>",
        "the top-level detect.<key>",
    )
    assert "cameras.<name>.tracker.<key>" in listed


SCENE = """
zones:
  driveway: {polygon: [[0, 300], [640, 300], [640, 480], [0, 480]], classes: [car, person], loiter_s: 30}
lines:
  door: {points: [[240, 90], [240, 360]], classes: [person]}
masks:
  - {polygon: [[0, 0], [200, 0], [200, 40], [0, 40]]}
motion: {enabled: true, max_skip_s: 2}
detect:
  filters: {person: {min_area: 400, max_ratio: 1.2}, car: {min_area: 0.01}}
"""


def test_the_shorthand_carries_the_scene_of_its_one_camera(tmp_path: Path) -> None:
    (scene,) = [
        c.scene() for c in load_settings(write(tmp_path, SCENE), environ={}).camera_sections().values()
    ]
    assert list(scene.zones) == ["driveway"] and scene.zones["driveway"].loiter_s == 30
    assert (
        scene.lines["door"].points == [(240, 90), (240, 360)]
        and scene.lines["door"].anchor == "bottom_center"
    )
    assert scene.masks[0].polygon[2] == (200, 40)
    assert (scene.motion.enabled, scene.motion.max_skip_s) == (True, 2)
    assert scene.filters["person"].max_ratio == 1.2 and scene.filters["car"].min_area == 0.01


def test_each_camera_has_its_own_geometry_and_overrides_motion(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        """
motion: {enabled: true, threshold: 30}
cameras:
  front:
    source: {uri: a.mp4}
    zones: {porch: {polygon: [[0, 0], [0.5, 0], [0.5, 1]], units: relative}}
    motion: {max_skip_s: 1}
  back:
    source: {uri: b.mp4}
    lines: {gate: {points: [[0, 0], [10, 10]]}}
""",
    )
    cameras = load_settings(config, environ={}).camera_sections()
    front, back = cameras["front"].scene(), cameras["back"].scene()
    assert (list(front.zones), list(front.lines), list(back.zones), list(back.lines)) == (
        ["porch"],
        [],
        [],
        ["gate"],
    )
    assert (front.motion.enabled, front.motion.threshold, front.motion.max_skip_s) == (True, 30, 1)
    assert (back.motion.enabled, back.motion.max_skip_s) == (True, 5.0)


@pytest.mark.parametrize("section", ["zones", "lines", "masks"])
def test_shorthand_geometry_beside_cameras_is_an_error(tmp_path: Path, section: str) -> None:
    rule = {
        "zones": "{z: {polygon: [[0, 0], [1, 0], [1, 1]]}}",
        "lines": "{l: {points: [[0, 0], [1, 1]]}}",
        "masks": "[{polygon: [[0, 0], [1, 0], [1, 1]]}]",
    }[section]
    message = error_of(
        write(tmp_path, f"{section}: {rule}\ncameras: {{a: {{source: {{uri: a.mp4}}}}}}\n"), environ={}
    )
    assert f"{section} (from config file" in message and f"put them under cameras.<name>.{section}" in message


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("zones: {'a/b': {polygon: [[0, 0], [1, 0], [1, 1]]}}", "MQTT topic level"),
        (
            "cameras: {a: {source: {uri: a.mp4}, lines: {'x+': {points: [[0, 0], [1, 1]]}}}}",
            "MQTT topic level",
        ),
        ("lines: {door: {points: [[1, 1], [1, 1]]}}", "two distinct points"),
        ("detect: {filters: {person: {min_ratio: 2, max_ratio: 1}}}", "below min_ratio"),
    ],
)
def test_bad_rules_are_one_line_errors(tmp_path: Path, text: str, named: str) -> None:
    assert named in error_of(write(tmp_path, text + "\n"), environ={})
