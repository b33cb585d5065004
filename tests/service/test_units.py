"""The shipped systemd units: valid, tightly sandboxed, and the template in step with the plain unit."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "systemd"
EXPOSURE_LIMIT = 3.0
# The template is the plain unit with exactly these per-instance edits; anything else must be the same.
INSTANCE_EDITS = [
    (
        "# edgecv as a systemd service: one camera (or several sharing one Coral) per config file.",
        "# edgecv as a systemd template: edgecv@NAME runs /etc/edgecv/NAME.yaml (several cameras sharing one "
        "Coral\n# go in one instance's config: a Coral can be opened by one process only).",
    ),
    ("Description=edgecv object detection", "Description=edgecv object detection (%i)"),
    ("/etc/edgecv/edgecv.yaml", "/etc/edgecv/%i.yaml"),
    (
        "EnvironmentFile=-/etc/edgecv/edgecv.env",
        "EnvironmentFile=-/etc/edgecv/edgecv.env\nEnvironmentFile=-/etc/edgecv/%i.env",
    ),
    ("%S/edgecv\n", "%S/edgecv/%i\n"),
    ("StateDirectory=edgecv\n", "StateDirectory=edgecv/%i\n"),
]
needs_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed"
)


def installed_copy(name: str, folder: Path, as_name: str) -> Path:
    """The unit as ``edgecv service install`` writes it: ExecStart= pointing at an existing program."""
    text = (
        (UNITS / name).read_text().replace("/opt/edgecv/venv/bin/edgecv", shutil.which("true") or "/bin/true")
    )
    path = folder / as_name
    path.write_text(text)
    return path


def test_template_is_the_plain_unit_with_instance_edits() -> None:
    text = (UNITS / "edgecv.service").read_text()
    for old, new in INSTANCE_EDITS:
        assert old in text, old
        text = text.replace(old, new)
    assert text == (UNITS / "edgecv@.service").read_text()


def test_no_secret_in_the_units() -> None:
    for unit in UNITS.glob("*.service"):
        assert not re.search(r"^Environment=.*(PASSWORD|SECRET|TOKEN)", unit.read_text(), re.I | re.M), unit


@needs_analyze
@pytest.mark.parametrize(
    ("name", "as_name"), [("edgecv.service", "edgecv.service"), ("edgecv@.service", "edgecv@cam1.service")]
)
def test_systemd_analyze_verify(tmp_path: Path, name: str, as_name: str) -> None:
    unit = installed_copy(name, tmp_path, as_name)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "edgecv" not in result.stderr, result.stderr  # no warning about our unit either


@needs_analyze
@pytest.mark.parametrize(
    ("name", "as_name"), [("edgecv.service", "edgecv.service"), ("edgecv@.service", "edgecv@cam1.service")]
)
def test_security_exposure_is_low(tmp_path: Path, name: str, as_name: str) -> None:
    unit = installed_copy(name, tmp_path, as_name)
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    if match is None:
        pytest.skip(f"this systemd-analyze has no --offline security: {result.stderr.strip()[:200]}")
    assert float(match.group(1)) <= EXPOSURE_LIMIT, result.stdout


@pytest.mark.parametrize("name", ["edgecv.service", "edgecv@.service"])
def test_reload_is_sighup_to_the_main_process(name: str) -> None:
    """'systemctl reload' sends SIGHUP to edgecv itself (see tests/service/test_reload.py for what it does)."""
    text = (UNITS / name).read_text()
    assert re.search(r"^ExecReload=/bin/kill -HUP \$MAINPID$", text, re.M)
    assert re.search(r"^Type=notify$", text, re.M)  # RELOADING=1/READY=1 are sent; notify-reload needs 253
    assert re.search(r"^NotifyAccess=main$", text, re.M)
