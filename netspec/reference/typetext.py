"""Types as the reference shows them: `int > 0`, `list of (int > 0 or null)`, `one of: a, b`,
an initializer `(name or {type: ...})`, with markdown links to the vocabulary sections or as
plain text; the bounds of an argument apart (`> 0`, `at least 1 entry`); the registry of a
vocabulary argument (the kinds' titles and nouns are `netspec.catalog.KINDS`')."""

from __future__ import annotations

import json
import types
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from ..catalog import BY_NAME, all_registries
from ..deferred import Deferred
from ..layers.base import LAYER_NAME_PATTERN, NAME_PATTERN, Layer
from ..spec import OutputRef
from ..vocab.base import NameOrObject, VocabModel

_NONE = type(None)


def code(text: str) -> str:
    """`text` as markdown code."""
    return f"`{text}`"


def num(value: Any) -> str:
    """A number as JSON writes it (`0.01`, `1e-07`), anything else as `str`."""
    return json.dumps(value) if isinstance(value, int | float) else str(value)


def flatten(metadata: Iterable[Any]) -> list[Any]:
    """Field metadata with nested `FieldInfo`s replaced by their own metadata."""
    out: list[Any] = []
    for item in metadata:
        if isinstance(item, FieldInfo):
            out.extend(flatten(item.metadata))
        else:
            out.append(item)
    return out


def _pattern(annotated: Any) -> str | None:
    metadata = flatten(get_args(annotated)[1:])
    return next((m.pattern for m in metadata if getattr(m, "pattern", None)), None)


# Patterns with a name: identifiers, and references to a layer's output (`name` or `name:k`).
_PATTERNS = {
    NAME_PATTERN: "identifier",
    LAYER_NAME_PATTERN: "identifier characters",
    _pattern(OutputRef): "name[:k]",
}


def is_bound(item: Any) -> bool:
    """Whether a metadata item is a numeric or length bound."""
    return isinstance(item, at.Gt | at.Ge | at.Lt | at.Le | at.MinLen | at.MaxLen)


def a_or_an(noun: str) -> str:
    """`noun` with its indefinite article: `an initializer`, `a loss`."""
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _numeric_bounds(metadata: Sequence[Any]) -> str:
    lo: tuple[str, Any] | None = None  # ("(" or "[", the bound)
    hi: tuple[str, Any] | None = None
    for m in metadata:
        if isinstance(m, at.Gt):
            lo = ("(", m.gt)
        elif isinstance(m, at.Ge):
            lo = ("[", m.ge)
        elif isinstance(m, at.Lt):
            hi = (")", m.lt)
        elif isinstance(m, at.Le):
            hi = ("]", m.le)
    if lo and hi:
        return f"in {lo[0]}{num(lo[1])}, {num(hi[1])}{hi[0]}"
    if lo:
        return (">" if lo[0] == "(" else ">=") + f" {num(lo[1])}"
    if hi:
        return ("<" if hi[0] == ")" else "<=") + f" {num(hi[1])}"
    return ""


def _length_bounds(metadata: Sequence[Any], unit: str) -> str:
    lo = next((m.min_length for m in metadata if isinstance(m, at.MinLen)), None)
    hi = next((m.max_length for m in metadata if isinstance(m, at.MaxLen)), None)

    def units(n: int) -> str:
        if n == 1:
            return f"1 {unit}"
        return f"{n} " + ("entries" if unit == "entry" else unit + "s")

    if lo is not None and hi is not None:
        return f"exactly {units(lo)}" if lo == hi else f"{lo} to {units(hi)}"
    if lo:
        return f"at least {units(lo)}"
    if hi is not None:
        return f"at most {units(hi)}"
    return ""


def bounds_of(tp: Any, metadata: Sequence[Any]) -> str:
    """The bounds that `metadata` puts on a value of type `tp` ('' when none)."""
    if tp in (int, float):
        return _numeric_bounds(metadata)
    origin = get_origin(tp)
    if tp is str or origin in (list, dict):
        return _length_bounds(metadata, "character" if tp is str else "entry")
    if origin is Annotated:
        return bounds_of(get_args(tp)[0], metadata)
    if origin in (Union, types.UnionType):
        for member in get_args(tp):
            found = bounds_of(member, metadata)
            if found:
                return found
    return ""


def _registry_of(classes: Sequence[type]) -> str | None:
    """The registry key (not layers) whose entries are `classes`, if they are registered models:
    vocabulary models, RNN cells."""
    if not classes or not all(isinstance(c, type) and issubclass(c, BaseModel) for c in classes):
        return None
    for kind, registry in all_registries().items():
        if kind != "layers" and any(cls is classes[0] for _, cls in registry.items()):
            return kind
    return None


def _literal_values(tp: Any) -> list[str]:
    return [str(v) if isinstance(v, str) else json.dumps(v) for v in get_args(tp)]


def _with_bounds(text: str, bounds: str) -> str:
    """`text (bounds)`, or `text` alone when there are no bounds."""
    return f"{text} ({bounds})" if bounds else text


