"""Hypothesis strategies for specs, derived from the pydantic models that validate them.

`describe` turns a field's annotation and its `Field` metadata (bounds, patterns, lengths,
discriminators, the name-or-object mark of vocabulary fields) into a small type tree; `valid`
draws values of such a tree that the models accept, each with the `Site`s inside it (a place and
the type there), and `mutations` lists the one-field changes of a site: a value on or past a
bound, a wrong type, a misspelled name or type, a missing key, an unknown key. `minimal` gives
one deterministic value of a tree with every optional key present, for exhaustive sweeps.

New field types must be taught here: `describe` raises TypeError on anything it does not know,
so a layer or vocabulary class with a new kind of field fails the schema property test loudly.
"""

from __future__ import annotations

import copy
import math
import string
import types
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from netspec.deferred import Deferred
from netspec.layers import LAYERS, Layer
from netspec.registry import Registry
from netspec.spec import spec_model
from netspec.vocab.base import NameOrObject  # the mark of a name-or-object field

# --------------------------------------------------------------------------------- type tree


@dataclass(frozen=True)
class TNone:
    pass


@dataclass(frozen=True)
class TBool:
    pass


@dataclass(frozen=True)
class TLit:
    values: tuple


@dataclass(frozen=True)
class TNum:
    kind: type  # int or float
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None


@dataclass(frozen=True)
class TStr:
    pattern: str | None = None
    min_len: int = 0
    max_len: int | None = None


@dataclass(frozen=True)
class TList:
    item: Any
    min_len: int = 0
    max_len: int | None = None


@dataclass(frozen=True)
class TDict:
    key: Any
    value: Any
    min_len: int = 0


@dataclass(frozen=True)
class TModel:
    cls: type[BaseModel]
    # the classes of the discriminated union (on `type`) this model is a member of, if any
    union: tuple[type[BaseModel], ...] = ()
    registry: Registry | None = None  # where the union's names and aliases come from


@dataclass(frozen=True)
class TUnion:
    branches: tuple


@dataclass(frozen=True)
class TVocab:
    """A vocabulary field: a name of `registry` (canonical or alias) or a `{type: ...}` object."""

    registry: Registry
    objects: TUnion


def _constraints(meta) -> tuple[dict, str | None, Registry | None]:
    """Bounds, lengths and pattern; the discriminator; the vocabulary registry, if any."""
    cons: dict = {}
    disc = vocab = None
    for m in meta:
        if isinstance(m, FieldInfo):
            sub, d, v = _constraints(m.metadata)
            cons.update(sub)
            disc = m.discriminator or d or disc
            vocab = v or vocab
        elif isinstance(m, NameOrObject):
            vocab = m.registry
        elif isinstance(m, at.Gt):
            cons["gt"] = m.gt
        elif isinstance(m, at.Ge):
            cons["ge"] = m.ge
        elif isinstance(m, at.Lt):
            cons["lt"] = m.lt
        elif isinstance(m, at.Le):
            cons["le"] = m.le
        elif isinstance(m, at.MinLen):
            cons["min_len"] = m.min_length
        elif isinstance(m, at.MaxLen):
            cons["max_len"] = m.max_length
        elif getattr(m, "pattern", None) is not None:
            cons["pattern"] = m.pattern
    return cons, disc, vocab


def _pick(cons: dict, *keys: str) -> dict:
    return {k: cons[k] for k in keys if k in cons}


def _flat(meta) -> list:
    """Metadata with nested FieldInfos' own metadata."""
    out: list = []
    for m in meta:
        out.extend(_flat(m.metadata) if isinstance(m, FieldInfo) else [m])
    return out


