"""One registry mechanism for every kind of name a spec may use (`netspec.catalog.KINDS`).

A registry maps canonical names (Keras class names, or function names for activations) to
entries, plus aliases (snake_case names and Keras's own aliases) to canonical names. Unknown
names raise ``UnknownName`` with "did you mean" suggestions.

Entries get in one way, the `register` decorator (plugins' layers included):

    @INITIALIZERS.register("zeros", "zero")   # canonical name: the `type` Literal's value
    class Zeros(Initializer):
        type: Literal["Zeros"] = "Zeros"

`register_lazy` only reserves a name (with its aliases and its place in the order) for an entry
whose module registers it when first asked for (the layer catalogue's `_index.py`).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, Literal, TypeVar, get_args, get_origin

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
        self._loaders: list[Callable[[], object]] = []

    def add_loader(self, load: Callable[[], object]) -> None:
        """`load()` registers more entries (the installed plugins' layers, with `register`); it
        runs once, when the registry is next read, so every reader sees them."""
        self._loaders.append(load)

    def _loaded(self) -> None:
        while self._loaders:
            self._loaders.pop(0)()

    def register(self, *aliases: str) -> Callable[[T], T]:
        """Decorator that registers a class or function. The canonical name is a class's `type`
        Literal's first value (its other values are aliases: a layer's `MaxPool2D`), or a
        function's `__name__`; `aliases` are the other names a spec may write (`zeros`).
        Registering the same object again is a no-op (a plugin's class, say)."""
        for alias in aliases:
            if not isinstance(alias, str):
                raise TypeError(f"{self.kind} aliases are names; use @registry.register(*aliases)")

        def decorate(entry: T) -> T:
            name, *more = entry_names(entry)
            if self._entries.get(name) is entry:
                return entry
            self._add(name, entry, (*more, *aliases))
            return entry

        return decorate

    def _add(self, name: str, entry: T, aliases: Iterable[str]) -> None:
        placeholder = isinstance(self._entries.get(name), _Lazy)  # its module is loading now
        if not placeholder and (name in self._entries or name in self._aliases):
            raise ValueError(f"{self.kind} '{name}' is already registered")
        for alias in aliases:
            owner = self._aliases.get(alias, name)
            if owner != name or (alias != name and alias in self._entries):
                raise ValueError(f"{self.kind} alias '{alias}' is already taken")
        self._entries[name] = entry  # a placeholder keeps its place: the order stays
        for alias in aliases:
            if alias != name:
                self._aliases[alias] = name

    def canonical(self, name: str) -> str:
        """The canonical name for `name` or one of its aliases; raises UnknownName."""
        self._loaded()
        if name in self._entries:
            return name
        if name in self._aliases:
            return self._aliases[name]
        raise UnknownName(f"unknown {self.kind} '{name}'" + self.hint(name))

    def hint(self, name: str, canonical_only: bool = False) -> str:
        """ "; did you mean ..." for `name`, else the list of names when it is short."""
        self._loaded()
        pool = self.names() if canonical_only else self.all_names()
        close = did_you_mean(name, pool)
        if close or len(self._entries) > 12:
            return close
        return "; one of: " + ", ".join(self.names())

    def register_lazy(self, name: str, aliases: Iterable[str], load: Callable[[], object]) -> None:
        """Register `name` (and its aliases) now and its entry when first asked for: `load()`
        (importing the module that registers it) runs then. Names, aliases, hints and order
        are there without the import."""
        self._add(name, _Lazy(load), aliases)  # type: ignore[arg-type]

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
        self._loaded()
        return name in self._entries or name in self._aliases

    def __iter__(self) -> Iterator[str]:
        self._loaded()
        return iter(self._entries)

    def __len__(self) -> int:
        self._loaded()
        return len(self._entries)

    def is_canonical(self, name: object) -> bool:
        """Whether `name` is a canonical name (not an alias): one lookup, for validators."""
        self._loaded()
        return name in self._entries

    def names(self) -> list[str]:
        """Canonical names, in registration order."""
        self._loaded()
        return list(self._entries)

    def aliases(self) -> dict[str, str]:
        self._loaded()
        return dict(self._aliases)

    def name_of(self, entry: object) -> str | None:
        """The canonical name `entry` is registered under (None if it is not)."""
        self._loaded()
        return next((name for name, e in self._entries.items() if e is entry), None)

    def all_names(self) -> list[str]:
        """Canonical names and aliases: everything a user may write."""
        self._loaded()
        return [*self._entries, *self._aliases]

    def items(self) -> list[tuple[str, T]]:
        """Every entry, in registration order (lazy ones loaded now)."""
        self._loaded()
        return [(name, self.get(name)) for name in list(self._entries)]


def register_modules(
    registry: Registry[Any],
    package: str,
    modules: Iterable[str],
    index: dict[str, list[tuple[str, tuple[str, ...]]]],
) -> None:
    """Register the entries of each module of `package` (in this order) from `index` (module
    -> [(canonical name, aliases)], generated by `python -m netspec.generate`), so a module is
    imported only when one of its entries is first used; a module the index does not know yet
    is imported now."""
    from functools import partial
    from importlib import import_module

    for module in modules:
        entries = index.get(module)
        if entries is None:
            import_module(f"{package}.{module}")
            continue
        load = partial(import_module, f"{package}.{module}")
        for name, aliases in entries:
            registry.register_lazy(name, aliases, load)


def module_index(
    registry: Registry[Any], package: str, modules: Iterable[str]
) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """What `register_modules` takes: each module's entries (and their aliases) in
    registration order, read by importing the modules (the generator's side)."""
    from importlib import import_module

    modules = list(modules)
    for module in modules:
        import_module(f"{package}.{module}")
    out: dict[str, list[tuple[str, tuple[str, ...]]]] = {m: [] for m in modules}
    aliases: dict[str, list[str]] = {}
    for alias, canonical in registry.aliases().items():
        aliases.setdefault(canonical, []).append(alias)
    for name, entry in registry.items():
        owner, _, module = entry.__module__.rpartition(".")
        if owner == package and module in out:
            out[module].append((name, tuple(aliases.get(name, ()))))
    return out


def tagged_union(registry: Registry[Any]) -> Any:
    """The discriminated union, on `type`, of a registry's classes (lazy ones loaded): the type
    a field taking any of them stands for (a registry of one class: that class)."""
    from typing import Annotated, Union

    from pydantic import Field

    classes = tuple(cls for _, cls in registry.items())
    if len(classes) == 1:
        return classes[0]
    # a union of the registry's classes, built at run time: not a static type
    return Annotated[Union[classes], Field(discriminator="type")]  # noqa: UP007


def entry_names(entry: Any) -> tuple[str, ...]:
    """The names an entry registers under: the values of a model class's `type` Literal (first:
    canonical), or a function's name."""
    fields = getattr(entry, "model_fields", None)
    if isinstance(entry, type) and fields is not None and "type" in fields:
        names = get_args(fields["type"].annotation)
        if get_origin(fields["type"].annotation) is Literal and all(
            isinstance(n, str) for n in names
        ):
            return names
        raise TypeError(f"{entry.__name__}.type should be a Literal of its names")
    if callable(entry) and not isinstance(entry, type):
        return (entry.__name__,)
    raise TypeError(f"cannot register {entry!r}: not a class with a `type` Literal or a function")


class _Lazy:
    """The placeholder of an entry registered with `register_lazy`."""

    def __init__(self, load: Callable[[], object]):
        self.load = load
