"""``edgecv service install``: the unit, a config skeleton and the environment example, put where systemd
looks. Nothing is started: the next steps (``daemon-reload``, ``check``, ``enable``) are printed instead,
so a person sees the config before the service runs with it.
"""

from __future__ import annotations

import json
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..config import Settings
from ..errors import EdgecvError

UNIT_EXEC = "/opt/edgecv/venv/bin/edgecv"  # the ExecStart= path in the shipped units, replaced on install
# Keys the skeleton sets rather than leaving commented out: what a service on a camera needs.
SKELETON_VALUES: dict[str, Any] = {"source.uri": "/dev/video0", "source.retry_open": True}


@dataclass
class FileAction:
    path: Path
    content: str
    mode: int
    keep_existing: bool  # a config a person edited is never overwritten


def units_dir() -> Path:
    """The shipped ``systemd/`` folder: beside the package in a checkout (and an editable install)."""
    here = Path(__file__).resolve().parents[2] / "systemd"
    if (here / "edgecv.service").is_file():
        return here
    raise EdgecvError(
        f"the systemd unit files are not installed (looked in {here})",
        "install edgecv from a checkout (pip install -e .) or copy systemd/ from the repository",
    )


def default_executable() -> Path:
    return Path(sys.prefix) / "bin" / "edgecv"


def plan(instance: str | None, root: Path, executable: Path) -> list[FileAction]:
    if instance is not None and (not instance or "/" in instance or instance.startswith(".")):
        raise EdgecvError(f"invalid instance name {instance!r}", "use a plain name such as 'frontdoor'")
    name = instance or "edgecv"
    unit_name = "edgecv@.service" if instance else "edgecv.service"
    unit = (units_dir() / unit_name).read_text().replace(UNIT_EXEC, str(executable))
    etc = root / "etc" / "edgecv"
    return [
        FileAction(root / "etc" / "systemd" / "system" / unit_name, unit, 0o644, keep_existing=False),
        FileAction(etc / f"{name}.yaml", skeleton(name), 0o640, keep_existing=True),
        FileAction(
            etc / "edgecv.env.example", (units_dir() / "edgecv.env.example").read_text(), 0o644, False
        ),
    ]


def apply(actions: list[FileAction], dry_run: bool) -> list[str]:
    """Write (or with ``dry_run`` only describe) every action; one line per file, saying what happened."""
    lines = []
    for action in actions:
        exists = action.path.exists()
        if exists and action.keep_existing:
            lines.append(f"keep   {action.path} (exists; not overwritten)")
            continue
        verb = ("would update" if exists else "would write") if dry_run else ("update" if exists else "write")
        lines.append(f"{verb:<12} {action.path} (mode {action.mode:o})")
        if not dry_run:
            action.path.parent.mkdir(parents=True, exist_ok=True)
            action.path.write_text(action.content)
            action.path.chmod(action.mode)
    return lines


def next_steps(instance: str | None, executable: Path) -> list[str]:
    unit = f"edgecv@{instance}" if instance else "edgecv"
    config = f"/etc/edgecv/{instance or 'edgecv'}.yaml"
    steps = [
        "next:",
        f"  edit {config}",
        f"  {executable} check --config {config}",
        "  systemctl daemon-reload",
        f"  systemctl enable --now {unit}",
        f"  systemctl status {unit}    # STATUS= shows state and fps; journalctl -u {unit} the log",
    ]
    if str(executable).startswith(("/home/", "/root/")):
        steps.insert(
            0,
            f"warning: {executable} is under /home or /root, which the unit hides (ProtectHome=yes); "
            "install edgecv in /opt/edgecv/venv or pass --exec",
        )
    return steps


def skeleton(name: str) -> str:
    """A commented config generated from the models: every key with its description, defaults commented."""
    header = [
        f"# edgecv config for '{name}'. Every key, with its environment variable: 'edgecv config'.",
        f"# Before enabling the service: edgecv check --config /etc/edgecv/{name}.yaml",
        "# Secrets do not belong here: use LoadCredential= (mqtt-password) or the environment file.",
    ]
    return "\n".join(header + _section_lines(Settings, "", 0)) + "\n"


def _section_lines(model: type[BaseModel], prefix: str, depth: int) -> list[str]:
    pad = "  " * depth
    lines: list[str] = []
    for key, field in model.model_fields.items():
        dotted = f"{prefix}{key}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            inner = _section_lines(annotation, dotted + ".", depth + 1)
            active = any(line.strip() and not line.lstrip().startswith("#") for line in inner)
            lines.append("" if depth == 0 else pad.rstrip())
            lines.append(f"{pad}{'' if active else '# '}{key}:")
            lines.extend(inner)
            continue
        for text in textwrap.wrap(field.description or "", 100 - len(pad)):
            lines.append(f"{pad}# {text}")
        if dotted in SKELETON_VALUES:
            lines.append(f"{pad}{key}: {json.dumps(SKELETON_VALUES[dotted])}")
        else:
            default = field.get_default(call_default_factory=True)
            lines.append(f"{pad}# {key}: {json.dumps(default, default=str)}")
    return lines
