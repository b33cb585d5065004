"""``edgecv service install``: set edgecv up as a systemd service."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..service import install

HELP = "Install the systemd unit and a config skeleton (--dry-run shows what it would do)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    inst = actions.add_parser("install", help=HELP, description=HELP)
    inst.add_argument(
        "--instance", metavar="NAME", help="install the template edgecv@.service and /etc/edgecv/NAME.yaml"
    )
    inst.add_argument("--dry-run", action="store_true", help="print what would be written; write nothing")
    inst.add_argument("--root", metavar="DIR", default="/", help="install under DIR instead of / (packaging)")
    inst.add_argument(
        "--camera",
        metavar="NAME=URI",
        action="append",
        default=[],
        dest="cameras",
        help="a camera of the instance (repeat for each): the config gets a cameras map instead of the "
        "one-camera source; NAME is [a-z0-9_]+",
    )
    inst.add_argument(
        "--exec",
        metavar="PATH",
        dest="executable",
        help="edgecv for ExecStart= (default: this installation's)",
    )


def main(args: argparse.Namespace) -> int:
    executable = Path(args.executable) if args.executable else install.default_executable()
    cameras = install.parse_cameras(args.cameras)
    actions = install.plan(args.instance, Path(args.root), executable, cameras)
    for line in install.apply(actions, Path(args.root), args.dry_run):
        print(line)
    if args.dry_run:
        print("dry run: nothing written")
    for line in install.next_steps(args.instance, executable):
        print(line)
    return 0