def describe(ann: Any, meta: tuple | list = (), pushed: dict | None = None) -> Any:
    """The type tree of an annotation with its metadata (FieldInfo, annotated_types, ...).

    `pushed`: constraints of an enclosing Optional (`Field(ge=0)` on `int | None` bounds the int).
    """
    meta = list(meta)
    while get_origin(ann) is Annotated:
        ann, *more = get_args(ann)
        meta = [*more, *meta]
    deferred = [m for m in meta if isinstance(m, Deferred)]  # a section's model, typed Any
    if deferred:
        ann, meta = deferred[0].model(), [m for m in meta if not isinstance(m, Deferred)]
    named = [m for m in _flat(meta) if isinstance(m, NameOrObject)]  # a vocabulary, typed Any
    if named:
        ann, *more = get_args(named[0].union())
        meta = [*more, *meta]
    cons, disc, vocab = _constraints(meta)
    cons = {**(pushed or {}), **cons}
    origin = get_origin(ann)
    if origin in (Union, types.UnionType):
        args = get_args(ann)
        if disc or vocab:
            classes = tuple(a for a in args if a is not type(None))
            registry = vocab or (LAYERS if set(classes) <= set(_layer_classes()) else None)
            objects = TUnion(tuple(TModel(c, classes, registry) for c in classes))
            tree = TVocab(vocab, objects) if vocab else objects
            return TUnion((tree, TNone())) if len(classes) < len(args) else tree
        return TUnion(tuple(describe(a, pushed=cons) for a in args))
    if origin is Literal:
        return TLit(get_args(ann))
    if ann is type(None):
        return TNone()
    if ann is bool:
        return TBool()
    if ann in (int, float):
        return TNum(ann, **_pick(cons, "gt", "ge", "lt", "le"))
    if ann is str:
        return TStr(**_pick(cons, "pattern", "min_len", "max_len"))
    if origin is list:
        (item,) = get_args(ann)
        return TList(describe(item), **_pick(cons, "min_len", "max_len"))
    if origin is dict:
        key, value = get_args(ann)
        return TDict(describe(key), describe(value), **_pick(cons, "min_len"))
    if ann is Layer:  # a nested layer entry (Bidirectional, TimeDistributed): any layer type
        classes = tuple(_layer_classes())
        return TUnion(tuple(TModel(c, classes, LAYERS) for c in classes))
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return TModel(ann)
    raise TypeError(f"spec_strategies cannot generate values of {ann!r}: teach `describe`")


def _bare_names(registry: Registry) -> list[str]:
    """The names that stand alone: not those of classes with required arguments (the
    `threshold` activation, object form only; the schema's name enum still lists it)."""
    return [
        n
        for n in registry.all_names()
        if not any(f.is_required() for k, f in registry.get(n).model_fields.items() if k != "type")
    ]


def _layer_classes() -> list:
    return [cls for _, cls in LAYERS.items()]


@cache
def fields(cls: type[BaseModel]) -> tuple[tuple[str, Any, bool], ...]:
    """(key as written in a spec, type tree, required) of every field of a model."""
    out = []
    for name, info in cls.model_fields.items():
        if info.annotation == (dict[str, Any] | None):  # `args:`/`blocks:`: checked by the
            continue  # expansion (netspec/blocks, tests/test_blocks.py), not by pydantic
        out.append((info.alias or name, describe(info.annotation, [info]), info.is_required()))
    return tuple(out)


def spec_type() -> TModel:
    return TModel(spec_model())


# ------------------------------------------------------------------------------ valid values


@dataclass(frozen=True)
class Site:
    """A place in generated data (a path of keys and indices) and the type tree there."""

    path: tuple
    type: Any


Gen = tuple[Any, tuple[Site, ...]]  # a value and the sites inside it (paths relative to it)

# Printable ASCII without the characters YAML or the patterns make special; names and free text.
ALPHABET = string.ascii_letters + string.digits + "_.:- "
# Values generated for fields whose checks no JSON Schema expresses (see EXCLUSIONS in the
# test): valid ones, so that valid specs stay valid for the validator too.
OVERRIDES: dict[tuple[str, str], st.SearchStrategy] = {}


def override(cls_name: str, key: str, strategy: st.SearchStrategy) -> None:
    """Draw the values of `key` of layer or vocabulary class `cls_name` from `strategy`."""
    OVERRIDES[(cls_name, key)] = strategy
    valid.cache_clear()


def _int_range(t: TNum) -> tuple[int, int]:
    lows = [math.ceil(t.ge)] if t.ge is not None else []
    lows += [math.floor(t.gt) + 1] if t.gt is not None else []
    highs = [math.floor(t.le)] if t.le is not None else []
    highs += [math.ceil(t.lt) - 1] if t.lt is not None else []
    lo = max(lows) if lows else (min(highs) - 40 if highs else -20)
    hi = min(highs) if highs else lo + 40
    return lo, hi


def _float_range(t: TNum) -> dict:
    lo = t.ge if t.ge is not None else t.gt
    hi = t.le if t.le is not None else t.lt
    lo = lo if lo is not None else (hi - 100.0 if hi is not None else -100.0)
    hi = hi if hi is not None else lo + 200.0
    return {
        "min_value": float(lo),
        "max_value": float(hi),
        "exclude_min": t.gt is not None and t.ge is None,
        "exclude_max": t.lt is not None and t.le is None,
    }


