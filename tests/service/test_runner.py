"""The run lifecycle in one place: types registered at test time, the Runner, and the real command."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from edgecv import cli
from edgecv.capture import SOURCES, SourceBase, SourceSpec, SourceType
from edgecv.capture.stats import SourceStats
from edgecv.config import load_settings
from edgecv.config.sections import SourceConfig
from edgecv.detect.detector import Detector
from edgecv.detections import Detections
from edgecv.errors import SourceError
from edgecv.frame import Frame
from edgecv.output import SINKS, SinkBase, SinkContext
from edgecv.pipeline.loop import Pipeline
from edgecv.service.runner import Runner

REPO = Path(__file__).resolve().parents[2]


class StripeSource(SourceBase):
    """Test-only source type ``stripes``: ``stripes:N`` gives N frames with a bright band, then ends."""

    live = False
    made: ClassVar[list[StripeSource]] = []  # every source built, for the test to inspect

    def __init__(self, frames: int, source_id: str, broken: bool = False) -> None:
        self.name = f"stripes {frames}"
        self.source_id = source_id
        self.stats = SourceStats()
        self.frames = frames
        self.broken = broken
        self.opened = self.closed = False
        StripeSource.made.append(self)

    def open(self) -> None:
        if self.broken:
            raise SourceError("cannot open stripes: broken on purpose")
        self.opened = True

    def read(self, timeout: float) -> Frame | None:
        if self.stats.frames == self.frames:
            return None
        image = np.zeros((120, 160, 3), np.uint8)
        image[40:80] = 255
        self.stats.frames += 1
        return Frame(
            image=image, seq=self.stats.frames - 1, ts=1000.0 + self.stats.frames, source_id=self.source_id
        )

    def close(self) -> None:
        self.closed = True


def _stripes(uri: str) -> SourceSpec:
    count = uri.removeprefix("stripes:")
    if not uri.startswith("stripes:") or not (count.isdigit() or count == "broken"):
        raise SourceError(f"source.type is stripes but source.uri is '{uri}'", "use stripes:N")
    return SourceSpec("stripes", count, uri)


def _build_stripes(spec: SourceSpec, config: SourceConfig, source_id: str) -> StripeSource:
    broken = spec.target == "broken"
    return StripeSource(0 if broken else int(spec.target), source_id, broken=broken)


class Tally(SinkBase):
    """Test-only sink ``tally``: records the frames it was given and whether it was closed."""

    made: ClassVar[list[Tally]] = []

    def __init__(self) -> None:
        self.seqs: list[int] = []
        self.closed = False
        Tally.made.append(self)

    def write_frame(self, frame: Frame, detections: Detections) -> None:
        self.seqs.append(frame.seq)

    def summary(self) -> dict[str, Any]:
        return {"tally": {"frames": len(self.seqs)}}

    def close(self) -> None:
        self.closed = True


def _build_tally(context: SinkContext) -> Tally:
    return Tally()


STRIPES = SourceType(_stripes, _build_stripes)


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch, demo_model: Path) -> Iterator[None]:
    """``stripes`` and ``tally`` registered for one test, as plug-in modules would register them."""
    SOURCES.register("stripes", STRIPES)
    SINKS.register("tally", _build_tally)
    StripeSource.made.clear()
    Tally.made.clear()
    for name in [k for k in os.environ if k.upper().startswith("EDGECV_")]:
        monkeypatch.delenv(name)
    yield
    SOURCES.unregister("stripes")
    SINKS.unregister("tally")


def test_runner_runs_test_time_types_and_closes_what_it_opened(plugins: None) -> None:
    settings = load_settings(
        overrides={"source": {"type": "stripes", "uri": "stripes:7"}, "output": {"sinks": ["tally"]}}
    )
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    report = Runner(settings).run()
    (source,), (sink,) = StripeSource.made, Tally.made
    assert sink.seqs == list(range(7)) and sink.closed
    assert source.opened and source.closed
    assert report.result.frames == 7 and report.failure is None
    assert report.summary["frames"] == 7 and report.summary["tally"] == {"frames": 7}
    assert report.summary["service"]["failure"] is None
    assert {sig: signal.getsignal(sig) for sig in handlers} == handlers
    report.raise_for_failure()


def test_a_source_that_fails_to_open_still_closes_the_sinks(plugins: None) -> None:
    settings = load_settings(
        overrides={"source": {"type": "stripes", "uri": "stripes:broken"}, "output": {"sinks": ["tally"]}}
    )
    with pytest.raises(SourceError, match="broken on purpose"):
        Runner(settings).run()
    assert Tally.made[0].closed and StripeSource.made[0].closed


def test_edgecv_run_picks_up_test_time_types(
    plugins: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    demo_model: Path,
) -> None:
    monkeypatch.setenv("EDGECV_SOURCE__TYPE", "stripes")
    monkeypatch.setenv("EDGECV_OUTPUT__SINKS", "tally,stdout")
    summary = tmp_path / "summary.json"
    argv = ["run", "--model", str(demo_model), "--source", "stripes:5", "--max-frames", "3"]
    code = cli.main([*argv, "--summary-json", str(summary)])
    out = capsys.readouterr()
    assert code == 0, out.err
    lines = [json.loads(line) for line in out.out.splitlines()]
    assert [line["seq"] for line in lines if line["type"] == "frame"] == [0, 1, 2]
    assert Tally.made[0].seqs == [0, 1, 2]
    assert json.loads(summary.read_text())["tally"] == {"frames": 3}


def test_unknown_source_type_from_the_command_line_is_one_line(
    plugins: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EDGECV_SOURCE__TYPE", "stripe")
    assert cli.main(["run"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("edgecv: error: invalid config: source.type = 'stripe': unknown source type")
    assert "stripes" in err and "\n" not in err


def test_a_pipeline_runs_once(plugins: None, demo_model: Path) -> None:
    source = StripeSource(2, "0")
    source.open()
    pipeline = Pipeline(Detector(demo_model, threads=1), [source], [])
    assert pipeline.run().frames == 2
    with pytest.raises(RuntimeError, match="runs once"):
        pipeline.run()
