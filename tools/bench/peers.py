"""Peers whose pins conflict with ours (numpy<2, opencv-python) run in venvs of their own, made on first use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def ensure_venv(venv: Path, packages: list[str]) -> Path:
    """The venv's python, creating the venv with ``packages`` when it does not exist yet."""
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} ({' '.join(packages)})", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)
    return python
