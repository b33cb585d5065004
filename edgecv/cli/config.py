"""``edgecv config``: every key with its variable, default and description, generated from the models."""

from __future__ import annotations

import argparse
import json
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from ..config import ENV_PREFIX, Settings
from ..config.cameras import CameraConfig, override_sections
from ..config.secrets import mask_tree, secret_paths
from .common import add_config_flag

HELP = "List every config key (or print the effective config / JSON Schema)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_flag(parser)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--show", action="store_true", help="print the effective config (file + environment)")
    group.add_argument("--schema", action="store_true", help="print the JSON Schema of the config file")


def rows(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str, str, str]]:
    out = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if model is CameraConfig and name in override_sections():
                # Its keys are the top-level section's, and its defaults are that section's values.
                out.append(_override_row(key, name))
                continue
            out.extend(rows(annotation, key + "."))
            continue
        if model is Settings and name == "cameras":
            out.append((key, ENV_PREFIX + "CAMERAS", "{}", field.description or ""))
            out.extend(rows(CameraConfig, key + ".<name>."))
            continue
        default = field.get_default(call_default_factory=True)
        env = ENV_PREFIX + key.replace(".", "__").upper()
        choices = registered_choices(field)
        description = (field.description or "") + (f" Choices: {', '.join(choices)}." if choices else "")
        out.append((key, env, json.dumps(default, default=str), description))
    return out


def _override_row(key: str, section: str) -> tuple[str, str, str, str]:
    env = ENV_PREFIX + key.replace(".", "__").upper() + "__<KEY>"
    return (
        f"{key}.<key>",
        env,
        f"the top-level {section}.<key>",
        f"Any key of the {section} section, for this camera only (e.g. {key}.{_first_key(section)}).",
    )


def _first_key(section: str) -> str:
    annotation = Settings.model_fields[section].annotation
    assert isinstance(annotation, type) and issubclass(annotation, BaseModel)
    return next(iter(annotation.model_fields))


def registered_choices(field: FieldInfo) -> list[str]:
    """The names a registry gives a field's schema (source.type, output.sinks): they follow the plug-ins."""
    extra = field.json_schema_extra
    if not callable(extra):
        return []
    schema: dict[str, Any] = {}
    extra(schema)
    items = schema.get("items")
    values = schema.get("enum") or (items.get("enum") if isinstance(items, dict) else None) or []
    return [str(value) for value in values]


def main(args: argparse.Namespace) -> int:
    if args.schema:
        print(json.dumps(Settings.model_json_schema(), indent=2))
        return 0
    if args.show:
        from .common import settings_from

        settings = settings_from(args)
        # By the secret marker, not by what the dump happens to hide: a secret that is not a SecretStr
        # (json_schema_extra={"secret": True}) and a password inside a URL are masked too.
        shown = mask_tree(json.loads(settings.model_dump_json()), secret_paths(Settings))
        print(yaml.safe_dump(shown, sort_keys=False), end="")
        return 0
    for key, env, default, description in rows(Settings):
        print(f"{key}  ({env}, default {default})\n    {description}")
    return 0
