"""Named plug-ins that register themselves: model families, frame sources, sinks.

A plug-in is one module inside the registry's package that calls :meth:`Registry.register` at import time.
The registry imports every module of its package the first time anyone asks for its names, so adding a
family, a source type or a sink is adding one file: nothing else lists it. Config choices
(``model.layout``, ``source.type``, ``output.sinks``) are validated against :meth:`Registry.names`, so the
docs, the JSON schema and the error for a typo all follow the files that exist.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Entries of one kind, keyed by the name a config file uses for them.

    ``package`` is the dotted name of the package whose modules register entries; ``kind`` names the
    entries in errors ("model family", "source type"). ``order`` sorts the entries wherever they are listed
    or tried (a sort key of the entry; ties keep registration order). Without it, modules register in
    the alphabetical order of their files, so a new plug-in named ``a…`` would move ahead of the built-ins.
    """

    def __init__(self, kind: str, package: str, *, order: Callable[[T], Any] | None = None) -> None:
        self.kind = kind
        self.package = package
        self._order = order
        self._entries: dict[str, T] = {}
        self._discovered = False
        # Discovery imports modules; two threads asking at once must not see a half-filled registry.
        self._lock = threading.RLock()

    def register(self, name: str, entry: T) -> T:
        """Add ``entry`` under ``name``; returns it, so a module can write ``X = registry.register(...)``."""
        if not name or name != name.strip():
            raise ValueError(f"{self.kind} name {name!r} must be a non-empty word")
        with self._lock:
            existing = self._entries.get(name)
            if existing is not None and existing is not entry:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = entry
        return entry

    def unregister(self, name: str) -> None:
        """Remove ``name`` (tests that register a plug-in of their own take it out again)."""
        with self._lock:
            self._entries.pop(name, None)

    def _sorted(self) -> list[tuple[str, T]]:
        with self._lock:
            items = list(self._entries.items())
        if self._order is not None:
            order = self._order
            items.sort(key=lambda item: order(item[1]))
        return items

    def _discover(self) -> None:
        with self._lock:
            if self._discovered:
                return
            # Set first: a plug-in module that asks for names while being imported sees what exists so far
            # instead of recursing into discovery again.
            self._discovered = True
            package = importlib.import_module(self.package)
            for module in pkgutil.iter_modules(package.__path__):
                if not module.name.startswith("_"):
                    importlib.import_module(f"{self.package}.{module.name}")

    def names(self) -> tuple[str, ...]:
        """Every registered name, in ``order`` (else registration order); the package's modules imported
        first."""
        self._discover()
        return tuple(name for name, _ in self._sorted())

    def get(self, name: str) -> T:
        """The entry named ``name``; ``KeyError`` naming the known ones otherwise."""
        self._discover()
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}") from None

    def check(self, name: str, *, extra: tuple[str, ...] = ()) -> str:
        """``name`` if it is registered (or one of ``extra``, such as ``auto``); a ``ValueError`` that lists
        the choices otherwise. Meant for pydantic validators, whose errors edgecv prints as they are."""
        choices = (*extra, *self.names())
        if name not in choices:
            raise ValueError(f"unknown {self.kind} {name!r}; use one of: {', '.join(choices)}")
        return name

    def __iter__(self) -> Iterator[tuple[str, T]]:
        self._discover()
        return iter(self._sorted())

    def __contains__(self, name: object) -> bool:
        self._discover()
        return name in self._entries
