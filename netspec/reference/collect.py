"""What the reference documents, collected from the pydantic models and the registries: every
registry entry (`EntryDoc`) with its arguments (`ArgDoc`: type, bounds, default, description)
in Keras's order, the extra names a spec accepts (`accuracy`), the models of the spec's
sections, and the keys every layer takes."""

from __future__ import annotations

import inspect
import json
import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from ..catalog import all_registries
from ..layers.base import Layer
from ..spec import spec_model
from ..training.spec.sections import Accuracy
from ..vocab.base import NameOrObject
from ..vocab.regularizers import STRING_PRESETS
from .typetext import (
    TypeRenderer,
    bounds_of,
    code,
    flatten,
    is_bound,
    num,
    stands_for,
    vocab_kind,
)

# Bare names that stand for other arguments than the class defaults, by registry.
_PRESETS = {"regularizers": STRING_PRESETS}
# Arguments that Keras's signatures put first, by registry (see `model_args`).
_LEAD = {"optimizers": ("learning_rate",)}


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
    entries = [m for m in metadata if isinstance(m, NameOrObject)]
    if entries:  # pydantic keeps a top-level annotation's metadata apart: the vocabulary's union
        tp, metadata = entries[0].union(), [m for m in metadata if m is not entries[0]]
    return ArgDoc(
        name=field.alias or name,
        type=TypeRenderer(None).render(tp, metadata),
        type_md=TypeRenderer(links).render(tp, metadata),
        base_type=TypeRenderer(None).render(tp, [m for m in metadata if not is_bound(m)]),
        bounds=bounds_of(tp, flatten(metadata)),
        default=_default(field),
        description=" ".join((field.description or "").split()),
        vocab=vocab_kind(tp),
        required=field.is_required(),
    )


def model_args(
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


def plugin_of(cls: type) -> str | None:
    """The top-level module of a plugin class, None for netspec's own."""
    top = cls.__module__.split(".")[0]
    return None if top == "netspec" else top


def class_doc(cls: type) -> str:
    """The class's own docstring, dedented (not inherited): `(no description)` when none."""
    return inspect.cleandoc(cls.__dict__.get("__doc__") or "") or "(no description)"


def entries(plugins: bool = True, links: dict[str, str] | None = None) -> list[EntryDoc]:
    """Every registry entry, registries in `all_registries()` order, entries in registration
    order."""
    return [
        entry_doc(kind, name, links)
        for kind, registry in all_registries().items()
        for name, cls in registry.items()
        if plugins or not plugin_of(cls)
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
        doc=class_doc(cls),
        args=tuple(model_args(cls, links or {}, skip, lead=_LEAD.get(kind, ()))),
        plugin=plugin_of(cls),
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
        if origin is Annotated:  # a section imported on first use, a vocabulary's union
            yield from models(stands_for(tp), container)
        elif origin in (Union, types.UnionType):
            for arg in get_args(tp):
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


def preset(entry: EntryDoc, alias: str, md: bool = False) -> str:
    """' (means L1L2(l1=0.01, l2=0.01))' for a bare name with arguments of its own, else ''."""
    args = _PRESETS.get(entry.kind, {}).get(alias)
    if not args:
        return ""
    call = f"{entry.name}(" + ", ".join(f"{k}={num(v)}" for k, v in args.items()) + ")"
    return f" (means {code(call) if md else call})"