def _number(t: TNum) -> st.SearchStrategy:
    lo, hi = _int_range(t)
    ints = st.integers(lo, hi) if lo <= hi else st.nothing()
    if t.kind is int:
        return ints
    # YAML gives ints for `max_value: 2`: a float field takes ints too.
    return st.one_of(st.floats(allow_nan=False, allow_infinity=False, **_float_range(t)), ints)


def _string(t: TStr) -> st.SearchStrategy:
    if t.pattern is not None:
        out = st.from_regex(t.pattern, fullmatch=True, alphabet=ALPHABET)
        return out.filter(lambda s: t.min_len <= len(s) <= (t.max_len or 12))
    return st.text(ALPHABET, min_size=t.min_len, max_size=t.max_len or 8)


def _leaf(t: Any, value_strategy: st.SearchStrategy) -> st.SearchStrategy:
    return value_strategy.map(lambda v: (v, (Site((), t),)))


def _prefixed(key: Any, sites: tuple[Site, ...]) -> tuple[Site, ...]:
    return tuple(Site((key, *s.path), s.type) for s in sites)


@cache
def valid(t: Any) -> st.SearchStrategy:
    """Values of `t` the models accept, with their sites: a strategy of Gen."""
    if isinstance(t, TNone):
        return _leaf(t, st.none())
    if isinstance(t, TBool):
        return _leaf(t, st.booleans())
    if isinstance(t, TLit):
        return _leaf(t, st.sampled_from(t.values))
    if isinstance(t, TNum):
        return _leaf(t, _number(t))
    if isinstance(t, TStr):
        return _leaf(t, _string(t))
    if isinstance(t, TUnion):
        return st.one_of([valid(b) for b in t.branches])
    if isinstance(t, TVocab):
        objects = valid(t.objects).map(lambda g: (g[0], (Site((), t), *g[1])))
        bare = _bare_names(t.registry)
        if not bare:  # every entry has required arguments (the schedules): objects only
            return objects
        return st.one_of(_leaf(t, st.sampled_from(bare)), objects)
    if isinstance(t, TList):
        high = t.min_len + 3 if t.max_len is None else min(t.max_len, t.min_len + 3)
        items = st.lists(valid(t.item), min_size=t.min_len, max_size=high)

        def join_list(gens: list) -> Gen:
            sites = [Site((), t)]
            for i, (_, inner) in enumerate(gens):
                sites += _prefixed(i, inner)
            return [v for v, _ in gens], tuple(sites)

        return items.map(join_list)
    if isinstance(t, TDict):
        keys = _string(t.key) if isinstance(t.key, TStr) else st.integers(0, 20).map(str)
        entries = st.dictionaries(
            keys, valid(t.value), min_size=t.min_len, max_size=max(2, t.min_len)
        )

        def join_dict(gens: dict) -> Gen:
            sites = [Site((), t)]
            for k, (_, inner) in gens.items():
                sites += _prefixed(k, inner)
            return {k: v for k, (v, _) in gens.items()}, tuple(sites)

        return entries.map(join_dict)
    if isinstance(t, TModel):
        required, optional = {}, {}
        for key, ft, req in fields(t.cls):
            special = OVERRIDES.get((t.cls.__name__, key))
            strategy = (
                _leaf(ft, special)
                if special is not None
                else st.deferred(lambda ft=ft: valid(ft))  # nested layers recurse
            )
            # members of a discriminated union always say their `type`
            (required if req or (key == "type" and t.union) else optional)[key] = strategy

        def join_model(gens: dict) -> Gen:
            sites = [Site((), t)]
            for k, (_, inner) in gens.items():
                sites += _prefixed(k, inner)
            return {k: v for k, (v, _) in gens.items()}, tuple(sites)

        return st.fixed_dictionaries(required, optional=optional).map(join_model)
    raise TypeError(t)


def valid_specs() -> st.SearchStrategy:
    """Whole specs that pass pydantic validation (not the graph checks), with their sites."""
    return valid(spec_type())


# ---------------------------------------------------------------- deterministic minimal values


