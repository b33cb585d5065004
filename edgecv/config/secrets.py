"""Secrets in config: which fields hold them, and masking them in everything a person or a log reads.

A field is secret when it is typed ``SecretStr``/``SecretBytes`` or carries ``json_schema_extra={"secret":
True}``: the marker travels with the field, so a secret added later (a TLS key password, a web token) is
masked everywhere without a list of names to keep in step. Passwords inside URLs (``rtsp://user:pw@cam``)
are masked wherever they appear, since a URL is not a secret field but may carry one.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr
from pydantic.fields import FieldInfo

# pydantic's own rendering of a SecretStr, so --show, errors and logs all look alike.
MASK = "**********"
# scheme://user:password@ — the password part, up to the '@' that ends the user info.
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/@:]*:)(?P<password>[^\s/@]+)(?=@)")
# A secret this short would mask ordinary words and digits in unrelated text; it is still never shown
# where the field itself is printed (that goes by the marker, not by text).
_MIN_TEXT_SECRET = 4

Path = tuple[str, ...]


def _annotation_types(annotation: Any) -> Iterator[Any]:
    """The types a field annotation is made of: ``Annotated`` unwrapped, unions and generics opened."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        yield from _annotation_types(typing.get_args(annotation)[0])
    elif origin is typing.Union or origin is types.UnionType:
        for arg in typing.get_args(annotation):
            yield from _annotation_types(arg)
    elif origin is not None:
        yield origin
        for arg in typing.get_args(annotation):
            yield from _annotation_types(arg)
    else:
        yield annotation


def is_secret(field: FieldInfo) -> bool:
    extra = field.json_schema_extra
    if isinstance(extra, dict) and extra.get("secret") is True:
        return True
    return any(
        isinstance(kind, type) and issubclass(kind, (SecretStr, SecretBytes))
        for kind in _annotation_types(field.annotation)
    )


def credential_name(field: FieldInfo) -> str | None:
    """The systemd credential that carries this secret (``json_schema_extra={"credential": name}``)."""
    extra = field.json_schema_extra
    name = extra.get("credential") if isinstance(extra, dict) else None
    return name if isinstance(name, str) else None


def _section(field: FieldInfo) -> type[BaseModel] | None:
    for kind in _annotation_types(field.annotation):
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            return kind
    return None


def secret_credentials(model: type[BaseModel], prefix: Path = ()) -> dict[Path, str | None]:
    """Each secret field's key path with its credential name (None: it has none)."""
    found: dict[Path, str | None] = {}
    for name, field in model.model_fields.items():
        path = (*prefix, name)
        if is_secret(field):
            found[path] = credential_name(field)
            continue
        section = _section(field)
        if section is not None:
            found.update(secret_credentials(section, path))
    return found


def secret_paths(model: type[BaseModel]) -> list[Path]:
    """Every secret field of ``model`` and its sections, as key paths (``("mqtt", "password")``)."""
    return list(secret_credentials(model))


def mask_url_passwords(text: str) -> str:
    return _URL_PASSWORD.sub(lambda m: f"{m['head']}***", text)


def mask_tree(data: Any, paths: Iterable[Path], at: Path = ()) -> Any:
    """A copy of ``data`` (nested dicts and lists, e.g. raw input or a dump) with every value that sits at
    a secret path replaced by :data:`MASK` and URL passwords masked in every string."""
    paths = list(paths)
    if at in paths and data is not None:
        return MASK
    if isinstance(data, Mapping):
        return {key: mask_tree(value, paths, (*at, str(key))) for key, value in data.items()}
    if isinstance(data, list):
        return [mask_tree(value, paths, at) for value in data]
    if isinstance(data, str):
        return mask_url_passwords(data)
    return data


def values_at(data: Any, paths: Iterable[Path]) -> list[str]:
    """The plain text of every secret found at ``paths`` in ``data`` (raw input or a settings object)."""
    found: list[str] = []
    for path in paths:
        node = data
        for key in path:
            if isinstance(node, Mapping):
                node = node.get(key)
            elif isinstance(node, BaseModel):
                node = getattr(node, key, None)
            else:
                node = None
                break
        if isinstance(node, (SecretStr, SecretBytes)):
            node = node.get_secret_value()
        if isinstance(node, bytes):
            node = node.decode(errors="replace")
        if node is not None and not isinstance(node, (Mapping, list, BaseModel)):
            found.append(str(node))
    return found


class Redactor:
    """Masks known secret values and URL passwords in text (messages, log lines, check details)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first: a secret that contains another is masked whole, not leaving its tail readable.
        self._secrets = sorted({s for s in secrets if len(s) >= _MIN_TEXT_SECRET}, key=len, reverse=True)

    @classmethod
    def for_settings(cls, settings: BaseModel) -> Redactor:
        return cls(values_at(settings, secret_paths(type(settings))))

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return mask_url_passwords(text)


Redact = Callable[[str], str]
