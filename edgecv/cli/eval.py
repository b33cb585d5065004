"""``edgecv eval``: accuracy of edgecv's stages on public benchmarks; one subcommand per stage."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import ConfigError
from . import eval_detect
from .common import add_config_flag, settings_from

HELP = "Score edgecv against ground truth: eval detect (labelled images), eval track (MOTChallenge)."


@dataclass(frozen=True)
class _Subcommand:
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    main: Callable[[argparse.Namespace], int]


def _track_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_flag(parser)
    parser.add_argument(
        "sequences",
        nargs="*",
        metavar="SEQDIR",
        help="MOTChallenge sequence folders (seqinfo.ini, gt/, det/)",
    )
    parser.add_argument(
        "--recorded",
        metavar="FILE",
        help="score a recording of 'edgecv run --record FILE' instead (needs --gt)",
    )
    parser.add_argument("--gt", metavar="GT", help="MOT ground truth (gt.txt) of the recorded clip")
    parser.add_argument(
        "--camera",
        metavar="NAME",
        help='the camera of a --recorded run of several cameras to score (its lines\' "camera")',
    )
    parser.add_argument(
        "--fps",
        type=float,
        metavar="F",
        help="evaluate as a device running at about F fps sees each sequence: every k-th frame, "
        "k = round(native fps / F), frames renumbered, timestamps at their real spacing",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def _track_main(args: argparse.Namespace) -> int:
    from ..evaluate.tracking import evaluate_tracking  # the [eval] extra: imported only when asked for

    settings = settings_from(args)
    if args.recorded or args.gt:
        if not (args.recorded and args.gt) or args.sequences:
            raise ConfigError(
                "--recorded and --gt go together, without sequence folders",
                "edgecv eval track --recorded run.jsonl --gt gt.txt",
            )
        if args.fps is not None:
            raise ConfigError(
                "--fps applies to sequence folders, not to --recorded",
                "record at the rate you want to score (the pipeline's own frame rate)",
            )
        from ..evaluate.tracking import evaluate_recording

        result = evaluate_recording(args.recorded, args.gt, args.camera)
    elif args.camera is not None:
        raise ConfigError(
            "--camera applies to --recorded",
            "edgecv eval track --recorded run.jsonl --gt gt.txt --camera NAME",
        )
    elif not args.sequences:
        raise ConfigError(
            "nothing to score", "pass MOTChallenge sequence folders, or --recorded FILE --gt gt.txt"
        )
    else:
        result = evaluate_tracking(args.sequences, settings.tracker, args.fps)
    if args.json:
        print(json.dumps(result))
        return 0
    rows = [(name, r) for name, r in result["sequences"].items()]
    if len(rows) > 1:
        rows.append(("OVERALL", result))
    print(f"{'sequence':<24} {'fps':>5} {'MOTA':>6} {'IDF1':>6} {'HOTA':>6} {'IDsw':>5} {'ms/frame':>9}")
    for name, r in rows:
        fps = f"{r['fps']:>5.1f}" if "fps" in r else f"{'':>5}"
        print(
            f"{name:<24} {fps} {r['mota']:>6.3f} {r['idf1']:>6.3f} {r['hota']:>6.3f} {r['id_switches']:>5d} "
            f"{r.get('ms_per_frame', float('nan')):>9.3f}"
        )
    return 0


SUBCOMMANDS = {
    "detect": _Subcommand(eval_detect.HELP, eval_detect.add_arguments, eval_detect.main),
    "track": _Subcommand(
        "Run the tracker over MOTChallenge sequences (det/det.txt) and score MOTA, IDF1, HOTA at IoU 0.5.",
        _track_arguments,
        _track_main,
    ),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="eval_command", metavar="WHAT", required=True)
    for name, command in SUBCOMMANDS.items():
        child = sub.add_parser(name, help=command.help, description=command.help)
        command.add_arguments(child)
        child.set_defaults(eval_handler=command.main)


def main(args: argparse.Namespace) -> int:
    return args.eval_handler(args)
