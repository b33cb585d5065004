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
