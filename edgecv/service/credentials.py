"""Secrets out of an installed config file and into systemd credentials.

The service runs as a dynamic user, so its config file must be readable by others; a secret in it would be
readable by every user on the device. ``LoadCredential=`` reads a root-only file as root and hands it to the
service in ``$CREDENTIALS_DIRECTORY``, which edgecv reads. The config is edited line by line (not re-dumped),
so a person's comments and layout survive.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..config import Settings, read_config_file
from ..config.secrets import secret_credentials, values_at
from ..errors import ConfigError

# Where the shipped units' LoadCredential= lines read credentials from, under the install root.
CREDENTIALS_DIR = Path("etc/edgecv/credentials")
CREDENTIAL_MODE = 0o600
CREDENTIALS_DIR_MODE = 0o700


@dataclass(frozen=True)
class SecretMove:
    key: str  # dotted config key, e.g. mqtt.password
    value: str
    target: Path  # the credential file


def planned_moves(config: Path, credentials_dir: Path) -> list[SecretMove]:
    """The secrets ``config`` holds, each with the credential file it belongs in.

    Raises :class:`ConfigError` (exit 2) for a secret no credential carries, and for a credential file that
    already holds another value (the units read one file per credential for every instance).
    """
    values = read_config_file(config)
    moves = []
    for path, credential in secret_credentials(Settings).items():
        found = values_at(values, [path])
        if not found:
            continue
        key = ".".join(path)
        if credential is None:
            raise ConfigError(
                f"{config} holds the secret {key}, which no systemd credential carries",
                f"move it to the environment file (/etc/edgecv/*.env, chmod 600) as EDGECV_{'__'.join(path).upper()}",
            )
        target = credentials_dir / credential
        if target.exists() and _first_line(target) != found[0]:
            raise ConfigError(
                f"{config} holds {key}, but {target} already holds another value",
                f"one credential serves every instance: make them agree, then delete {key} from {config}",
            )
        moves.append(SecretMove(key, found[0], target))
    return moves


def _first_line(path: Path) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[0] if lines else ""


def write_credential(move: SecretMove) -> None:
    move.target.parent.mkdir(parents=True, exist_ok=True)
    move.target.parent.chmod(CREDENTIALS_DIR_MODE)
    # Created with its final mode: the secret is never readable by others, not even for an instant.
    fd = os.open(move.target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, CREDENTIAL_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(move.value + "\n")
    move.target.chmod(CREDENTIAL_MODE)


def without_key(text: str, key: str) -> str:
    """``text`` (a YAML config) with the block-style entry ``key`` (dotted) removed, comments kept."""
    node = yaml.compose(text)
    parts = key.split(".")
    for depth, part in enumerate(parts):
        if not isinstance(node, yaml.MappingNode) or node.flow_style:
            raise ConfigError(
                f"cannot remove {key} from the config: it is not written as a block mapping",
                f"delete {key} from the file by hand",
            )
        pairs = [(k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part]
        if not pairs:
            return text
        key_node, value_node = pairs[-1]
        if depth == len(parts) - 1:
            lines = text.splitlines(keepends=True)
            first = key_node.start_mark.line
            end = value_node.end_mark
            # A value ends at the start of the next line when it is a block; else on the key's own lines.
            last = end.line - 1 if end.column == 0 and end.line > first else end.line
            indent = " " * key_node.start_mark.column
            # A mapping left empty would load as null, not as an empty section.
            keep = [f"{indent}{{}}\n"] if len(node.value) == 1 else []
            return "".join(lines[:first] + keep + lines[last + 1 :])
        node = value_node
    return text
