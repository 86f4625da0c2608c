"""One registry mechanism for layers, initializers, regularizers, constraints and activations.

A registry maps canonical names (Keras class names, or function names for activations) to
entries, plus aliases (snake_case names and Keras's own aliases) to canonical names. Unknown
names raise ``UnknownName`` with "did you mean" suggestions.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


def did_you_mean(name: str, candidates: Iterable[str], n: int = 2) -> str:
    """Return `; did you mean 'x'?` (or '') for the closest candidates to `name`."""
    pool = list(candidates)
    lowered = {c.lower(): c for c in pool}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)
    hits = [lowered[c] for c in close]
    if not hits:
        return ""
    if len(hits) == 1:
        return f"; did you mean '{hits[0]}'?"
    return "; did you mean " + " or ".join(f"'{h}'" for h in hits) + "?"


class UnknownName(KeyError, ValueError):
    """An unknown registry name; its message carries the suggestions."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class Registry(Generic[T]):
    """Named entries of one kind (`kind` is used in messages: 'layer type', 'activation')."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._aliases: dict[str, str] = {}

    def register(self, name: str, entry: T, aliases: Iterable[str] = ()) -> T:
        placeholder = isinstance(self._entries.get(name), _Lazy)  # its module is loading now
        if not placeholder and (name in self._entries or name in self._aliases):
            raise ValueError(f"{self.kind} '{name}' is already registered")
        self._entries[name] = entry  # a placeholder keeps its place: the order stays
        for alias in aliases:
            if alias != name:
                self._aliases[alias] = name
        return entry

    def canonical(self, name: str) -> str:
        """The canonical name for `name` or one of its aliases; raises UnknownName."""
        if name in self._entries:
            return name
        if name in self._aliases:
            return self._aliases[name]
        raise UnknownName(f"unknown {self.kind} '{name}'" + self.hint(name))

    def hint(self, name: str, canonical_only: bool = False) -> str:
        """ "; did you mean ..." for `name`, else the list of names when it is short."""
        pool = self.names() if canonical_only else self.all_names()
        close = did_you_mean(name, pool)
        if close or len(self._entries) > 12:
            return close
        return "; one of: " + ", ".join(self.names())

    def register_lazy(self, name: str, aliases: Iterable[str], load: Callable[[], object]) -> None:
        """Register `name` (and its aliases) now and its entry when first asked for: `load()`
        (importing the module that registers it) runs then. Names, aliases, hints and order
        are there without the import."""
        self.register(name, _Lazy(load), aliases)  # type: ignore[arg-type]

    def get(self, name: str) -> T:
        key = self.canonical(name)
        entry = self._entries[key]
        if isinstance(entry, _Lazy):
            entry.load()
            entry = self._entries[key]
            if isinstance(entry, _Lazy):
                raise RuntimeError(f"loading {self.kind} '{key}' did not register it")
        return entry

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._aliases

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        """Canonical names, in registration order."""
        return list(self._entries)

    def aliases(self) -> dict[str, str]:
        return dict(self._aliases)

    def all_names(self) -> list[str]:
        """Canonical names and aliases: everything a user may write."""
        return [*self._entries, *self._aliases]

    def items(self) -> list[tuple[str, T]]:
        """Every entry, in registration order (lazy ones loaded now)."""
        return [(name, self.get(name)) for name in list(self._entries)]


class _Lazy:
    """The placeholder of an entry registered with `register_lazy`."""

    def __init__(self, load: Callable[[], object]):
        self.load = load
