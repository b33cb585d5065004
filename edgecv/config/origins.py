"""Where each config value came from (a flag, an ``EDGECV_*`` variable, the config file), so an error can
blame the input a person has to change rather than guess.

Built from the same three inputs the loader hands its sources, highest precedence first: the value a field
ends up with is the one from the first origin that sets it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Any

ENV_PREFIX = "EDGECV_"
ENV_DELIMITER = "__"
DEFAULTS = "the defaults"

Path = tuple[str, ...]


@dataclass(frozen=True)
class Origin:
    path: Path  # the key path this input sets (a leaf, or a whole section for a JSON variable)
    source: str  # how a person names it: "EDGECV_MQTT__PASSWORD", "config file /etc/edgecv/x.yaml", "--iou"


def _leaves(data: Any, at: Path = ()) -> list[Path]:
    if isinstance(data, Mapping) and data:
        return [leaf for key, value in data.items() for leaf in _leaves(value, (*at, str(key)))]
    return [at]


def env_path(name: str) -> Path | None:
    """``EDGECV_MQTT__TLS__CA_FILE`` → ``("mqtt", "tls", "ca_file")``; None for other variables."""
    if not name.upper().startswith(ENV_PREFIX):
        return None
    parts = name[len(ENV_PREFIX) :].lower().split(ENV_DELIMITER)
    return tuple(parts) if all(parts) else None


def env_tree(environ: Mapping[str, str]) -> dict[str, Any]:
    """The ``EDGECV_*`` variables as the nested mapping they set (JSON sections opened)."""
    tree: dict[str, Any] = {}
    for name, value in environ.items():
        path = env_path(name)
        if path is None:
            continue
        node = tree
        for key in path[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            node[path[-1]] = _maybe_json(value)
    return tree


def _maybe_json(value: str) -> Any:
    if not value.lstrip().startswith(("{", "[")):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


@dataclass(frozen=True)
class Origins:
    """Every value the inputs set, with its source, highest precedence first."""

    entries: tuple[Origin, ...]

    @classmethod
    def of(
        cls,
        overrides: Mapping[str, Any],
        environ: Mapping[str, str],
        file_values: Mapping[str, Any],
        config_path: str | FilePath | None,
        flags: Mapping[str, str] | None = None,
    ) -> Origins:
        """``flags`` names the command-line flag of a dotted key (``{"detect.iou": "--iou"}``)."""
        flags = flags or {}
        entries = [
            Origin(path, f"command line {flags[key]}" if key in flags else "command line")
            for path in _leaves(dict(overrides))
            if path
            for key in [".".join(path)]
        ]
        for name, value in environ.items():
            path = env_path(name)
            if path is None:
                continue
            # A JSON section sets the keys it holds, not the whole section: the loader deep-merges it.
            opened = _maybe_json(value)
            leaves = _leaves(opened) if isinstance(opened, dict) and opened else [()]
            entries += [Origin((*path, *leaf), name.upper()) for leaf in leaves]
        entries += [Origin(path, f"config file {config_path}") for path in _leaves(dict(file_values)) if path]
        return cls(tuple(entries))

    def source_of(self, loc: Path) -> str:
        """Who set the value at ``loc`` (or a section above it, or a key below it); :data:`DEFAULTS` when
        nobody did."""
        for entry in self.entries:
            if loc[: len(entry.path)] == entry.path:
                return entry.source
        # A section (or a map's entry) that was set key by key: whoever set its first key that wins.
        for entry in self.entries:
            if entry.path[: len(loc)] == loc:
                return entry.source
        return DEFAULTS

    def set_under(self, loc: Path) -> list[tuple[str, str]]:
        """Each key under the section ``loc`` that an input set, with the source whose value wins."""
        seen: dict[Path, str] = {}
        for entry in self.entries:
            if entry.path[: len(loc)] != loc:
                continue
            if entry.path not in seen and not any(entry.path[: len(p)] == p for p in seen):
                seen[entry.path] = self.source_of(entry.path)
        return [(".".join(path), source) for path, source in seen.items()]
