"""pyproject lists packages explicitly (models/ maps to edgecv.models): every subpackage must be there."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed() -> None:
    text = (REPO / "pyproject.toml").read_text()
    listed = set(re.findall(r'^\s+"(edgecv[\w.]*)",$', text, re.M))
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "edgecv").rglob("__init__.py")} | {
        "edgecv.models"
    }
    assert found == listed


def test_bundled_demo_files_resolve() -> None:
    from edgecv import bundled

    assert bundled.models_dir().resolve() == (REPO / "models").resolve()


def test_building_prints_no_deprecation_banner(tmp_path: Path) -> None:
    """`make demo` (pip install -e .) printed setuptools' `project.license` banner twice: the license is an
    SPDX expression, so the backend has nothing to warn about."""
    import subprocess
    import sys

    code = "import sys; from setuptools import build_meta; build_meta.prepare_metadata_for_build_wheel(sys.argv[1])"
    result = subprocess.run(
        [sys.executable, "-W", "always", "-c", code, str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "deprecated" not in result.stderr.lower(), result.stderr
    metadata = next(tmp_path.glob("*.dist-info")) / "METADATA"
    assert "License-Expression: Apache-2.0" in metadata.read_text()
