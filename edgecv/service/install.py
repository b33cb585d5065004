"""``edgecv service install``: the unit, a config skeleton and the environment example, put where systemd
looks. Nothing is started: the next steps (``daemon-reload``, ``check``, ``enable``) are printed instead,
so a person sees the config before the service runs with it.

The unit runs as a dynamic user (``DynamicUser=yes``), which owns nothing under ``/etc``: the config must be
readable by others, so it holds no secrets. Those go to ``/etc/edgecv/credentials`` (root only), which
``LoadCredential=`` reads as root and hands to the service; a config that already holds one has it moved.
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
from ..config.cameras import check_camera_name
from ..config.mqtt import CREDENTIAL_NAME
from ..errors import ConfigError, EdgecvError
from .credentials import CREDENTIALS_DIR, CREDENTIALS_DIR_MODE, planned_moves, without_key, write_credential

UNIT_EXEC = "/opt/edgecv/venv/bin/edgecv"  # the ExecStart= path in the shipped units, replaced on install
# Keys the skeleton sets rather than leaving commented out: what a service on a camera needs.
SKELETON_VALUES: dict[str, Any] = {"source.uri": "/dev/video0", "source.retry_open": True}
# Installed beside the environment example: a commented instance of several cameras sharing one Coral.
CAMERAS_EXAMPLE = "cameras.yaml.example"


# The service user reads the config and /etc/edgecv itself, and owns neither: both readable by others.
CONFIG_MODE = 0o644
CONFIG_DIR_MODE = 0o755


@dataclass
class FileAction:
    path: Path
    content: str
    mode: int
    keep_existing: bool  # a config a person edited is never overwritten
    holds_config: bool = False  # kept or not, the service user must be able to read it


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


def parse_cameras(specs: list[str]) -> dict[str, str]:
    """``NAME=URI`` arguments → ``{name: uri}``; a :class:`ConfigError` (exit 2) naming what is wrong."""
    cameras: dict[str, str] = {}
    for spec in specs:
        name, sep, uri = spec.partition("=")
        name, uri = name.strip(), uri.strip()
        if not sep or not uri:
            raise ConfigError(
                f"--camera takes NAME=URI, got {spec!r}", "e.g. --camera front=rtsp://cam.local/1"
            )
        try:
            check_camera_name(name)
        except ValueError as exc:
            raise ConfigError(f"--camera {spec!r}: {exc}") from None
        if name in cameras:
            raise ConfigError(f"--camera {name} is given twice", "name each camera once")
        cameras[name] = uri
    return cameras


def plan(
    instance: str | None, root: Path, executable: Path, cameras: dict[str, str] | None = None
) -> list[FileAction]:
    """What to write: the unit, the instance's config (one camera, or ``cameras`` as a cameras map) and the
    examples beside it."""
    if instance is not None and (not instance or "/" in instance or instance.startswith(".")):
        raise ConfigError(f"invalid instance name {instance!r}", "use a plain name such as 'frontdoor'")
    name = instance or "edgecv"
    unit_name = "edgecv@.service" if instance else "edgecv.service"
    unit = (units_dir() / unit_name).read_text().replace(UNIT_EXEC, str(executable))
    etc = root / "etc" / "edgecv"
    return [
        FileAction(root / "etc" / "systemd" / "system" / unit_name, unit, 0o644, keep_existing=False),
        FileAction(
            etc / f"{name}.yaml", skeleton(name, cameras), CONFIG_MODE, keep_existing=True, holds_config=True
        ),
        FileAction(
            etc / "edgecv.env.example", (units_dir() / "edgecv.env.example").read_text(), 0o644, False
        ),
        FileAction(etc / CAMERAS_EXAMPLE, (units_dir() / CAMERAS_EXAMPLE).read_text(), 0o644, False),
    ]


def apply(actions: list[FileAction], root: Path, dry_run: bool) -> list[str]:
    """Write (or with ``dry_run`` only describe) every action; one line per file, saying what happened."""
    lines = []
    for action in actions:
        exists = action.path.exists()
        if exists and action.keep_existing:
            lines.append(f"{'keep':<12} {action.path} (exists; not overwritten)")
            if action.holds_config:
                lines += readable_by_service(action.path, root / CREDENTIALS_DIR, dry_run)
            continue
        verb = ("would update" if exists else "would write") if dry_run else ("update" if exists else "write")
        lines.append(f"{verb:<12} {action.path} (mode {action.mode:o})")
        if not dry_run:
            _make_dir(action.path.parent, CONFIG_DIR_MODE)
            action.path.write_text(action.content)
            action.path.chmod(action.mode)
    return lines + credentials_dir_line(root / CREDENTIALS_DIR, dry_run)


def _make_dir(path: Path, mode: int) -> None:
    """``path`` with ``mode`` whatever the umask (root's may be 077), its missing parents like it."""
    if not path.is_dir():
        _make_dir(path.parent, mode)
        path.mkdir()
        path.chmod(mode)


def readable_by_service(config: Path, credentials_dir: Path, dry_run: bool) -> list[str]:
    """An existing config made readable by the service user: its secrets moved to credential files first.

    Configs written by earlier versions are mode 640 root:root, which the dynamic user cannot read.
    """
    lines = []
    moves = planned_moves(config, credentials_dir)
    text = config.read_text(encoding="utf-8")
    for move in moves:
        lines.append(
            f"{'would move' if dry_run else 'move':<12} {move.key} from {config} to {move.target} "
            f"(mode {0o600:o}; LoadCredential= hands it to the service)"
        )
        text = without_key(text, move.key)
    mode = config.stat().st_mode & 0o777
    readable = mode | CONFIG_MODE
    if readable != mode:
        lines.append(
            f"{'would chmod' if dry_run else 'chmod':<12} {config} ({mode:o} -> {readable:o}: the service's "
            "dynamic user reads it)"
        )
    # Earlier installs under root's umask 077 left /etc/edgecv 700: the service could not even look inside.
    folder = config.parent
    folder_mode = folder.stat().st_mode & 0o777
    if folder_mode | CONFIG_DIR_MODE != folder_mode:
        lines.append(
            f"{'would chmod' if dry_run else 'chmod':<12} {folder} ({folder_mode:o} -> "
            f"{folder_mode | CONFIG_DIR_MODE:o}: the service's dynamic user reads the config in it)"
        )
    if dry_run:
        return lines
    for move in moves:
        write_credential(move)  # before the config loses it: an interruption never loses the secret
    if moves:
        config.write_text(text, encoding="utf-8")
    config.chmod(readable)
    folder.chmod(folder_mode | CONFIG_DIR_MODE)
    return lines


def credentials_dir_line(credentials_dir: Path, dry_run: bool) -> list[str]:
    """The root-only folder the units' LoadCredential= lines read, made so a person knows where secrets go."""
    if credentials_dir.is_dir():
        return []
    if not dry_run:
        _make_dir(credentials_dir, CREDENTIALS_DIR_MODE)
    verb = "would write" if dry_run else "write"
    return [f"{verb:<12} {credentials_dir}/ (mode {CREDENTIALS_DIR_MODE:o}: secrets, e.g. mqtt-password)"]


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
    steps.insert(
        2,
        f"  put secrets in /etc/edgecv/credentials (root only, chmod 600), e.g. the broker password in "
        f"/etc/edgecv/credentials/{CREDENTIAL_NAME}",
    )
    hidden = hidden_from_service(executable)
    if hidden is not None:
        steps.insert(
            0,
            f"warning: {hidden} is under /home or /root, which the unit hides (ProtectHome=yes); "
            "install edgecv in /opt/edgecv/venv (from a Python outside /home and /root) or pass --exec",
        )
    return steps


def hidden_from_service(executable: Path) -> Path | None:
    """``executable``, or the interpreter it runs (a venv's python may link into ~/.pyenv), when it lies
    under /home or /root: the unit's ProtectHome=yes hides both from the service."""
    candidates = [executable]
    try:
        first = executable.read_bytes()[:256].split(b"\n", 1)[0]
    except OSError:
        first = b""
    if first.startswith(b"#!"):
        interpreter = Path(first[2:].decode(errors="replace").split()[0])
        candidates += [interpreter, interpreter.resolve()]
    for path in candidates:
        if str(path).startswith(("/home/", "/root/")):
            return path
    return None


def skeleton(name: str, cameras: dict[str, str] | None = None) -> str:
    """A commented config generated from the models: every key with its description, defaults commented.

    With ``cameras`` (name → uri), a ``cameras`` map of them instead of the one-camera ``source``.
    """
    header = [
        f"# edgecv config for '{name}'. Every key, with its environment variable: 'edgecv config'.",
        f"# Before enabling the service: edgecv check --config /etc/edgecv/{name}.yaml",
        "# Secrets do not belong here: use LoadCredential= (mqtt-password) or the environment file.",
    ]
    if cameras:
        header.append(
            f"# Several cameras share the one model and interpreter; see /etc/edgecv/{CAMERAS_EXAMPLE}."
        )
    values = {} if cameras else SKELETON_VALUES
    return "\n".join(header + _section_lines(Settings, "", 0, values, cameras or {})) + "\n"


def _cameras_lines(cameras: dict[str, str]) -> list[str]:
    """The ``cameras`` map: each camera's source (live ones retry opening in the background by default)."""
    lines = ["cameras:"]
    for camera, uri in cameras.items():
        lines += [f"  {camera}:", "    source:", f"      uri: {json.dumps(uri)}"]
        lines += ["    # detect: {conf: 0.4, classes: [person, car]}   # this camera's own detect keys"]
    return lines


def _section_lines(
    model: type[BaseModel], prefix: str, depth: int, values: dict[str, Any], cameras: dict[str, str]
) -> list[str]:
    pad = "  " * depth
    lines: list[str] = []
    for key, field in model.model_fields.items():
        dotted = f"{prefix}{key}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            inner = _section_lines(annotation, dotted + ".", depth + 1, values, cameras)
            active = any(line.strip() and not line.lstrip().startswith("#") for line in inner)
            lines.append("" if depth == 0 else pad.rstrip())
            lines.append(f"{pad}{'' if active else '# '}{key}:")
            lines.extend(inner)
            continue
        for text in textwrap.wrap(field.description or "", 100 - len(pad)):
            lines.append(f"{pad}# {text}")
        if dotted == "cameras" and cameras:
            lines.extend(_cameras_lines(cameras))
        elif dotted in values:
            lines.append(f"{pad}{key}: {json.dumps(values[dotted])}")
        else:
            default = field.get_default(call_default_factory=True)
            lines.append(f"{pad}# {key}: {json.dumps(default, default=str)}")
    return lines
