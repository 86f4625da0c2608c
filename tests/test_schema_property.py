"""The JSON Schema and the pydantic models agree: what one accepts, the other accepts.

Specs are generated from the pydantic models themselves (tests/spec_strategies.py walks the
fields of the Spec model, of every registered layer class and of every vocabulary class: bounds,
patterns, enums, lengths, unions, nested layers and name-or-object fields): valid ones, and
one-field mutations of them (a value on or past a bound, a wrong type, a misspelled enum or type
name, a missing key, an unknown key, in any nested object). Each is checked with jsonschema's
Draft 2020-12 validator against `json_schema()` and with `spec_model().model_validate`, and the
two verdicts must be the same.

This compares pydantic validation only. The graph checks of `from_data` (shapes, references
between layers, cycles, duplicate names, the single-input rules) are the validator's alone, as
docs/spec-format.md says. Field validators (checks in code) are listed in UNEXPRESSED below, each
with why the schema does not say it; their errors are set aside before comparing, and the test
fails when a model gains a validator that is listed neither there nor in EXPRESSED.

Data is JSON's data model, what both an editor and the validator can see: string keys, lists,
no NaN or Infinity (YAML's .nan / .inf reach the validator only). JSON does not tell 3.0 from 3,
so the validator's verdict is taken on integral floats written as ints (`as_json_numbers`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import ValidationError as SchemaError
from pydantic import ValidationError
from spec_strategies import (
    Op,
    Site,
    TModel,
    TVocab,
    minimal,
    mutated_specs,
    mutations,
    override,
    spec_type,
    valid_specs,
)

from netspec.layers import LAYERS
from netspec.schema import json_schema
from netspec.spec import InputSpec, spec_model
from netspec.training.spec.losses import LOSSES
from netspec.training.spec.metrics import METRICS
from netspec.training.spec.optimizers import OPTIMIZERS
from netspec.training.spec.schedules import SCHEDULES
from netspec.vocab import ACTIVATIONS, CONSTRAINTS, INITIALIZERS, REGULARIZERS

spec_model()  # loads the plugin layers: they are generated and checked too
REGISTRIES = (LAYERS, ACTIVATIONS, CONSTRAINTS, INITIALIZERS, REGULARIZERS)
# the compile section's vocabularies: their validators are checked too (not swept one by one)
COMPILE_REGISTRIES = (OPTIMIZERS, LOSSES, METRICS, SCHEDULES)

# ------------------------------------------------------------------------ the schema verdict


def _ecma_pattern(validator, pattern, instance, schema):
    """`pattern` as ECMA-262 (the dialect of JSON Schema and of editors) and pydantic's Rust
    regex read it: `$` is the end of the string. Python's `re`, jsonschema's default, also lets
    `$` match before a final newline, and would accept the layer name 'dense\\n'."""
    if validator.is_type(instance, "string") and not _ecma(pattern).search(instance):
        yield SchemaError(f"{instance!r} does not match {pattern!r}")


@cache
def _ecma(pattern: str) -> re.Pattern:
    return re.compile(re.sub(r"(?<!\\)\$", r"\\Z", pattern))


# For messages: jsonschema's own Draft 2020-12 validator (with ECMA patterns).
Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"pattern": _ecma_pattern}
)


def _fast_keywords(defs: dict) -> dict:
    """`oneOf` and `anyOf` that only count matching branches (jsonschema collects every error
    of every branch, 10x slower over 70 layer types), skipping at once a `$ref` branch whose
    target's `type` keyword refuses the instance, or whose target requires a `type` key with a
    const/enum the instance's is not in: what those keywords of the target would say. Same
    verdicts; test_fast_validator_agrees_with_jsonschema checks it."""

    def refused_at_once(validator, sub: dict, instance) -> bool:
        target = defs.get(sub.get("$ref"))
        if target is None:
            return False
        kind = target.get("type")
        if isinstance(kind, str) and not validator.is_type(instance, kind):
            return True
        if not isinstance(instance, dict) or "type" not in target.get("required", ()):
            return False
        tag = target.get("properties", {}).get("type", {})
        names = [tag["const"]] if "const" in tag else tag.get("enum")
        return "type" not in instance or (names is not None and instance["type"] not in names)

    def matches(validator, instance, sub, index) -> bool:
        if refused_at_once(validator, sub, instance):
            return False
        return next(iter(validator.descend(instance, sub, schema_path=index)), None) is None

    def one_of(validator, branches, instance, schema):
        count = 0
        for index, sub in enumerate(branches):
            count += matches(validator, instance, sub, index)
            if count > 1:
                break
        if count != 1:
            yield SchemaError(f"{instance!r} is valid under {count} of the oneOf branches")

    def any_of(validator, branches, instance, schema):
        if not any(matches(validator, instance, s, i) for i, s in enumerate(branches)):
            yield SchemaError(f"{instance!r} is not valid under any of the given schemas")

    return {"oneOf": one_of, "anyOf": any_of}


@cache
def schema_validators():
    """(fast validator for verdicts, jsonschema's own for messages)."""
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    defs = {f"#/$defs/{name}": d for name, d in schema.get("$defs", {}).items()}
    fast = jsonschema.validators.extend(Validator, _fast_keywords(defs))
    return fast(schema), Validator(schema)


def schema_accepts(data) -> bool:
    return schema_validators()[0].is_valid(data)


# ---------------------------------------------------------------------- the pydantic verdict


@dataclass(frozen=True)
class Unexpressed:
    """Field validators (by qualified name) whose checks the schema does not state.

    `expressible`: False where no JSON Schema can say it (a language, a rule across fields);
    True where the schema could and does not yet, a known gap (the fix: say it in the schema,
    then drop the entry; test_each_unexpressed_check_is_still_a_difference will ask to).
    `example`: a layer entry (a metric entry with `metric`) the schema accepts and only
    these validators refuse.
    """

    validators: tuple[str, ...]
    reason: str
    expressible: bool
    example: dict
    metric: bool = False
    schedule: bool = False  # the example is a learning-rate schedule (an optimizer's)


UNEXPRESSED = (
    Unexpressed(
        ("Lambda._parse",),
        "`expression` is parsed against the expression language (netspec.expr): syntax, "
        "whitelisted functions, the names `inputs` allows; a schema only says 'a string'.",
        False,
        {"type": "Lambda", "expression": "__import__('os')"},
    ),
    Unexpressed(
        ("BaseConv._check_groups",),
        "groups must divide filters: arithmetic across two fields.",
        False,
        {"type": "Conv2D", "filters": 3, "kernel_size": 1, "groups": 2},
    ),
    Unexpressed(
        ("GroupQueryAttention._check_groups",),
        "num_key_value_heads must divide num_query_heads: arithmetic across two fields.",
        False,
        {
            "type": "GroupQueryAttention",
            "head_dim": 2,
            "num_query_heads": 3,
            "num_key_value_heads": 2,
        },
    ),
    Unexpressed(
        ("BaseConvTranspose._check_output_padding",),
        "each output_padding entry must be smaller than its stride: a rule across two fields "
        "(its length and entries >= 0 could be said, see SpatialConv._check_ints).",
        False,
        {"type": "Conv2DTranspose", "filters": 1, "kernel_size": 3, "output_padding": 1},
    ),
    Unexpressed(
        ("SpatialConv._check_ints",),
        "kernel_size, strides, dilation_rate: one int or a list of `rank` ints, each >= 1 "
        "(expressible: per-class minItems/maxItems and minimum 1; the schema says only "
        "'int or list of int'); and dilation_rate > 1 excludes strides > 1 (across fields).",
        True,
        {"type": "Conv1D", "filters": 1, "kernel_size": 0},
    ),
    Unexpressed(
        ("Spatial._one_per_axis",),
        "pool_size, strides, kernel_size, size, padding, cropping of the spatial layers: a "
        "list has exactly `rank` entries (MaxPooling2D: 2); expressible as per-class "
        "minItems/maxItems, the schema allows 1 to 3.",
        True,
        {"type": "MaxPooling2D", "pool_size": [2, 2, 2]},
    ),
    Unexpressed(
        ("Reshape._one_inferred",),
        "target_shape has at most one -1: this needs contains/maxContains, which not every "
        "editor's schema engine supports (the schema says the rest: entries >= 1 or -1).",
        False,
        {"type": "Reshape", "target_shape": [-1, 2, -1]},
    ),
    Unexpressed(
        ("ImageAugmentation._keras_factor_pair",),
        "a factor pair of RandomRotation, RandomContrast, RandomBrightness: Keras checks only "
        "factor[0] <= its upper bound and factor[1] >= its lower bound; expressible as "
        "prefixItems, which spec_strategies cannot generate (the number form's bounds are said).",
        True,
        {"type": "RandomRotation", "factor": [2, 3]},
    ),
    Unexpressed(
        ("EinsumDense._valid_equation",),
        "`equation` is parsed as Keras's einsum forms (ab,bc->ac, ...ab,bc->...ac, "
        "ab...,bc->ac...): no axis twice in an operand, every output axis in an operand, "
        "every kernel axis in the input or the output; a pattern could say the forms only.",
        False,
        {"type": "EinsumDense", "equation": "ab,bc->ad", "output_shape": 3},
    ),
    Unexpressed(
        ("EinsumDense._bias_in_output",),
        "each letter of bias_axes is an output axis of `equation`: a rule across two fields.",
        False,
        {"type": "EinsumDense", "equation": "ab,bc->ac", "output_shape": 3, "bias_axes": "b"},
    ),
    Unexpressed(
        ("Resizing._not_both",),
        "crop_to_aspect_ratio and pad_to_aspect_ratio are not both true: a rule across two fields.",
        False,
        {
            "type": "Resizing",
            "height": 2,
            "width": 2,
            "crop_to_aspect_ratio": True,
            "pad_to_aspect_ratio": True,
        },
    ),
    Unexpressed(
        ("AUC._num_labels_with_multi_label",),
        "num_labels only with multi_label: true, a rule across two fields (Keras's check).",
        False,
        {"type": "AUC", "num_labels": 2},
        metric=True,
    ),
    Unexpressed(
        ("TargetedIoU._targets_in_range",),
        "every target_class_ids entry is below num_classes: arithmetic across two fields.",
        False,
        {"type": "IoU", "num_classes": 2, "target_class_ids": [0, 2]},
        metric=True,
    ),
    Unexpressed(
        ("PiecewiseConstantDecay._check_boundaries",),
        "values has one more entry than boundaries: a length relation across two fields.",
        False,
        {"type": "PiecewiseConstantDecay", "boundaries": [0, 0], "values": [0.0, 0.0]},
        schedule=True,
    ),
)

# Validators whose effect the schema already states (no entry in UNEXPRESSED needed).
EXPRESSED = {
    # the legacy `distribution: normal` is an enum value of the schema too
    "VarianceScaling._normal_alias",
    # stateful: the schema says `const: false`
    "RecurrentArgs._not_stateful",
    # `netspec: true`: the schema's `const: 1` is not true either
    "Spec._not_a_bool",
    # `implementation: true`: nor is it the schema's `const: 1`
    "_LocallyConnected._not_a_bool",
    # target_shape entries: the schema says >= 1 or -1
    "Reshape._check_entries",
    # one clip option: the schema's if/then makes the others null
    "Optimizer._one_clip",
}


def _validators(cls) -> dict[str, tuple[str, ...]]:
    """Qualified names of a model's field validators, with the fields each checks."""
    decorators = cls.__pydantic_decorators__
    return {d.func.__qualname__: d.info.fields for d in decorators.field_validators.values()} | {
        d.func.__qualname__: ("*",) for d in decorators.model_validators.values()
    }


@cache
def _validator_codes() -> dict:
    """The code object of every validator of every model, to its qualified name."""
    registries = (*REGISTRIES, *COMPILE_REGISTRIES)
    classes = [cls for registry in registries for _, cls in registry.items()]
    codes = {}
    for cls in (*classes, spec_model(), InputSpec):
        decorators = cls.__pydantic_decorators__
        for d in (*decorators.field_validators.values(), *decorators.model_validators.values()):
            func = getattr(d.func, "__func__", d.func)
            codes[func.__code__] = d.func.__qualname__
    return codes


def raised_by(err: dict) -> str | None:
    """The validator (qualified name) that raised a pydantic error, from its traceback."""
    tb = getattr((err.get("ctx") or {}).get("error"), "__traceback__", None)
    while tb is not None:
        name = _validator_codes().get(tb.tb_frame.f_code)
        if name is not None:
            return name
        tb = tb.tb_next
    return None


@cache
def _unexpressed_names() -> frozenset[str]:
    return frozenset(name for u in UNEXPRESSED for name in u.validators)


def as_json_numbers(data):
    """The data with integral floats written as ints. JSON does not tell 3.0 from 3 (nor do
    editors, nor jsonschema: 3.0 is an integer for it), so no schema can refuse `units: 3.0`;
    the validator (strict) does. The pydantic verdict compared is the one on `units: 3`."""
    if isinstance(data, float) and data.is_integer():
        return int(data)
    if isinstance(data, list):
        return [as_json_numbers(v) for v in data]
    if isinstance(data, dict):
        return {k: as_json_numbers(v) for k, v in data.items()}
    return data


def pydantic_errors(data) -> list[dict]:
    try:
        spec_model().model_validate(as_json_numbers(data))
    except ValidationError as exc:
        return exc.errors(include_url=False)
    return []


def from_validator(err: dict, names) -> bool:
    """Whether a pydantic error comes from one of these validators (qualified names)."""
    return err["type"] == "value_error" and raised_by(err) in names


def unexpressed(err: dict) -> bool:
    """Whether a pydantic error comes from a check listed in UNEXPRESSED."""
    return from_validator(err, _unexpressed_names())


def without_branch_mismatches(errors: list[dict]) -> list[dict]:
    """The errors but the type mismatches of a union's branches the value was not meant for:
    those beside an error deeper in another branch (`learning_rate: {type: ...}` is not the
    float branch's), as netspec.diagnose reports them."""

    def beside_deeper(e: dict) -> bool:
        parent = e["loc"][:-1]
        return any(
            len(o["loc"]) > len(e["loc"]) and o["loc"][: len(parent)] == parent for o in errors
        )

    return [e for e in errors if not (e["type"].endswith("_type") and beside_deeper(e))]


def verdicts(data) -> tuple[bool, bool, list[dict]]:
    """(schema accepts, pydantic accepts apart from UNEXPRESSED checks, pydantic's errors)."""
    errors = without_branch_mismatches(pydantic_errors(data))
    return schema_accepts(data), all(unexpressed(e) for e in errors), errors


def assert_agree(data, what: str = "") -> None:
    schema_ok, pydantic_ok, errors = verdicts(data)
    if schema_ok == pydantic_ok:
        return
    best = jsonschema.exceptions.best_match(schema_validators()[1].iter_errors(data))
    raise AssertionError(
        f"the schema {'accepts' if schema_ok else 'rejects'}, pydantic "
        f"{'accepts' if pydantic_ok else 'rejects'}: {what}\n"
        f"data: {json.dumps(data, default=repr)}\n"
        f"schema: {best.json_path + ': ' + best.message[:300] if best else 'valid'}\n"
        f"pydantic: {[(e['loc'], e['msg']) for e in errors]}"
    )


# ------------------------------------------------------------------------- property tests

# Lambda expressions valid whatever `inputs` says (`x0` is the first input by position).
override(
    "Lambda",
    "expression",
    st.sampled_from(["x0 * 2 + 1", "tanh(x0) * sigmoid(x0)", "x0 ** 2 - x0", "abs(x0) / 3"]),
)


def _one_per_axis_overrides() -> None:
    """Window sizes and strides of the spatial layers: an int or `rank` of them (the length is
    an UNEXPRESSED check: without this most generated convolutions would fail it)."""
    sizes = st.integers(1, 3)
    for name, cls in LAYERS.items():
        rank = getattr(cls, "rank", None)
        for validator, keys in _validators(cls).items():
            if validator not in ("Spatial._one_per_axis", "SpatialConv._check_ints"):
                continue
            for key in set(keys) & set(cls.model_fields) - {"padding", "cropping"}:
                per_axis = st.lists(sizes, min_size=rank, max_size=rank)
                override(name, key, st.one_of(sizes, per_axis) if rank else sizes)


_one_per_axis_overrides()

SETTINGS = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.slow  # generated specs (hypothesis)
@settings(SETTINGS, max_examples=100)
@given(valid_specs())
def test_generated_specs_pass_the_schema_and_pydantic(gen):
    """Values drawn from the models' types and bounds pass both, unless a validator refuses
    them (`stateful: true`, a list of the wrong length): then both must still agree."""
    data, _ = gen
    assert_agree(data, "generated")
    names = _unexpressed_names() | EXPRESSED
    errors = [
        e for e in without_branch_mismatches(pydantic_errors(data)) if not from_validator(e, names)
    ]
    assert not errors, (json.dumps(data), errors)


@pytest.mark.slow  # generated specs (hypothesis)
@settings(SETTINGS, max_examples=400)
@given(mutated_specs())
def test_one_field_mutations_get_the_same_verdict(case):
    data, op = case
    assert_agree(data, str(op))


# --------------------------------------------------------------------- deterministic sweeps

COMMON_KEYS = ("name", "inputs", "trainable", "input_shape")
# Keys holding a nested layer entry (wrappers): swept as a whole (its own arguments are swept
# where that layer type is).
NESTED_KEYS = ("layer", "backward_layer")
LAYER_TYPES = [name for name, _ in LAYERS.items()]
QUICK_LAYERS = {"Dense", "Conv2D"}  # the quick tier's sample of the sweeps; the others are slow
LAYER_CASES = [
    pytest.param(name, id=name, marks=() if name in QUICK_LAYERS else pytest.mark.slow)
    for name in LAYER_TYPES
]
LAYER_CLASSES = tuple(cls for _, cls in LAYERS.items())


def _skeleton(layer: dict) -> dict:
    return {"netspec": 1, "input_shape": [4], "layers": [layer]}


def _sweep(data: dict, sites, lean: bool = True) -> int:
    """Every mutation of every site; returns how many were checked."""
    checked = 0
    for site in sites:
        for op in mutations(site, data, lean=lean):
            assert_agree(op.apply(data), str(op))
            checked += 1
    return checked


def _full_layer(layer_type: str) -> tuple[dict, list[Site]]:
    """A layer entry with every argument, and its sites (paths from the spec's root)."""
    layer, inner = minimal(TModel(LAYERS.get(layer_type), LAYER_CLASSES, LAYERS))
    if layer_type == "Lambda":
        layer["expression"] = "x0 * 2"
    return layer, [Site(("layers", 0, *s.path), s.type) for s in inner]


@pytest.mark.parametrize("layer_type", LAYER_CASES)
def test_every_argument_of_every_layer(layer_type):
    """A layer with every argument given, each of its own arguments mutated (lean set), and
    keys removed, added, its type changed. Vocabulary objects and the keys every layer has are
    swept by the tests below."""
    layer, sites = _full_layer(layer_type)
    data = _skeleton(layer)
    assert_agree(data, "unmutated")
    listed = _unexpressed_names() | EXPRESSED
    assert all(from_validator(e, listed) for e in pydantic_errors(data)), pydantic_errors(data)
    own = [
        s
        for s in sites
        if len(s.path) == 2  # the entry itself: keys removed, added, type changed
        or s.path[2] not in COMMON_KEYS
        and not (len(s.path) > 3 and s.path[2] in NESTED_KEYS)  # inside a nested layer entry
    ]
    assert _sweep(data, own) > 10


def test_keys_every_layer_has():
    """name, inputs, trainable, input_shape (on a Dense), every mutation."""
    layer, sites = _full_layer("Dense")
    data = _skeleton(layer)
    common = [s for s in sites if len(s.path) > 2 and s.path[2] in COMMON_KEYS]
    assert _sweep(data, common, lean=False) > 100


VOCAB_FIELDS = {
    "activation": ACTIVATIONS,
    "kernel_initializer": INITIALIZERS,
    "kernel_regularizer": REGULARIZERS,
    "kernel_constraint": CONSTRAINTS,
}
# the first entry of each registry is in the quick tier, the others are slow
VOCAB_CASES = [
    pytest.param(key, name, id=name, marks=() if i == 0 else pytest.mark.slow)
    for key, reg in VOCAB_FIELDS.items()
    for i, name in enumerate(reg.names())
]


@pytest.mark.parametrize(("key", "name"), VOCAB_CASES)
def test_every_argument_of_every_vocabulary_object(key, name):
    """`{type: Name, ...every argument}` in a Dense argument, each argument mutated every way,
    and the field's name form."""
    registry = VOCAB_FIELDS[key]
    t = TModel(registry.get(name), tuple(cls for _, cls in registry.items()), registry)
    obj, inner = minimal(t)
    data = _skeleton({"type": "Dense", "units": 2, key: obj})
    prefix = ("layers", 0, key)
    sites = [Site((*prefix, *s.path), s.type) for s in inner]
    sites.append(Site(prefix, TVocab(registry, None)))
    assert not pydantic_errors(data), pydantic_errors(data)
    assert _sweep(data, sites, lean=False) > 10


@pytest.mark.slow  # every mutation of every top-level key
def test_every_top_level_key():
    """A spec with every top-level key, each mutated every way (its layer left alone)."""
    data, sites = minimal(spec_type())
    data["layers"] = [{"type": "Dense", "units": 2}]
    assert not pydantic_errors(data), pydantic_errors(data)
    top = [s for s in sites if not s.path or s.path[0] != "layers" or len(s.path) == 1]
    assert _sweep(data, top, lean=False) > 100


# ----------------------------------------------------------- the list of unexpressed checks


def test_every_validator_is_expressed_or_listed():
    """A new field or model validator must be said by the schema (then listed in EXPRESSED)
    or listed in UNEXPRESSED with its reason."""
    spec_model()
    owners: dict[str, list[str]] = {}
    for registry in (*REGISTRIES, *COMPILE_REGISTRIES):
        for name, cls in registry.items():
            for validator in _validators(cls):
                owners.setdefault(validator, []).append(name)
    for cls in (spec_model(), InputSpec):
        for validator in _validators(cls):
            owners.setdefault(validator, []).append(cls.__name__)
    unknown = {v: o for v, o in owners.items() if v not in _unexpressed_names() | EXPRESSED}
    assert not unknown, f"validators neither in UNEXPRESSED nor in EXPRESSED: {unknown}"


@pytest.mark.parametrize("entry", UNEXPRESSED, ids=[u.validators[0] for u in UNEXPRESSED])
def test_each_unexpressed_check_is_still_a_difference(entry):
    """Each entry hides a real difference: on its example the schema accepts and pydantic
    refuses by that check alone. Once the schema says it, drop the entry."""
    if entry.metric:
        data = _skeleton({"type": "Dense", "units": 2})
        data["compile"] = {"loss": "mse", "metrics": [entry.example]}
    elif entry.schedule:
        data = _skeleton({"type": "Dense", "units": 2})
        data["compile"] = {"optimizer": {"type": "SGD", "learning_rate": entry.example}}
    else:
        data = _skeleton(entry.example)
    errors = without_branch_mismatches(pydantic_errors(data))
    if entry.metric:  # a metric is a name or an object: the name branches' type errors aside
        errors = [
            e for e in errors if e["type"] not in ("literal_error", "string_type", "dict_type")
        ]
    assert errors and all(unexpressed(e) for e in errors), errors
    assert schema_accepts(data), f"the schema now refuses {entry.example}: drop the entry"


@pytest.mark.slow  # hundreds of specs through both validators
def test_fast_validator_agrees_with_jsonschema():
    layer, sites = _full_layer("Dense")
    data = _skeleton(layer)
    fast, stock = schema_validators()
    ops = [op for s in sites[:12] for op in mutations(s, data, lean=True)][::7]
    ops += [Op("set", ("layers", 0, "type"), "Dropout"), Op("del", ("layers", 0, "type"))]
    for op in ops:
        changed = op.apply(data)
        assert fast.is_valid(changed) == stock.is_valid(changed), str(op)


def test_op_descriptions_are_readable():
    assert str(Op("set", ("layers", 0, "units"), -1)) == "set ['layers'][0]['units'] = -1"
