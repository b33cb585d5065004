"""A new source type and a new sink are one file each: dropped into their package, a real run uses them.

The plug-ins in tests/plugins/ are written as the "How to add" notes in :mod:`edgecv.capture` and
:mod:`edgecv.output` say; here their folders join the packages' search paths of a fresh interpreter (as if
the files had been added to ``edgecv/capture/`` and ``edgecv/output/``), and nothing else is changed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PLUGINS = Path(__file__).resolve().parent / "plugins"

SCRIPT = f"""
import sys
import edgecv.capture, edgecv.output
edgecv.capture.__path__.append({str(PLUGINS / "capture")!r})
edgecv.output.__path__.append({str(PLUGINS / "output")!r})
from edgecv.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run(args: list[str], **extra_env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.upper().startswith("EDGECV_")}
    environ.update(extra_env)
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, env=environ, timeout=120
    )


def test_a_dropped_in_source_and_sink_run_end_to_end(demo_model: Path, tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    result = run(
        ["run", "--model", str(demo_model), "--source", "toy://6", "--summary-json", str(summary)],
        EDGECV_OUTPUT__SINKS="stdout,toy",
    )
    assert result.returncode == 0, result.stderr
    frames = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["seq"] for line in frames if line["type"] == "frame"] == list(range(6))
    assert json.loads(summary.read_text())["toy"]["frames"] == 6


def test_config_names_the_dropped_in_choices() -> None:
    result = run(["config", "--schema"])
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)["$defs"]
    assert "toy" in schema["OutputConfig"]["properties"]["sinks"]["items"]["enum"]
    assert "toy" in json.dumps(schema["SourceConfig"]["properties"]["type"])


def test_without_the_files_the_names_are_unknown(demo_model: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.upper().startswith("EDGECV_")}
    environ["EDGECV_OUTPUT__SINKS"] = "stdout,toy"
    result = subprocess.run(
        [sys.executable, "-m", "edgecv", "run", "--model", str(demo_model), "--source", "toy://2"],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )
    assert result.returncode == 2 and "unknown sink 'toy'" in result.stderr, result.stderr
