"""``edgecv bench``: pipeline FPS, per-stage times and efficiency against bare ``invoke()``."""

from __future__ import annotations

import argparse
import json

from ..errors import ConfigError
from ..evaluate.speed import MAX_EFFICIENCY, MAX_SPREAD, MIN_ROUND_FRAMES, MIN_ROUNDS, run_bench
from ..pipeline.build import require_model, source_configured
from .common import add_config_flag, add_model_flags, settings_from

HELP = "Benchmark the full pipeline against the model's bare invoke() rate, per thread count."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_flag(parser)
    add_model_flags(parser, threads=False)
    parser.add_argument(
        "--source", metavar="S", help="what to read (default: source.uri, else the demo clip)"
    )
    parser.add_argument(
        "--frames", type=int, default=300, metavar="N", help="frames per thread count (default 300)"
    )
    parser.add_argument(
        "--threads",
        dest="thread_sweep",
        default=None,
        metavar="LIST",
        help="thread counts to sweep, e.g. 1,2,4",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=MIN_ROUNDS,
        metavar="N",
        help=f"bare/pipeline rounds per thread count, at least {MIN_ROUNDS}: their spread says how steady "
        f"the machine was (default {MIN_ROUNDS})",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def parse_threads(text: str | None, default: int) -> list[int]:
    if not text:
        return [default]
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"--threads takes a comma-separated list of integers, got {text!r}") from None
    if not counts or min(counts) < 1:
        raise ConfigError(f"--threads values must be at least 1, got {text!r}")
    return counts


def main(args: argparse.Namespace) -> int:
    if args.rounds < MIN_ROUNDS:
        raise ConfigError(f"--rounds must be at least {MIN_ROUNDS}, got {args.rounds}")
    if args.frames < args.rounds * MIN_ROUND_FRAMES:
        raise ConfigError(
            f"--frames must be at least {args.rounds * MIN_ROUND_FRAMES} ({args.rounds} rounds of "
            f"{MIN_ROUND_FRAMES}), got {args.frames}"
        )
    settings = settings_from(args)
    if source_configured(settings):
        require_model(settings, "edgecv bench with a source")
    from ..detect.runtime import default_threads

    counts = parse_threads(args.thread_sweep, settings.model.threads or default_threads())
    report = run_bench(settings, counts, args.frames, args.rounds)
    if args.json:
        print(json.dumps(report))
        return 0
    print(
        f"{'threads':>7} {'fps':>8} {'invoke fps':>10} {'efficiency':>10} {'spread':>7} {'frame_wait':>10} "
        f"{'inference':>9} {'handoff':>8} {'coverage':>8}"
    )
    for row in report["sweep"]:
        stages = row["inference_thread_ms"]
        # '?' marks figures the machine's drift makes untrustworthy (see the line under the table).
        mark = "?" if row["unreliable"] else " "
        print(
            f"{row['threads']:>7} {row['fps']:>8.1f} {row['invoke_fps']:>10.1f} {row['efficiency']:>9.3f}{mark} "
            f"{row['efficiency_spread']:>7.3f} "
            f"{stages.get('frame_wait', {}).get('mean', 0):>10.2f} {stages.get('inference', {}).get('mean', 0):>9.2f} "
            f"{stages.get('handoff', {}).get('mean', 0):>8.2f} {row['inference_thread_coverage']:>8.3f}"
        )
    overlapped = ", ".join(f"{k} {v['mean']:.2f}/{v['p95']:.2f}" for k, v in report["overlapped_ms"].items())
    print(f"overlapped with inference (ms mean/p95, threads={report['threads']}): {overlapped}")
    if report["recommended_threads"] is None:
        print(
            f"peak RSS {report['peak_rss_mb']:.0f} MB; no model.threads recommended: figures are trusted only "
            f"with efficiency <= {MAX_EFFICIENCY} and spread <= {MAX_SPREAD}: {report['recommendation_withheld']}"
        )
    else:
        print(
            f"peak RSS {report['peak_rss_mb']:.0f} MB; recommended model.threads: {report['recommended_threads']}"
        )
    return 0