class TypeRenderer:
    """Human-readable types: `int > 0`, `list of (int > 0 or null)`, `one of: a, b`."""

    def __init__(self, links: dict[str, str] | None):
        self.links = links  # markdown anchors by target, or None for plain text

    def link(self, text: str, target: str) -> str:
        if self.links is None or target not in self.links:
            return text
        return f"[{text}](#{self.links[target]})"

    def vocab(self, kind: str, names: bool = True) -> str:
        """A registry's entries: `noun (name or {type: ...})`, or `({type: ...})` for a kind
        taken in the object form only (RNN cells)."""
        return self.link(BY_NAME[kind].noun, kind) + (
            " (name or {type: ...})" if names else " ({type: ...})"
        )

    def layer(self) -> str:
        return self.link("layer", "layers") + " ({type: ...})"

    def render(self, tp: Any, metadata: Sequence[Any] = ()) -> str:
        """The text of type `tp` under `metadata` (its bounds and patterns, nested `FieldInfo`s
        included): `Annotated` metadata joins `metadata`, and each kind of type has its helper."""
        metadata = flatten(metadata)
        origin = get_origin(tp)
        if origin is Annotated:
            base, *extra = get_args(tp)
            return self.render(stands_for(tp), [*metadata, *extra])
        if origin in (Union, types.UnionType):
            return self._union(get_args(tp), metadata)
        if origin is Literal:
            values = _literal_values(tp)
            return f"the value {values[0]}" if len(values) == 1 else "one of: " + ", ".join(values)
        if origin is list:
            return self._list(tp, metadata)
        if origin is dict:
            key, value = get_args(tp) or (Any, Any)
            text = f"mapping of {self.render(key)} to {self.render(value)}"
            return _with_bounds(text, _length_bounds(metadata, "entry"))
        if tp is _NONE:
            return "null"
        if tp is Any:
            return "any value"
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return self._model(tp)
        if tp is str:
            return self._str(metadata)
        name = {int: "int", float: "float", bool: "bool"}.get(tp, getattr(tp, "__name__", str(tp)))
        bounds = _numeric_bounds(metadata) if tp in (int, float) else ""
        return f"{name} {bounds}" if bounds else name

    def _union(self, members: tuple[Any, ...], metadata: Sequence[Any]) -> str:
        """A union: one vocabulary or layers as a whole, else its members as alternatives;
        `or null` last when None is a member (`one of: a, b, null` for an optional Literal)."""
        real = [m for m in members if m is not _NONE]
        kind = _registry_of(real)
        if kind is not None:
            text = self.vocab(kind, all(issubclass(m, VocabModel) for m in real))
        elif real and all(isinstance(m, type) and issubclass(m, Layer) for m in real):
            text = self.layer()
        elif len(real) == 1 and get_origin(real[0]) is Literal and _NONE in members:
            return self.render(real[0]) + ", null"  # one of: a, b, null
        else:  # the values of a Literal member as alternatives: `accuracy or acc or metric`
            text = " or ".join(
                " or ".join(_literal_values(m))
                if get_origin(m) is Literal
                else self.render(m, metadata)
                for m in real
            )
        return text + " or null" if _NONE in members else text

    def _list(self, tp: Any, metadata: Sequence[Any]) -> str:
        (item,) = get_args(tp) or (Any,)
        inner = self.render(item)
        # An item with alternatives is parenthesized: `list of (a or b)`, not `list of a or b`.
        text = f"list of ({inner})" if " or " in inner or "," in inner else f"list of {inner}"
        return _with_bounds(text, _length_bounds(metadata, "entry"))

    def _model(self, tp: type[BaseModel]) -> str:
        """A vocabulary model as its registry, a layer, or a section's model as `{keys}` linked
        to its section (a vocabulary model of no registry is shown as a section's model)."""
        kind = _registry_of([tp]) if not issubclass(tp, Layer) else None
        if kind:
            return self.vocab(kind, issubclass(tp, VocabModel))
        if issubclass(tp, Layer):
            return self.layer()
        text = "{" + ", ".join(f.alias or n for n, f in tp.model_fields.items()) + "}"
        return self.link(text, tp.__name__)

    def _str(self, metadata: Sequence[Any]) -> str:
        """`str`, a named pattern (`identifier`) or `str matching ...`, with its length bounds."""
        pattern = next((m.pattern for m in metadata if getattr(m, "pattern", None)), None)
        if pattern in _PATTERNS:
            text = _PATTERNS[pattern]
        elif pattern:
            text = f"str matching `{pattern}`"
        else:
            text = "str"
        return _with_bounds(text, _length_bounds(metadata, "character"))


def stands_for(tp: Any) -> Any:
    """The type an `Annotated` field validates as: a section's model (`Deferred`), a
    vocabulary's union (`NameOrObject`), else the annotated type."""
    base, *extra = get_args(tp)
    for m in extra:
        if isinstance(m, Deferred):
            return m.model()
        if isinstance(m, NameOrObject):
            return m.union()
    return base


def vocab_kind(tp: Any) -> str | None:
    origin = get_origin(tp)
    if origin is Annotated:
        return vocab_kind(stands_for(tp))
    if origin in (Union, types.UnionType):
        real = [m for m in get_args(tp) if m is not _NONE]
        kind = _registry_of(real)
        if kind is not None:
            return kind
        # one vocabulary among other types: `float > 0 or learning rate schedule`
        kinds = {vocab_kind(m) for m in real} - {None}
        return kinds.pop() if len(kinds) == 1 else None
    if isinstance(tp, type):
        return _registry_of([tp])
    return None