def minimal(t: Any, full: bool = True) -> Gen:
    """One value of `t` the models accept, with every optional key (when `full`)."""
    if isinstance(t, TNone):
        return None, (Site((), t),)
    if isinstance(t, TBool):
        return True, (Site((), t),)
    if isinstance(t, TLit):
        return t.values[0], (Site((), t),)
    if isinstance(t, TNum):
        if t.kind is int:
            lo, hi = _int_range(t)
            value = min(max(1, lo), hi)  # 1 where allowed: a size, a count, an axis
        else:
            bounds = _float_range(t)
            value = (bounds["min_value"] + bounds["max_value"]) / 2
        return value, (Site((), t),)
    if isinstance(t, TStr):
        for guess in ("a", "a1", "a:1", "x", ""):
            if t.pattern is None or _fullmatch(t.pattern, guess):
                return guess, (Site((), t),)
        raise ValueError(t)
    if isinstance(t, TUnion):
        branch = next((b for b in t.branches if not isinstance(b, TNone)), t.branches[0])
        return minimal(branch, full)
    if isinstance(t, TVocab):
        return t.registry.all_names()[0], (Site((), t),)
    if isinstance(t, TList):
        value, inner = minimal(t.item, full)
        n = max(t.min_len, 1)
        return [copy.deepcopy(value) for _ in range(n)], (
            Site((), t),
            *(s for i in range(n) for s in _prefixed(i, inner)),
        )
    if isinstance(t, TDict):
        key = minimal(t.key)[0] if isinstance(t.key, TStr) else "0"  # JSON keys are strings
        value, inner = minimal(t.value, full)
        return {key: value}, (Site((), t), *_prefixed(key, inner))
    if isinstance(t, TModel):
        out, sites = {}, [Site((), t)]
        for key, ft, req in fields(t.cls):
            if req or full or (key == "type" and t.union):
                value, inner = minimal(ft, full)
                out[key] = value
                sites += _prefixed(key, inner)
        return out, tuple(sites)
    raise TypeError(t)


def _fullmatch(pattern: str, text: str) -> bool:
    import re

    return re.fullmatch(pattern, text) is not None


def at_path(data: Any, path: tuple) -> Any:
    for part in path:
        data = data[part]
    return data


# ------------------------------------------------------------------------------- mutations

# Values of every JSON type, and the lax-mode bait (numeric strings, bools, 0/1, integral floats).
JUNK = (
    None,
    True,
    False,
    0,
    1,
    -1,
    7,
    0.5,
    -2.5,
    3.0,
    10**20,
    "x",
    "",
    "3",
    "0.5",
    "true",
    "yes",
    "relu",
    [],
    [1],
    [None],
    ["a"],
    {},
    {"type": "Dense"},
    {"type": "L2"},
)
# A value of each JSON type (and a numeric string): for the exhaustive sweeps.
LEAN_JUNK = (None, True, -1, 0.5, "3", [], {})
# Keys no model has, keys of other models, Python names of aliased fields, case variants.
UNKNOWN_KEYS = ("unknown", "Type", "filters", "units", "rate", "l2", "axis", "declared_shape")


@dataclass(frozen=True)
class Op:
    """One change of a spec: set `path` to `value`, delete `path`, or add `key` under `path`."""

    kind: str  # "set", "del" or "add"
    path: tuple
    value: Any = None
    key: Any = None

    def apply(self, data: Any) -> Any:
        if self.kind == "set" and not self.path:
            return copy.deepcopy(self.value)
        out = copy.deepcopy(data)
        parent = at_path(out, self.path if self.kind == "add" else self.path[:-1])
        if self.kind == "set":
            parent[self.path[-1]] = copy.deepcopy(self.value)
        elif self.kind == "del":
            del parent[self.path[-1]]
        else:
            parent[self.key] = copy.deepcopy(self.value)
        return out

    def __str__(self) -> str:
        where = "".join(f"[{p!r}]" for p in self.path) or "<root>"
        if self.kind == "set":
            return f"set {where} = {self.value!r}"
        if self.kind == "del":
            return f"delete {where}"
        return f"add {where}[{self.key!r}] = {self.value!r}"


def misspellings(word: str) -> list[str]:
    out = [word[:-1], word + "x", word.upper(), word.lower(), word.capitalize(), " " + word]
    out += [word.replace("_", ""), word.swapcase(), word[1:] + word[:1], word.split("_")[-1]]
    return [w for w in dict.fromkeys(out) if w != word]


