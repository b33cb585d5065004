from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def edgecv(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run the real command line in a fresh process, with a clean EDGECV_ environment."""
    environ = {k: v for k, v in os.environ.items() if not k.upper().startswith("EDGECV_")}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "edgecv", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=timeout,
        cwd=REPO,
    )


def error_line(result: subprocess.CompletedProcess) -> str:
    """The one-line error, with the runtime's own chatter (XNNPACK notices) left out."""
    lines = [line for line in result.stderr.splitlines() if line.startswith("edgecv: error:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return lines[0]
