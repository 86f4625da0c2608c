"""The reference: every layer, initializer, regularizer, constraint and activation, and every
optimizer, learning rate schedule, loss and metric of the `compile:` section, with every
argument's type, default, bounds and description, generated from the pydantic models and the
registries that validate specs (descriptions live once, on the fields); and the keys of the
spec's sections (`inputs`, `compile`, `train`, ...).

`reference_text()` is docs/reference.md; `explain_text(name)` is `netspec explain NAME`.
Regenerate the committed file with

    python -m netspec.reference --builtin -o docs/reference.md

(`--builtin` leaves out plugin layers installed in this environment; without it they are
documented too, marked as plugins).

Names in `explain` are looked up in every registry of `all_registries()`: an exact canonical name
wins over an alias, and at equal rank the registry order decides (layers, initializers,
regularizers, constraints, activations, optimizers, schedules, losses, metrics); the other
matches are named so that `KIND.NAME` (e.g. `initializers.Orthogonal`, `metrics.mse`) can pick one.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
import textwrap
import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from .catalog import all_registries
from .errors import NetspecError
from .layers.base import NAME_PATTERN, Layer
from .registry import Registry, did_you_mean
from .spec import InputSpec, OutputRef, spec_model
from .training.spec import Accuracy, CompileSpec
from .vocab.base import VocabModel
from .vocab.regularizers import STRING_PRESETS

REFERENCE_PATH = Path(__file__).resolve().parent.parent / "docs" / "reference.md"
REGENERATE = "python -m netspec.reference --builtin -o docs/reference.md"

# Registry key -> (section title, singular noun used in text).
KINDS = {
    "layers": ("Layers", "layer type"),
    "initializers": ("Initializers", "initializer"),
    "regularizers": ("Regularizers", "regularizer"),
    "constraints": ("Constraints", "constraint"),
    "activations": ("Activations", "activation"),
    "optimizers": ("Optimizers", "optimizer"),
    "schedules": ("Learning rate schedules", "learning rate schedule"),
    "losses": ("Losses", "loss"),
    "metrics": ("Metrics", "metric"),
}
_VOCAB_NOUN = {kind: noun for kind, (_, noun) in KINDS.items() if kind != "layers"}
_NONE = type(None)
# Bare names that stand for other arguments than the class defaults, by registry.
_PRESETS = {"regularizers": STRING_PRESETS}
# Arguments that Keras's signatures put first, by registry (see `_fields`).
_LEAD = {"optimizers": ("learning_rate",)}
# Where a spec takes the names of a registry, when not "wherever a spec takes a NOUN"
# (`{compile}` is a link to the compile section).
_USED_IN = {
    "optimizers": "Names accepted as the `optimizer` of {compile} (Keras's "
    "`model.compile(optimizer=...)`).",
    "schedules": "Accepted as the `learning_rate` of an [optimizer](#optimizers), as an object "
    "`{type: ClassName, ...arguments}` (each has required arguments), evaluated at every step "
    "(Keras's `LearningRateSchedule`).",
    "losses": "Names accepted as the `loss` of {compile}, or as each value of its mapping of "
    "output name to loss (Keras's `model.compile(loss=...)`).",
    "metrics": "Names accepted in the `metrics` list of {compile} (Keras's "
    "`model.compile(metrics=[...])`).",
}


class UnknownReference(NetspecError):
    """`netspec explain` of a name or argument that does not exist (with "did you mean")."""


@dataclass(frozen=True)
class ArgDoc:
    """One argument (a model field): every text the reference shows about it."""

    name: str
    type: str  # with bounds inline: `int > 0`
    type_md: str  # the same, with links to the vocabulary sections
    base_type: str  # without the argument's own bounds (those are in `bounds`)
    bounds: str  # the argument's own bounds: `> 0`, `in [0, 1)`, `at least 1 entry`
    default: str  # `required`, or the default as YAML writes it
    description: str
    vocab: str | None  # registry key, for initializer/regularizer/constraint/activation arguments
    required: bool


@dataclass(frozen=True)
class EntryDoc:
    """One registry entry: layer type, initializer, regularizer, constraint or activation."""

    kind: str  # registry key
    name: str
    aliases: tuple[str, ...]
    doc: str
    args: tuple[ArgDoc, ...]
    plugin: str | None  # top-level module of a plugin entry, None for netspec's own


# --- types -------------------------------------------------------------------------------------


def _num(value: Any) -> str:
    return json.dumps(value) if isinstance(value, int | float) else str(value)


def _flatten(metadata: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for item in metadata:
        if isinstance(item, FieldInfo):
            out.extend(_flatten(item.metadata))
        else:
            out.append(item)
    return out


def _pattern(annotated: Any) -> str | None:
    metadata = _flatten(get_args(annotated)[1:])
    return next((m.pattern for m in metadata if getattr(m, "pattern", None)), None)


# Patterns with a name: identifiers, and references to a layer's output (`name` or `name:k`).
_PATTERNS = {NAME_PATTERN: "identifier", _pattern(OutputRef): "name[:k]"}


def _is_bound(item: Any) -> bool:
    return isinstance(item, at.Gt | at.Ge | at.Lt | at.Le | at.MinLen | at.MaxLen)


def _a(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _numeric_bounds(metadata: Sequence[Any]) -> str:
    lo = hi = None
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
        return f"in {lo[0]}{_num(lo[1])}, {_num(hi[1])}{hi[0]}"
    if lo:
        return (">" if lo[0] == "(" else ">=") + f" {_num(lo[1])}"
    if hi:
        return ("<" if hi[0] == ")" else "<=") + f" {_num(hi[1])}"
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


def _bounds(tp: Any, metadata: Sequence[Any]) -> str:
    """The bounds that `metadata` puts on a value of type `tp` ('' when none)."""
    if tp in (int, float):
        return _numeric_bounds(metadata)
    origin = get_origin(tp)
    if tp is str or origin in (list, dict):
        return _length_bounds(metadata, "character" if tp is str else "entry")
    if origin is Annotated:
        return _bounds(get_args(tp)[0], metadata)
    if origin in (Union, types.UnionType):
        for member in get_args(tp):
            found = _bounds(member, metadata)
            if found:
                return found
    return ""


def _registry_of(classes: Sequence[type]) -> str | None:
    """The vocabulary registry key whose entries are `classes`, if they are vocabulary models."""
    if not classes or not all(isinstance(c, type) and issubclass(c, VocabModel) for c in classes):
        return None
    for kind, registry in all_registries().items():
        if kind in _VOCAB_NOUN and any(cls is classes[0] for _, cls in registry.items()):
            return kind
    return None


def _literal_values(tp: Any) -> list[str]:
    return [str(v) if isinstance(v, str) else json.dumps(v) for v in get_args(tp)]


def _with_bounds(text: str, bounds: str) -> str:
    """`text (bounds)`, or `text` alone when there are no bounds."""
    return f"{text} ({bounds})" if bounds else text


class _TypeRenderer:
    """Human-readable types: `int > 0`, `list of (int > 0 or null)`, `one of: a, b`."""

    def __init__(self, links: dict[str, str] | None):
        self.links = links  # markdown anchors by target, or None for plain text

    def link(self, text: str, target: str) -> str:
        if self.links is None or target not in self.links:
            return text
        return f"[{text}](#{self.links[target]})"

    def vocab(self, kind: str) -> str:
        return self.link(_VOCAB_NOUN[kind], kind) + " (name or {type: ...})"

    def layer(self) -> str:
        return self.link("layer", "layers") + " ({type: ...})"

    def render(self, tp: Any, metadata: Sequence[Any] = ()) -> str:
        """The text of type `tp` under `metadata` (its bounds and patterns, nested `FieldInfo`s
        included): `Annotated` metadata joins `metadata`, and each kind of type has its helper."""
        metadata = _flatten(metadata)
        origin = get_origin(tp)
        if origin is Annotated:
            base, *extra = get_args(tp)
            return self.render(base, [*metadata, *extra])
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
            text = self.vocab(kind)
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
        if issubclass(tp, VocabModel):
            kind = _registry_of([tp])
            if kind:
                return self.vocab(kind)
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


def _vocab_kind(tp: Any) -> str | None:
    origin = get_origin(tp)
    if origin is Annotated:
        return _vocab_kind(get_args(tp)[0])
    if origin in (Union, types.UnionType):
        real = [m for m in get_args(tp) if m is not _NONE]
        kind = _registry_of(real)
        if kind is not None:
            return kind
        # one vocabulary among other types: `float > 0 or learning rate schedule`
        kinds = {_vocab_kind(m) for m in real} - {None}
        return kinds.pop() if len(kinds) == 1 else None
    if isinstance(tp, type):
        return _registry_of([tp])
    return None


def _default(field: FieldInfo) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, str):
        return value if value and value.strip() == value else json.dumps(value)
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True)
    try:
        return json.dumps(value)
    except TypeError:
        return repr(value)


def _arg_doc(name: str, field: FieldInfo, links: dict[str, str]) -> ArgDoc:
    tp, metadata = field.annotation, field.metadata
    return ArgDoc(
        name=field.alias or name,
        type=_TypeRenderer(None).render(tp, metadata),
        type_md=_TypeRenderer(links).render(tp, metadata),
        base_type=_TypeRenderer(None).render(tp, [m for m in metadata if not _is_bound(m)]),
        bounds=_bounds(tp, _flatten(metadata)),
        default=_default(field),
        description=" ".join((field.description or "").split()),
        vocab=_vocab_kind(tp),
        required=field.is_required(),
    )


def _fields(
    model: type[BaseModel],
    links: dict[str, str],
    skip: Iterable[str] = (),
    keras: bool = True,
    lead: Sequence[str] = (),
) -> list[ArgDoc]:
    """A model's arguments in model order; with `keras`, in the order of Keras's signatures
    (`Conv2D(filters, kernel_size, strides=1, ..., activation=None, ...)`): required ones first,
    then a class's own arguments before those it inherits, each where it was first declared.
    With `lead` (Keras's optimizers: `Adam(learning_rate=0.001, beta_1=0.9, ...)`), those
    arguments come first, then the ones the class itself (re)declares (`AdamW(learning_rate,
    weight_decay=0.004, beta_1, ...)`), then the others in Keras's order."""
    skipped = set(skip)
    names = [n for n in model.model_fields if n not in skipped]
    docs = {n: _arg_doc(n, model.model_fields[n], links) for n in names}
    if not keras:
        return list(docs.values())

    def declared(name: str) -> int:  # MRO index of the base-most class that declares `name`
        mro = model.__mro__
        return max(
            (i for i, c in enumerate(mro) if name in vars(c).get("__annotations__", {})), default=0
        )

    own = vars(model).get("__annotations__", {}) if lead else {}
    order = sorted(
        names,
        key=lambda n: (
            not docs[n].required,
            lead.index(n) if n in lead else len(lead),
            0 if n in own else declared(n),
        ),
    )
    return [docs[n] for n in order]


# --- entries -----------------------------------------------------------------------------------


def _plugin_of(cls: type) -> str | None:
    top = cls.__module__.split(".")[0]
    return None if top == "netspec" else top


def _doc(cls: type) -> str:
    return inspect.cleandoc(cls.__dict__.get("__doc__") or "") or "(no description)"


def entries(plugins: bool = True, links: dict[str, str] | None = None) -> list[EntryDoc]:
    """Every registry entry, registries in `all_registries()` order, entries in registration
    order."""
    return [
        entry_doc(kind, name, links)
        for kind, registry in all_registries().items()
        for name, cls in registry.items()
        if plugins or not _plugin_of(cls)
    ]


def entry_doc(kind: str, name: str, links: dict[str, str] | None = None) -> EntryDoc:
    """One entry of registry `kind`, by canonical name."""
    registry = all_registries()[kind]
    cls = registry.get(name)
    skip = {"type", *(Layer.model_fields if kind == "layers" else ())}
    return EntryDoc(
        kind=kind,
        name=name,
        aliases=tuple(a for a, canonical in registry.aliases().items() if canonical == name),
        doc=_doc(cls),
        args=tuple(_fields(cls, links or {}, skip, lead=_LEAD.get(kind, ()))),
        plugin=_plugin_of(cls),
    )


def extra_entries() -> list[EntryDoc]:
    """Names a spec accepts besides the registries' (documented and explained as entries):
    `accuracy` in `compile.metrics`."""
    name, *aliases = get_args(Accuracy)
    return [
        EntryDoc(
            kind="metrics",
            name=name,
            aliases=tuple(aliases),
            doc="Keras's `accuracy`: binary, sparse categorical or categorical accuracy, picked "
            "from the shapes of the labels and the predictions as Keras 3's compile does: "
            "BinaryAccuracy when the predictions' last axis is 1, else "
            "SparseCategoricalAccuracy when the labels have a lower rank or a last axis of 1, "
            "else CategoricalAccuracy (whatever the loss). A name only: it has no object form.",
            args=(),
            plugin=None,
        )
    ]


def section_models(model: type[BaseModel] | None = None) -> list[tuple[str, str, type[BaseModel]]]:
    """The models of a spec's sections (`inputs`, `compile`, `train`, `train.early_stopping`,
    ...): every model nested in the spec model's fields that is neither a layer nor a registry
    entry, as (path, container, model) with container `dict` (each value of a mapping), `list`
    (each entry) or '' (the value), depth-first in field order, each model once."""
    entry_classes = {cls for r in all_registries().values() for _, cls in r.items()}
    found: list[tuple[str, str, type[BaseModel]]] = []

    def models(tp: Any, container: str) -> Iterable[tuple[type[BaseModel], str]]:
        origin = get_origin(tp)
        if origin in (Annotated, Union, types.UnionType):
            args = get_args(tp)[:1] if origin is Annotated else get_args(tp)
            for arg in args:
                yield from models(arg, container)
        elif origin in (list, dict):
            args = get_args(tp)
            if args:
                yield from models(args[-1], origin.__name__)
        elif (
            isinstance(tp, type)
            and issubclass(tp, BaseModel)
            and not issubclass(tp, Layer)
            and tp not in entry_classes
        ):
            yield tp, container

    def walk(parent: type[BaseModel], prefix: str) -> None:
        for name, field in parent.model_fields.items():
            for cls, container in models(field.annotation, ""):
                if all(cls is not seen for _, _, seen in found):
                    path = prefix + (field.alias or name)
                    found.append((path, container, cls))
                    walk(cls, path + ".")

    walk(model or spec_model(), "")
    return found


def common_layer_keys(links: dict[str, str] | None = None) -> list[ArgDoc]:
    """The keys every layer takes (besides `type`), in Layer's order."""
    return [_arg_doc(n, f, links or {}) for n, f in Layer.model_fields.items() if n != "type"]


# --- markdown ----------------------------------------------------------------------------------


class _Slugs:
    """GitHub's heading anchors: lowercase, punctuation dropped, spaces to '-', '-1' on repeats."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def __call__(self, heading: str) -> str:
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        n = self.seen.get(slug, 0)
        self.seen[slug] = n + 1
        return slug if n == 0 else f"{slug}-{n}"


def _preset(entry: EntryDoc, alias: str, md: bool = False) -> str:
    """' (means L1L2(l1=0.01, l2=0.01))' for a bare name with arguments of its own, else ''."""
    args = _PRESETS.get(entry.kind, {}).get(alias)
    if not args:
        return ""
    call = f"{entry.name}(" + ", ".join(f"{k}={_num(v)}" for k, v in args.items()) + ")"
    return f" (means {_code(call) if md else call})"


def _cell(text: str) -> str:
    return text.replace("|", "\\|") if text else ""


def _code(text: str) -> str:
    return f"`{text}`"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _arg_rows(args: Iterable[ArgDoc], first: str = "argument") -> list[str]:
    rows = [
        (
            _code(a.name),
            a.type_md,
            a.default if a.required else _code(a.default),
            a.description,
        )
        for a in args
    ]
    return _table((first, "type", "default", "description"), rows)


def _section_heading(path: str, cls: type[BaseModel], contents: bool = False) -> str:
    if cls is InputSpec:
        return "model inputs" if contents else "Model inputs"
    return path


def _section_intro(path: str, container: str, cls: type[BaseModel]) -> str:
    if cls is InputSpec:
        return "Each value of the top-level `inputs` mapping. " + _doc(cls)
    where = {"dict": "Each value of the mapping", "list": "Each entry of the list"}
    return f"{where.get(container, 'The keys of')} `{path}`. " + _doc(cls)


@dataclass(frozen=True)
class _Layout:
    """What the parts of docs/reference.md share: the spec model and its sections, every
    heading's anchor, and each registry's entries in document order."""

    spec: type[BaseModel]
    sections: list[tuple[str, str, type[BaseModel]]]  # as `section_models` gives them
    anchors: dict[str, str]  # by 'title', 'contents', 'spec', 'common', model name, registry key
    entry_anchor: dict[tuple[str, str], str]  # by (registry key, entry name)
    by_kind: dict[str, list[EntryDoc]]  # registry key -> its extra entries, then its own


def _layout(plugins: bool) -> _Layout:
    """The layout of docs/reference.md (with `plugins`, also the plugin layers installed here).
    Anchors are taken in document order, since repeated headings are numbered in that order."""
    spec = spec_model()
    sections = section_models(spec)
    slugs = _Slugs()
    anchors: dict[str, str] = {}
    for key, heading in (
        ("title", "netspec reference"),
        ("contents", "Contents"),
        ("spec", "Spec keys"),
        *((cls.__name__, _section_heading(path, cls)) for path, _, cls in sections),
        ("common", "Common layer keys"),
    ):
        anchors[key] = slugs(heading)
    extras: dict[str, list[EntryDoc]] = {}
    for extra in extra_entries():
        extras.setdefault(extra.kind, []).append(extra)
    entry_anchor: dict[tuple[str, str], str] = {}
    for kind, registry in all_registries().items():  # headings in document order
        anchors[kind] = slugs(KINDS[kind][0])
        for entry in extras.get(kind, ()):
            entry_anchor[kind, entry.name] = slugs(entry.name)
        for name, cls in registry.items():
            if plugins or not _plugin_of(cls):
                entry_anchor[kind, name] = slugs(name)
    by_kind: dict[str, list[EntryDoc]] = {
        kind: [*extras.get(kind, ())] for kind in all_registries()
    }
    for entry in entries(plugins, links=anchors):  # types link to the vocabulary sections
        by_kind[entry.kind].append(entry)
    return _Layout(spec, sections, anchors, entry_anchor, by_kind)


def _intro_lines(layout: _Layout) -> list[str]:
    """The title, the generated-file notice and the paragraphs on how names are given."""
    vocab = [KINDS[kind][0].lower() for kind in layout.by_kind if kind != "layers"]
    return [
        "# netspec reference",
        "",
        "<!-- Generated from netspec's pydantic models and registries; do not edit. Regenerate "
        f"with: {REGENERATE} -->",
        "",
        "Every key and name a spec may use, generated from the models that validate specs: each "
        "argument's type, default (Keras's) and meaning. `netspec explain NAME` prints the same "
        "for one entry or one argument (`netspec explain Dense`, `netspec explain "
        "Dense.kernel_initializer`, `netspec explain he_uniform`, `netspec explain "
        "Adam.learning_rate`). The format itself is described in [spec-format.md]"
        "(spec-format.md).",
        "",
        f"{', '.join(vocab[:-1]).capitalize()} and {vocab[-1]} are given as a name (the class "
        "name or one of its aliases, with the defaults below) or as an object "
        "`{type: ClassName, ...arguments}` (for activations `{type: function_name, ...}`). "
        "`or null` means that `null` (Keras's `None`) is accepted; `required` means that the "
        "argument has no default.",
        "",
    ]


def _contents_lines(layout: _Layout) -> list[str]:
    """The table of contents: the spec's sections, then every registry with its entries."""
    anchors = layout.anchors
    sections = ", ".join(
        f"[{_section_heading(path, cls, contents=True)}](#{anchors[cls.__name__]})"
        for path, _, cls in layout.sections
    )
    out = [
        "## Contents",
        "",
        f"- [Spec keys](#{anchors['spec']}) ({sections})",
        f"- [Common layer keys](#{anchors['common']})",
    ]
    for kind, group in layout.by_kind.items():
        names = ", ".join(f"[{e.name}](#{layout.entry_anchor[kind, e.name]})" for e in group)
        out.append(f"- [{KINDS[kind][0]}](#{anchors[kind]}) ({len(group)}): {names}")
    return out


def _key_lines(layout: _Layout) -> list[str]:
    """The spec's top-level keys, the keys of each of its sections, and the common layer keys."""
    anchors = layout.anchors
    out = ["", "## Spec keys", "", "The top-level keys of a spec file.", ""]
    out += _arg_rows(_fields(layout.spec, anchors, keras=False), "key")
    for path, container, cls in layout.sections:
        out += ["", f"### {_section_heading(path, cls)}", ""]
        out += [_section_intro(path, container, cls), ""]
        out += _arg_rows(_fields(cls, anchors, keras=False), "key")
    out += [
        "",
        "## Common layer keys",
        "",
        "Every layer entry takes `type` (its layer type: a name from [Layers]"
        f"(#{anchors['layers']}) or one of its aliases) and these keys, besides its own "
        "arguments.",
        "",
    ]
    return out + _arg_rows(common_layer_keys(anchors), "key")


def _kind_intro(kind: str, anchors: dict[str, str]) -> str:
    """The paragraph under a registry's heading: where a spec takes its names."""
    if kind == "layers":
        return (
            "Each layer also takes the [common layer keys]"
            f"(#{anchors['common']}) (`name`, `inputs`, `trainable`, `input_shape`)."
        )
    if kind in _USED_IN:
        return _USED_IN[kind].replace("{compile}", f"[`compile`](#{anchors[CompileSpec.__name__]})")
    return f"Names accepted wherever a spec takes {_a(KINDS[kind][1])}."


def _entry_lines(entry: EntryDoc) -> list[str]:
    """One entry's section: heading, description, aliases and plugin, arguments table; each
    paragraph followed by a blank line."""
    out = [f"### {entry.name}", "", entry.doc, ""]
    notes = []
    if entry.aliases:
        aliases = [_code(a) + _preset(entry, a, md=True) for a in entry.aliases]
        notes.append("Also accepted as: " + ", ".join(aliases) + ".")
    if entry.plugin:
        notes.append(f"Plugin layer, from `{entry.plugin}`.")
    if notes:
        out += [" ".join(notes), ""]
    if entry.args:
        return out + [*_arg_rows(entry.args), ""]
    return out + ["No arguments" + (" of its own." if entry.kind == "layers" else "."), ""]


def _kind_lines(kind: str, group: list[EntryDoc], anchors: dict[str, str]) -> list[str]:
    """One registry's section: heading, where its names are used, and every entry ('None.'
    when it has none), with no blank line at the end."""
    out = ["", f"## {KINDS[kind][0]}", "", _kind_intro(kind, anchors), ""]
    for entry in group:
        out += _entry_lines(entry)
    if not group:
        out += ["None.", ""]
    out.pop()
    return out


def reference_text(plugins: bool = True) -> str:
    """docs/reference.md (with `plugins`, also the plugin layers installed here): the intro,
    the contents, the keys of the spec and its sections, then one section per registry."""
    layout = _layout(plugins)
    out = [*_intro_lines(layout), *_contents_lines(layout), *_key_lines(layout)]
    for kind, group in layout.by_kind.items():
        out += _kind_lines(kind, group, layout.anchors)
    return "\n".join(out) + "\n"


# --- explain -----------------------------------------------------------------------------------


def _qualifier(word: str) -> str | None:
    """'initializers' or 'initializer' -> 'initializers'; 'losses' or 'loss' -> 'losses'."""
    for kind in all_registries():
        if word in (kind, kind.removesuffix("s"), KINDS[kind][1]):
            return kind
    return None


def _split_query(query: str, regs: dict[str, Registry]) -> tuple[str | None, list[str]]:
    """`[KIND.]NAME[.ARGUMENT]` as (KIND's registry key or None, [NAME] or [NAME, ARGUMENT]).
    A first part that names a registry is KIND only when more parts follow."""
    parts = query.split(".")
    kind = _qualifier(parts[0]) if len(parts) > 1 else None
    if kind is not None:
        parts = parts[1:]
    if len(parts) > 2 or not all(parts):
        raise UnknownReference(
            f"cannot read '{query}': expected NAME, NAME.ARGUMENT or KIND.NAME[.ARGUMENT], "
            f"KIND one of: {', '.join(regs)}"
        )
    return kind, parts


def _unknown_name(
    name: str,
    kind: str | None,
    searched: dict[str, Registry],
    extras: dict[tuple[str, str], EntryDoc],
) -> UnknownReference:
    """The error for a name found in none of the `searched` registries and `extras`: with KIND
    in the query, that registry's suggestions (or its own hint), else suggestions from all."""
    extra_names = [n for e in extras.values() for n in (e.name, *e.aliases)]
    if kind is not None:
        registry = searched[kind]
        hint = did_you_mean(name, [*registry.all_names(), *extra_names])
        return UnknownReference(f"unknown {registry.kind} '{name}'" + (hint or registry.hint(name)))
    pool = [*(n for r in searched.values() for n in r.all_names()), *extra_names]
    nouns = [KINDS[k][1] for k in searched]
    return UnknownReference(
        f"unknown name '{name}': not a {', '.join(nouns[:-1])} or {nouns[-1]}"
        + (did_you_mean(name, pool) or "; `netspec list` shows every name")
    )


def _argument(entry: EntryDoc, name: str) -> ArgDoc:
    """Argument `name` of `entry` (of a layer type, also a common layer key); raises
    UnknownReference naming the close matches, or else all its arguments."""
    pool = [*entry.args, *(common_layer_keys() if entry.kind == "layers" else ())]
    arg = next((a for a in pool if a.name == name), None)
    if arg is None:
        names = [a.name for a in pool]
        hint = did_you_mean(name, names) or (
            "; its arguments: " + ", ".join(names) if names else "; it takes no arguments"
        )
        raise UnknownReference(
            f"unknown argument '{name}' of {KINDS[entry.kind][1]} {entry.name}" + hint
        )
    return arg


def lookup(query: str) -> tuple[EntryDoc, ArgDoc | None, list[str]]:
    """Resolve `NAME`, `NAME.ARGUMENT`, `KIND.NAME` or `KIND.NAME.ARGUMENT` (KIND: layers,
    initializers, ... or their singular): the entry, the argument (or None) and the other
    registries' matches as qualified names. Raises UnknownReference with suggestions.

    Matches rank canonical names of the registries first, then their aliases, then the extra
    entries (`accuracy`); the first match wins, in registry order at equal rank."""
    regs = all_registries()
    kind, parts = _split_query(query, regs)
    name = parts[0]
    searched = {k: regs[k] for k in ([kind] if kind else regs)}
    extras = {(e.kind, e.name): e for e in extra_entries() if e.kind in searched}
    hits = [(k, name) for k, r in searched.items() if name in r.names()]
    hits += [(k, r.canonical(name)) for k, r in searched.items() if name in r.aliases()]
    hits += [key for key, e in extras.items() if name in (e.name, *e.aliases)]
    if not hits:
        raise _unknown_name(name, kind, searched, extras)
    (found_kind, canonical), others = hits[0], hits[1:]
    found = extras.get((found_kind, canonical)) or entry_doc(found_kind, canonical)
    arg = _argument(found, parts[1]) if len(parts) == 2 else None
    return found, arg, [f"{k}.{n}" for k, n in others]


def _wrap(text: str, indent: str = "", width: int = 88) -> list[str]:
    out = []
    for paragraph in text.split("\n\n"):
        if out:
            out.append("")
        out += textwrap.wrap(
            re.sub(r"[ \t\r\n]+", " ", paragraph).strip(),
            width,
            initial_indent=indent,
            subsequent_indent=indent,
        ) or [indent]
    return out


def _accepted(kind: str) -> list[str]:
    registry = all_registries()[kind]
    aliases: dict[str, list[str]] = {}
    for alias, canonical in registry.aliases().items():
        aliases.setdefault(canonical, []).append(alias)
    names = [f"{n} ({', '.join(aliases[n])})" if n in aliases else n for n in registry.names()]
    # No line breaks inside one name's parentheses (textwrap does not break at U+00A0).
    text = ", ".join(name.replace(" ", "\u00a0") for name in names)
    return [line.replace("\u00a0", " ") for line in _wrap(text, "  ")]


def _explain_arg(entry: EntryDoc, arg: ArgDoc) -> list[str]:
    common = entry.kind == "layers" and arg not in entry.args
    where = "key of every layer" if common else f"argument of {KINDS[entry.kind][1]} {entry.name}"
    out = [f"{entry.name}.{arg.name} ({where})", ""]
    out.append(f"  type:     {arg.base_type}")
    if arg.bounds:
        out.append(f"  bounds:   {arg.bounds}")
    out.append(f"  default:  {arg.default}")
    out += ["", *_wrap(arg.description or "(no description)")]
    if arg.vocab:
        noun = _VOCAB_NOUN[arg.vocab]
        out += ["", f"Accepted {arg.vocab} (name, aliases in parentheses):", *_accepted(arg.vocab)]
        out += [
            "",
            *_wrap(
                f"Or an object {{type: NAME, ...arguments}}; `netspec explain NAME` lists "
                f"{_a(noun)}'s arguments."
            ),
        ]
    return out


def _explain_entry(entry: EntryDoc) -> list[str]:
    out = [f"{entry.name} ({KINDS[entry.kind][1]})"]
    if entry.aliases:
        out.append("also accepted as: " + ", ".join(a + _preset(entry, a) for a in entry.aliases))
    if entry.plugin:
        out.append(f"plugin layer, from {entry.plugin}")
    out += ["", *_wrap(entry.doc), ""]
    if entry.args:
        out.append("Arguments:")
        for a in entry.args:
            default = "required" if a.required else f"default {a.default}"
            out.append(f"  {a.name}: {a.type}; {default}")
            out += _wrap(a.description, "      ")
    else:
        out.append("No arguments" + (" of its own." if entry.kind == "layers" else "."))
    if entry.kind == "layers":
        keys = ", ".join(a.name for a in common_layer_keys())
        out += [
            "",
            f"Every layer also takes: {keys}",
            f"(`netspec explain {entry.name}.KEY` for one).",
        ]
    return out


def explain_text(query: str) -> str:
    """`netspec explain QUERY`: one entry with all its arguments, or one argument."""
    entry, arg, others = lookup(query)
    lines = _explain_entry(entry) if arg is None else _explain_arg(entry, arg)
    if others:
        lines += ["", "Also a name in: " + ", ".join(others) + " (explain KIND.NAME for those)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m netspec.reference", description="Print (or write) docs/reference.md."
    )
    parser.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    parser.add_argument(
        "--builtin", action="store_true", help="leave out plugin layers installed here"
    )
    args = parser.parse_args(argv)
    text = reference_text(plugins=not args.builtin)
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
