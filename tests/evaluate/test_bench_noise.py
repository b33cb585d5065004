"""``edgecv bench`` is honest about noise: each round's efficiency is kept, their spread reported, an
efficiency above 1.02 flagged, and a thread count recommended only when every row is steady. The logic is
driven with injected measurements (no timing assertions); the command is checked for its contract keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgecv.evaluate.speed import MIN_ROUNDS, Round, report, round_counts, summarize_rounds

from ..cli.helpers import edgecv, error_line


def rounds_with(efficiencies: list[float], bare_fps: float = 100.0, frames: int = 100) -> list[Round]:
    """Rounds whose pipeline ran at ``efficiency`` × a bare rate of ``bare_fps``."""
    return [Round(frames, frames / bare_fps, frames, frames / (bare_fps * e)) for e in efficiencies]


def row(threads: int, efficiencies: list[float], bare_fps: float) -> dict:
    return {"threads": threads, **summarize_rounds(rounds_with(efficiencies, bare_fps))}


def test_steady_rounds_are_trusted() -> None:
    summary = summarize_rounds(rounds_with([0.95, 0.96, 0.955]))
    assert summary["rounds"] == 3 and summary["efficiency_rounds"] == [0.95, 0.96, 0.955]
    assert summary["efficiency_spread"] == pytest.approx(0.01)
    assert summary["efficiency"] == pytest.approx(0.955, abs=1e-3)
    assert summary["unreliable"] == []


def test_an_efficiency_above_1_02_is_unreliable() -> None:
    summary = summarize_rounds(rounds_with([1.31, 1.32, 1.327]))
    assert summary["efficiency"] == pytest.approx(1.319, abs=1e-3)
    assert summary["efficiency_spread"] <= 0.03
    assert len(summary["unreliable"]) == 1 and "efficiency 1.319 > 1.02" in summary["unreliable"][0]


def test_a_spread_above_0_03_is_unreliable() -> None:
    summary = summarize_rounds(rounds_with([0.90, 0.97, 0.94]))
    assert summary["efficiency_spread"] == pytest.approx(0.07)
    assert summary["unreliable"] == ["efficiency spread 0.070 over 3 rounds > 0.03"]


def test_the_reported_case_recommends_nothing() -> None:
    """The issue's run: 2 threads at efficiency 1.319 on a loaded machine looked like the best setting."""
    sweep = [row(1, [0.95, 0.96, 0.955], 100.0), row(2, [1.25, 1.319, 1.39], 150.0)]
    result = report(sweep)
    assert result["recommended_threads"] is None
    assert result["recommendation_withheld"].startswith("2 threads: efficiency 1.3")
    assert "spread 0.140" in result["recommendation_withheld"]


def test_steady_rows_recommend_the_fewest_threads_within_reach_of_the_best() -> None:
    steady = [0.95, 0.96, 0.955]
    assert report([row(1, steady, 100.0), row(2, steady, 150.0)])["recommended_threads"] == 2
    # 2 threads only 3 % faster: not worth the core it takes from capture.
    result = report([row(1, steady, 100.0), row(2, steady, 103.0)])
    assert result["recommended_threads"] == 1 and result["recommendation_withheld"] is None


def test_one_noisy_row_withholds_the_recommendation() -> None:
    result = report([row(1, [0.95, 0.96, 0.955], 100.0), row(2, [0.80, 0.90, 0.85], 150.0)])
    assert result["recommended_threads"] is None
    assert "2 threads: efficiency spread 0.100" in result["recommendation_withheld"]


def test_at_least_three_rounds() -> None:
    assert len(round_counts(300, 1)) == MIN_ROUNDS == 3
    assert round_counts(31, 3) == [11, 10, 10]
    with pytest.raises(ValueError):
        round_counts(29, 3)


def test_bench_json_reports_rounds_and_spread(demo_model: Path) -> None:
    result = edgecv("bench", "--model", str(demo_model), "--frames", "45", "--threads", "1", "--json")
    assert result.returncode == 0, result.stderr
    report_ = json.loads(result.stdout)
    (only,) = report_["sweep"]
    assert only["rounds"] >= 3 and len(only["efficiency_rounds"]) == only["rounds"]
    assert only["efficiency_spread"] == pytest.approx(
        max(only["efficiency_rounds"]) - min(only["efficiency_rounds"]), abs=1e-3
    )
    assert "efficiency_spread" in report_ and "recommended_threads" in report_
    # Whatever this machine's load: a recommendation exactly when the figures are trusted.
    trusted = only["efficiency"] <= 1.02 and only["efficiency_spread"] <= 0.03
    assert (report_["recommended_threads"] == 1) == trusted
    assert (report_["recommendation_withheld"] is None) == trusted


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--frames", "20"], "--frames must be at least 30"),
        (["--rounds", "2"], "--rounds must be at least 3"),
    ],
)
def test_too_few_frames_or_rounds_is_an_input_error(args: list[str], message: str) -> None:
    result = edgecv("bench", *args)
    assert result.returncode == 2 and message in error_line(result)