def _number_edges(t: TNum) -> list:
    out: list = []
    for bound in (t.gt, t.ge, t.lt, t.le):
        if bound is None:
            continue
        out += [bound, bound - 1, bound + 1]
        out += [bound - 1e-9, bound + 1e-9] if t.kind is float else [bound + 0.5]
        out += [float(bound)]  # integral float: an integer for JSON Schema
    out += [1.5, -(10**20), 10**20] if t.kind is int else [1e300, -1e300]
    return list(dict.fromkeys(out))


def _value_mutations(t: Any, value: Any, lean: bool) -> list:
    """Replacement values for a site of type `t` holding `value`."""
    out = list(LEAN_JUNK if lean else JUNK)
    if isinstance(t, TNum):
        out += _number_edges(t)
    elif isinstance(t, TStr):
        out += ["1a", "a-b", "a b", "a:1", "é", "a\n"]
        out += [] if lean else ["a.b", "a:b", "_", "9", "A"]
        if isinstance(value, str) and not lean:
            out += [value + "!", value + "\n"]
    elif isinstance(t, TLit):
        for v in t.values[:1] if lean else t.values:
            out += misspellings(v) if isinstance(v, str) else [v + 1, v - 1, str(v), float(v)]
    elif isinstance(t, TVocab):
        names = t.registry.all_names()
        if isinstance(value, str):
            spelt = misspellings(value)
            out += (spelt[:3] if lean else spelt) + [{"type": value}, {"type": value, "x": 1}]
        aliases = list(t.registry.aliases())
        out += [{"type": aliases[0]}] if aliases else []
        out += [{"type": names[0].upper()}, {"type": "nope"}, {"type": None}]
    elif isinstance(t, TList):
        out += [[[]], [-1], [0], [1.5], ["1a"], [True]]
        out += [] if lean else [[{}], [None, None]]
        if isinstance(value, list) and value:
            out += [value + value[-1:], value[:-1], [*value, "x"]]
    elif isinstance(t, TDict):
        first = next(iter(value.values()), {}) if isinstance(value, dict) else {}
        out += [{k: first} for k in ("1a", "a-b", "", "a b", "ok")]
        out += [{"ok": j} for j in (None, 1, "x", [], {})]
        out += [{}] if t.min_len else []
    return out


def _model_mutations(t: TModel, path: tuple, value: Any, lean: bool) -> list[Op]:
    if not isinstance(value, dict):
        return []
    ops = [Op("del", (*path, k)) for k in value]
    known = [key for key, _, _ in fields(t.cls)]
    near = [k[:-1] for k in known if len(k) > 2] + [k + "s" for k in known]
    for key in (*UNKNOWN_KEYS, *(near[:2] if lean else near)):
        if key not in value:
            ops.append(Op("add", path, value=1, key=key))
            ops += [] if lean else [Op("add", path, value=None, key=key)]
    if t.union:
        names = t.registry.all_names() if t.registry is not None else []
        current = value.get("type")
        others = [c.model_fields["type"].default for c in t.union]
        choices = [*others, *names, *(misspellings(current) if isinstance(current, str) else [])]
        if lean:
            near_types = misspellings(current)[:3] if isinstance(current, str) else []
            choices = [*others[:2], *names[-2:], *near_types]
        ops += [Op("set", (*path, "type"), name) for name in dict.fromkeys(choices)]
    return ops


def mutations(site: Site, data: Any, lean: bool = False) -> list[Op]:
    """Every one-field change of `data` at `site` (`lean`: fewer junk values and keys)."""
    value = at_path(data, site.path)
    ops = [Op("set", site.path, v) for v in _value_mutations(site.type, value, lean)]
    if isinstance(site.type, TModel):
        ops += _model_mutations(site.type, site.path, value, lean)
    return ops


@st.composite
def mutated_specs(draw) -> tuple[dict, Op]:
    """A valid spec with one change (which may or may not leave it valid): a value replaced,
    a key removed, or a key added (each as likely), at a site drawn among objects or values."""
    data, sites = draw(valid_specs())
    objects = [s for s in sites if isinstance(s.type, TModel)]
    site = draw(st.sampled_from(objects if objects and draw(st.booleans()) else sites))
    ops = mutations(site, data)
    kinds = sorted({op.kind for op in ops})
    kind = draw(st.sampled_from(kinds))
    op = draw(st.sampled_from([op for op in ops if op.kind == kind]))
    return op.apply(data), op
