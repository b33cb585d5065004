"""``edgecv`` command line: one module per subcommand, errors as one line and an exit code."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from .. import __version__
from ..config.secrets import mask_url_passwords
from ..errors import EdgecvError
from . import bench, check, config, detect, pipes, run, service
from . import eval as eval_command

COMMANDS = {
    "detect": detect,
    "run": run,
    "check": check,
    "config": config,
    "service": service,
    "eval": eval_command,
    "bench": bench,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edgecv",
        description="Real-time int8 TFLite object detection for edge devices.",
    )
    parser.add_argument("--version", action="version", version=f"edgecv {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(handler=module.main)
    _add_convert(sub)
    return parser


def _add_convert(sub: argparse._SubParsersAction) -> None:
    """``convert`` lives in the ``[convert]`` extra; its parser imports nothing heavy."""
    try:
        from ..convert import cli as convert_cli
    except ImportError:
        return
    help_text = "Convert a PyTorch or Keras checkpoint to a full-integer int8 .tflite, with a drift report."
    command = sub.add_parser("convert", help=help_text, description=help_text)
    convert_cli.add_arguments(command)
    command.set_defaults(handler=convert_cli.run)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit code means one thing (README, "Exit codes"; :mod:`edgecv.errors`):
    0 done (also when stdout's reader left early), 1 a failure at run time, 2 an input to fix, 130 Ctrl-C."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        # `edgecv` alone runs the main job: the bundled demo unless configured otherwise.
        args = parser.parse_args(["run", *(argv or [])])
    try:
        return _handle(args)
    finally:
        # Here, not in the interpreter's exit flush, where a reader gone mid-line ends as exit 120 and an
        # "Exception ignored" line on stderr.
        pipes.flush_stdout()


def _handle(args: argparse.Namespace) -> int:
    try:
        return int(args.handler(args) or 0)
    except EdgecvError as exc:
        try:
            for handler in logging.getLogger().handlers:
                handler.flush()  # log lines before the error line, never after it
            # Config errors arrive masked already; a URL with a password in any other message is masked here.
            print(f"edgecv: error: {mask_url_passwords(str(exc))}", file=sys.stderr)
        except BrokenPipeError:
            pipes.discard_closed_outputs(sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # A reader left (`edgecv detect … | head`): a normal way to end, with nothing more to say to it.
        pipes.discard_closed_outputs()
        return 0


if __name__ == "__main__":
    sys.exit(main())
