"""The vocabularies (initializers, regularizers, constraints, activations) against their formulas
and against Keras 3 itself (torch backend, set by conftest.py) as the oracle.

Every test is parametrised over the registries, so a newly registered entry is covered (or, where
a formula must be written down, fails with a message saying what to add).
"""

from __future__ import annotations

import functools
import inspect
import itertools
import math
import re

import keras
import numpy as np
import pytest
import torch
from keras.src import activations as k_activations
from keras.src import constraints as k_constraints
from keras.src import initializers as k_initializers
from keras.src import regularizers as k_regularizers
from keras.src.initializers.random_initializers import compute_fans as k_compute_fans
from pydantic import BaseModel, ValidationError

from netspec.registry import UnknownName
from netspec.vocab import (
    ACTIVATIONS,
    CONSTRAINTS,
    INITIALIZERS,
    REGULARIZERS,
    ActivationField,
    ConstraintField,
    InitializerField,
    RegularizerField,
)
from netspec.vocab.initializers import TRUNCATION_CORRECTION, compute_fans

# Keras names netspec leaves out on purpose: abstract base classes, and the STFT initializer
# (signal-processing kernels, not a general-purpose weight initializer).
KERAS_OMITTED = {
    "STFT",
    "STFTInitializer",
    "stft",
    "Initializer",
    "initializer",
    "Regularizer",
    "regularizer",
    "Constraint",
    "constraint",
}
# Names netspec accepts that Keras 3 does not: Keras 2's `l1_l2` string.
NETSPEC_EXTRA = {"l1_l2"}
# Keras arguments netspec does not take (yet): VarianceScaling's explicit fan axes (Keras 3.15).
KERAS_ARGS_OMITTED = {"input_axes", "output_axes"}

VOCABS = {
    "initializer": (INITIALIZERS, k_initializers, InitializerField),
    "regularizer": (REGULARIZERS, k_regularizers, RegularizerField),
    "constraint": (CONSTRAINTS, k_constraints, ConstraintField),
    "activation": (ACTIVATIONS, k_activations, ActivationField),
}


def keras_names(module) -> list[str]:
    return sorted(set(module.ALL_OBJECTS_DICT) - KERAS_OMITTED)


def tt(t) -> torch.Tensor:
    """A Keras result (torch tensor or Keras variable) as a plain CPU torch tensor."""
    value = getattr(t, "value", t)
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    return torch.as_tensor(keras.ops.convert_to_numpy(value))


def np_(t) -> np.ndarray:
    return tt(t).double().numpy()


@functools.cache
def field_model(kind: str) -> type[BaseModel]:
    """A one-field pydantic model taking a vocabulary entry as a name or object."""
    return type(f"{kind}Holder", (BaseModel,), {"__annotations__": {"x": VOCABS[kind][2]}})


def parse(kind: str, value):
    return field_model(kind).model_validate({"x": value}).x


def make(registry, name: str, **kwargs):
    return registry.get(name).model_validate({"type": registry.canonical(name), **kwargs})


def to_keras(obj):
    """The Keras object (or activation function) with the same arguments as a netspec one."""
    args = obj.model_dump(exclude={"type"})
    if obj.type in k_activations.ALL_OBJECTS_DICT:
        return functools.partial(k_activations.ALL_OBJECTS_DICT[obj.type], **args)
    for module in (k_initializers, k_regularizers, k_constraints):
        if obj.type in module.ALL_OBJECTS_DICT:
            return module.ALL_OBJECTS_DICT[obj.type](**args)
    raise AssertionError(f"no Keras counterpart for {obj.type}")


def keras_params(obj) -> dict[str, inspect.Parameter]:
    """Arguments of a Keras class's constructor or of an activation function (without x)."""
    sig = inspect.signature(obj if inspect.isfunction(obj) else obj.__init__)
    return {
        n: p
        for n, p in sig.parameters.items()
        if n not in ("self", "x") and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    }


# ---------------------------------------------------------------------------------------------
# Names, aliases and arguments


@pytest.mark.parametrize(
    "kind,name", [(k, n) for k, (_, m, _f) in VOCABS.items() for n in keras_names(m)]
)
def test_every_keras_name_resolves_to_the_same_class(kind, name):
    registry, module, _ = VOCABS[kind]
    target = module.ALL_OBJECTS_DICT[name]
    expected = target.__name__ if kind != "activation" else name
    assert registry.canonical(name) == expected
    if not any(f.is_required() for f in registry.get(name).model_fields.values()):
        assert parse(kind, name).type == expected  # (threshold has no defaults)


@pytest.mark.parametrize("kind", VOCABS)
def test_every_netspec_name_is_a_keras_name(kind):
    registry, module, _ = VOCABS[kind]
    extra = set(registry.all_names()) - set(module.ALL_OBJECTS_DICT) - NETSPEC_EXTRA
    assert not extra, f"netspec {kind} names unknown to Keras: {sorted(extra)}"


def test_activation_names_equal_keras():
    assert set(ACTIVATIONS.all_names()) == set(k_activations.ALL_OBJECTS_DICT)


@pytest.mark.parametrize(
    "kind,name", [(k, n) for k, (r, _m, _f) in VOCABS.items() for n in r.names()]
)
def test_arguments_and_defaults_equal_keras(kind, name):
    """Same argument names, and the same defaults (or both required)."""
    registry, module, _ = VOCABS[kind]
    ours = {k: f for k, f in registry.get(name).model_fields.items() if k != "type"}
    theirs = keras_params(module.ALL_OBJECTS_DICT[name])
    assert set(ours) == set(theirs) - KERAS_ARGS_OMITTED
    for arg, field in ours.items():
        keras_default = theirs[arg].default
        if keras_default is inspect.Parameter.empty:
            assert field.is_required(), f"{name}.{arg} has no Keras default"
        else:
            assert not field.is_required() and field.default == keras_default, (name, arg)


@pytest.mark.parametrize(
    "kind,name",
    [(k, n) for k, (_, m, _f) in VOCABS.items() if k != "activation" for n in keras_names(m)],
)
def test_bare_name_gives_keras_config(kind, name):
    """A bare name is the object Keras's `get(name)` gives (Keras 3 defaults)."""
    _, module, _ = VOCABS[kind]
    cls = module.ALL_OBJECTS_DICT[name]
    # What `get(name)` builds (Keras 3.15's `get("constant")` itself fails: Constant.from_config
    # wants a `value`), with the constructor's defaults for what get_config leaves out (Identity).
    config = {k: p.default for k, p in keras_params(cls).items()}
    config.update(cls().get_config())
    expected = {k: v for k, v in config.items() if k not in KERAS_ARGS_OMITTED}
    ours = parse(kind, name).model_dump(exclude={"type"})
    assert ours.keys() == expected.keys()
    for key, value in ours.items():  # Keras stores regularizer factors as float32
        assert value == (
            pytest.approx(expected[key], rel=1e-6) if isinstance(value, float) else expected[key]
        ), key


def test_l1_l2_strings():
    # Keras 2's string default (Keras 3 has no `l1_l2` string), documented as a difference.
    assert parse("regularizer", "l1_l2") == REGULARIZERS.get("L1L2")(l1=0.01, l2=0.01)
    # `l1l2` is Keras 3's L1L2() with both factors 0.
    ours = parse("regularizer", "l1l2")
    assert (ours.l1, ours.l2) == (0.0, 0.0)
    assert k_regularizers.get("l1l2").get_config() == {"l1": 0.0, "l2": 0.0}
    assert "l1_l2" not in k_regularizers.ALL_OBJECTS_DICT
    assert parse("regularizer", {"type": "L1L2", "l1": 0.5}).l2 == 0.0


@pytest.mark.parametrize(
    "kind,name", [(k, n) for k, (r, _m, _f) in VOCABS.items() for n in r.names() if len(n) >= 5]
)
def test_unknown_names_say_did_you_mean(kind, name):
    registry = VOCABS[kind][0]
    typo = name[:-1] + ("x" if name[-1] != "x" else "y")
    with pytest.raises(UnknownName) as exc:
        registry.canonical(typo)
    message = str(exc.value)
    assert message.startswith(f"unknown {registry.kind} '{typo}'; did you mean ")
    suggested = re.findall(r"'([^']+)'", message.split("did you mean", 1)[1])
    assert name in {registry.canonical(s) for s in suggested}, message
    with pytest.raises(ValidationError, match="did you mean"):
        parse(kind, typo)
    with pytest.raises(ValidationError, match="did you mean"):
        parse(kind, {"type": typo})


def test_unknown_name_without_suggestion_and_alias_in_object_form():
    with pytest.raises(UnknownName) as exc:
        INITIALIZERS.canonical("qqqqqqqq")
    assert "did you mean" not in str(exc.value)
    with pytest.raises(ValidationError, match="object form takes the name 'GlorotUniform'"):
        parse("initializer", {"type": "glorot_uniform"})


# ---------------------------------------------------------------------------------------------
# Initializers

# Keras-layout shapes: Dense kernels, Conv1D and Conv2D kernels (receptive-field fans), a bias.
FAN_SHAPES = [
    (),
    (7,),
    (64, 48),
    (48, 64),
    (5, 32, 48),
    (3, 3, 16, 32),
    (3, 3, 16, 64),
    (2, 3, 3, 8, 4),
]
STAT_SHAPES = [(96, 160), (3, 3, 16, 32), (3, 3, 16, 64), (5, 32, 48), (4096,)]
# (scale, mode, distribution) of the named VarianceScaling presets, from Keras's docs.
PRESETS = {
    "GlorotNormal": (1.0, "fan_avg", "truncated_normal"),
    "GlorotUniform": (1.0, "fan_avg", "uniform"),
    "HeNormal": (2.0, "fan_in", "truncated_normal"),
    "HeUniform": (2.0, "fan_in", "uniform"),
    "LecunNormal": (1.0, "fan_in", "truncated_normal"),
    "LecunUniform": (1.0, "fan_in", "uniform"),
}
INIT_VARIANTS = {
    "Constant": [{"value": 2.5}, {"value": -0.75}],
    "RandomNormal": [{"mean": 1.0, "stddev": 2.0}],
    "RandomUniform": [{"minval": -1.0, "maxval": 3.0}],
    "TruncatedNormal": [{"mean": 0.5, "stddev": 0.3}],
    "VarianceScaling": [
        {"scale": s, "mode": m, "distribution": d}
        for s, m, d in itertools.product(
            (2.5,),
            ("fan_in", "fan_out", "fan_avg"),
            ("truncated_normal", "untruncated_normal", "uniform"),
        )
    ]
    + [{"scale": 0.5, "distribution": "normal"}],
    "Orthogonal": [{"gain": 2.0}],
    "Identity": [{"gain": 3.0}],
}
INIT_CASES = [(n, {}) for n in INITIALIZERS.names()] + [
    (n, kw) for n, variants in INIT_VARIANTS.items() for kw in variants
]


def _case_id(case) -> str:
    name, kw = case
    return name + ("" if not kw else "-" + ",".join(f"{k}={v}" for k, v in kw.items()))


def scaling_params(init) -> tuple[float, str, str] | None:
    if init.type in PRESETS:
        return PRESETS[init.type]
    if init.type == "VarianceScaling":
        return init.scale, init.mode, init.distribution
    return None


def expected_init(init, shape):
    """What the formula says: ('exact', tensor) or ('stats', mean, std, lo, hi)."""
    t = init.type
    if t in ("Zeros", "Ones", "Constant"):
        value = {"Zeros": 0.0, "Ones": 1.0}.get(t, getattr(init, "value", None))
        return "exact", torch.full(shape, value)
    if t == "Identity":
        return "exact", init.gain * torch.eye(*shape)
    if t == "RandomNormal":
        return "stats", init.mean, init.stddev, None, None
    if t == "RandomUniform":
        return (
            "stats",
            (init.minval + init.maxval) / 2,
            (init.maxval - init.minval) / 12**0.5,
            init.minval,
            init.maxval,
        )
    if t == "TruncatedNormal":
        s = init.stddev
        return "stats", init.mean, s * TRUNCATION_CORRECTION, init.mean - 2 * s, init.mean + 2 * s
    if t == "Orthogonal":
        rows, cols = math.prod(shape[:-1]), shape[-1]
        return "stats", 0.0, init.gain / max(rows, cols) ** 0.5, None, None
    params = scaling_params(init)
    if params is not None:
        scale, mode, distribution = params
        fan_in, fan_out = k_compute_fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
        std = math.sqrt(scale / max(1.0, fan))
        if distribution == "uniform":
            return "stats", 0.0, std, -std * 3**0.5, std * 3**0.5
        if distribution == "untruncated_normal":
            return "stats", 0.0, std, None, None
        limit = 2 * std / TRUNCATION_CORRECTION
        return "stats", 0.0, std, -limit, limit
    raise AssertionError(f"no formula for initializer {t}: add it to expected_init")


def check_stats(x: torch.Tensor, mean, std, lo=None, hi=None, *, bounds_reached=True):
    x = x.double()
    n = x.numel()
    assert abs(x.mean().item() - mean) <= 6 * std / n**0.5 + 1e-9, (x.mean().item(), mean)
    assert x.std().item() == pytest.approx(std, rel=0.05)
    if lo is not None:
        tol = 1e-6 * max(1.0, abs(lo), abs(hi))
        assert x.min().item() >= lo - tol and x.max().item() <= hi + tol
        if bounds_reached:  # the samples fill the range
            assert x.min().item() < lo + 0.05 * (hi - lo) and x.max().item() > hi - 0.05 * (hi - lo)


def shapes_for(name: str) -> list[tuple[int, ...]]:
    if name == "Identity":
        return [(64, 64), (48, 80), (80, 48)]
    if name == "Orthogonal":
        return [s for s in STAT_SHAPES if len(s) >= 2]
    return STAT_SHAPES


def test_truncation_correction_is_the_std_of_a_2_sigma_truncated_unit_normal():
    phi2 = math.exp(-2.0) / math.sqrt(2 * math.pi)
    mass = math.erf(2 / math.sqrt(2))
    assert TRUNCATION_CORRECTION == pytest.approx(math.sqrt(1 - 4 * phi2 / mass), abs=1e-15)
    # The very constant Keras's VarianceScaling divides by (a literal in its source).
    source = inspect.getsource(k_initializers.VarianceScaling.__call__)
    literals = {float(v) for v in re.findall(r"/\s*(0\.8796\d+)", source)}
    assert literals == {TRUNCATION_CORRECTION}


@pytest.mark.parametrize("shape", FAN_SHAPES, ids=str)
def test_compute_fans_equals_keras(shape):
    assert compute_fans(shape) == tuple(float(f) for f in k_compute_fans(shape))


def test_compute_fans_receptive_field():
    assert compute_fans((3, 3, 16, 32)) == (144.0, 288.0)
    assert compute_fans((5, 32, 48)) == (160.0, 240.0)
    assert compute_fans((64, 48)) == (64.0, 48.0)


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_equal_keras_parameters(name):
    assert name in INITIALIZERS
    theirs = k_initializers.ALL_OBJECTS_DICT[name]()
    assert (theirs.scale, theirs.mode, theirs.distribution) == PRESETS[name]
    assert INITIALIZERS.get(name)()._params() == PRESETS[name]


def test_every_initializer_has_a_formula():
    for name in INITIALIZERS.names():
        expected_init(make(INITIALIZERS, name), (48, 80))  # raises for an entry without one


def is_uniform(init) -> bool:
    params = scaling_params(init)
    return init.type == "RandomUniform" or (params is not None and params[2] == "uniform")


@pytest.mark.parametrize("case", INIT_CASES, ids=_case_id)
def test_initializer_matches_formula(case):
    name, kwargs = case
    seeded = "seed" in INITIALIZERS.get(name).model_fields
    init = make(INITIALIZERS, name, **kwargs, **({"seed": 11} if seeded else {}))
    for shape in shapes_for(name):
        x = init.sample(shape)
        assert x.dtype == torch.float32 and tuple(x.shape) == shape
        expected = expected_init(init, shape)
        if expected[0] == "exact":
            torch.testing.assert_close(x, expected[1], rtol=0, atol=0)
        else:
            check_stats(x, *expected[1:])


@pytest.mark.parametrize("case", INIT_CASES, ids=_case_id)
def test_initializer_matches_keras(case):
    """Sample statistics equal those of Keras's own initializer on the same shape."""
    name, kwargs = case
    init = make(INITIALIZERS, name, **kwargs)
    keras_cls = k_initializers.ALL_OBJECTS_DICT[name]
    seeded = "seed" in keras_params(keras_cls)
    theirs = keras_cls(**kwargs, **({"seed": 5} if seeded else {}))
    for shape in shapes_for(name):
        ours = init.sample(shape, torch.Generator().manual_seed(3))
        ref = tt(theirs(shape, dtype="float32"))
        assert tuple(ref.shape) == tuple(ours.shape)
        if not seeded:  # deterministic initializers: the same values
            torch.testing.assert_close(ours, ref, rtol=0, atol=0)
            continue
        std = ref.double().std().item()
        n = ref.numel()
        assert abs(ours.double().mean() - ref.double().mean()).item() <= 8 * std / n**0.5 + 1e-9
        assert ours.double().std().item() == pytest.approx(std, rel=0.06)
        if is_uniform(init):
            # Uniform ranges: the same bounds. (Keras's torch truncated normal keeps the first of
            # 4 draws within 2 stddev, or the first draw when none is: rarely, a value beyond, so
            # truncated bounds are checked against the formula only, in the test above.)
            assert ours.min().item() == pytest.approx(ref.min().item(), abs=0.05 * std * 3.5)
            assert ours.max().item() == pytest.approx(ref.max().item(), abs=0.05 * std * 3.5)


@pytest.mark.parametrize("shape", [(64, 16), (16, 64), (40, 40), (3, 3, 4, 8), (2, 3, 64)], ids=str)
@pytest.mark.parametrize("gain", [1.0, 1.5])
def test_orthogonal_is_orthogonal(shape, gain):
    q = INITIALIZERS.get("Orthogonal")(gain=gain, seed=2).sample(shape)
    flat = q.reshape(-1, shape[-1]).double()
    rows, cols = flat.shape
    gram = flat.T @ flat if rows >= cols else flat @ flat.T
    torch.testing.assert_close(
        gram, gain**2 * torch.eye(min(rows, cols), dtype=torch.double), atol=1e-5, rtol=0
    )
    theirs = tt(k_initializers.Orthogonal(gain=gain, seed=2)(shape)).reshape(-1, shape[-1])
    theirs = theirs.double()
    gram_k = theirs.T @ theirs if rows >= cols else theirs @ theirs.T
    torch.testing.assert_close(gram, gram_k, atol=1e-5, rtol=0)


def test_orthogonal_sign_fix():
    """Q's columns times sign(diag(R)) (Haar-distributed, as Keras): its diagonal is positive as
    often as negative; without the fix LAPACK's convention makes it nearly always negative."""
    shape = (256, 64)
    for seed in (0, 1, 2):
        ours = INITIALIZERS.get("Orthogonal")(seed=seed).sample(shape)
        theirs = tt(k_initializers.Orthogonal(seed=seed)(shape))
        for q in (ours, theirs):
            assert 0.3 < (torch.diagonal(q) > 0).float().mean().item() < 0.7


def test_orthogonal_and_identity_refuse_bad_ranks():
    with pytest.raises(ValueError, match="rank >= 2"):
        INITIALIZERS.get("Orthogonal")().sample((5,))
    with pytest.raises(ValueError, match="2-D"):
        INITIALIZERS.get("Identity")().sample((3, 3, 2))


def test_identity():
    x = INITIALIZERS.get("Identity")(gain=2.0).sample((3, 5))
    assert torch.equal(x, torch.tensor([[2.0, 0, 0, 0, 0], [0, 2.0, 0, 0, 0], [0, 0, 2.0, 0, 0]]))


@pytest.mark.parametrize(
    "name", [n for n in INITIALIZERS.names() if "seed" in INITIALIZERS.get(n).model_fields]
)
def test_seeds(name):
    shape = (6, 8)
    cls = INITIALIZERS.get(name)
    a, b, c = (cls(seed=s).sample(shape) for s in (1, 1, 2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    # Unseeded: the values come from the build's generator.
    g1, g2, g3 = (torch.Generator().manual_seed(s) for s in (7, 7, 8))
    d, e, f = (cls().sample(shape, g) for g in (g1, g2, g3))
    assert torch.equal(d, e) and not torch.equal(d, f)
    # A seeded initializer ignores the generator.
    assert torch.equal(cls(seed=1).sample(shape, torch.Generator().manual_seed(9)), a)


def test_variance_scaling_normal_means_truncated():
    vs = INITIALIZERS.get("VarianceScaling")
    assert vs(distribution="normal").distribution == "truncated_normal"
    assert k_initializers.VarianceScaling(distribution="normal").distribution == "truncated_normal"


# ---------------------------------------------------------------------------------------------
# Activations

_EDGES = [
    -1e4,
    -1000.0,
    -100.0,
    -30.0,
    -3.0,
    -1.0,
    -0.5,
    0.0,
    0.5,
    1.0,
    3.0,
    30.0,
    100.0,
    1000.0,
    1e4,
]


def activation_grid(shape=(4, 6, 8)) -> torch.Tensor:
    n = math.prod(shape)
    values = torch.tensor(_EDGES + torch.linspace(-6, 6, n - len(_EDGES)).tolist())
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    return values[perm].reshape(shape)


AXES = [{"axis": a} for a in (-1, 0, 1)]
ACT_VARIANTS = {
    "relu": [
        {"negative_slope": 0.1},
        {"max_value": 6.0},
        {"max_value": 2.5},
        {"max_value": 0.0},
        {"threshold": 1.0},
        {"threshold": -1.0},
        {"negative_slope": 0.1, "max_value": 2.0},
        {"negative_slope": 0.2, "threshold": 0.5},
        {"max_value": 6.0, "threshold": 1.0},
        {"negative_slope": 0.3, "max_value": 4.0, "threshold": -0.5},
        {"negative_slope": 0.3, "max_value": 6.0},
    ],
    "leaky_relu": [{"negative_slope": 0.01}, {"negative_slope": 0.5}],
    "elu": [{"alpha": 0.5}, {"alpha": 2.0}],
    "celu": [{"alpha": 0.5}, {"alpha": 2.0}],
    "gelu": [{"approximate": True}, {"approximate": False}],
    "softmax": AXES,
    "log_softmax": AXES,
    "sparsemax": AXES,
    "glu": AXES,
    "hard_shrink": [{"threshold": 0.0}, {"threshold": 1.0}],
    "soft_shrink": [{"threshold": 0.0}, {"threshold": 1.0}],
    "squareplus": [{"b": 0.0}, {"b": 1.0}],
    "threshold": [
        {"threshold": 0.5, "default_value": -2.0},
        {"threshold": -1.0, "default_value": 0.0},
        {"threshold": 3.0, "default_value": 3.0},
    ],
}
ACT_CASES = [
    (n, {})
    for n in ACTIVATIONS.names()
    if not any(f.is_required() for f in ACTIVATIONS.get(n).model_fields.values())
] + [(n, kw) for n, variants in ACT_VARIANTS.items() for kw in variants]


def test_every_activation_is_exercised():
    assert {n for n, _ in ACT_CASES} == set(ACTIVATIONS.names())
    for name in ACTIVATIONS.names():  # every argument gets a non-default value somewhere
        args = set(ACTIVATIONS.get(name).model_fields) - {"type"}
        varied = {k for kw in ACT_VARIANTS.get(name, []) for k in kw}
        assert args <= varied, f"add variants of {sorted(args - varied)} for {name}"


@pytest.mark.parametrize("case", ACT_CASES, ids=_case_id)
def test_activation_equals_keras(case):
    name, kwargs = case
    act = parse("activation", {"type": name, **kwargs} if kwargs else name)
    x = activation_grid()
    ours = act.function()(x.clone())
    if name == "sparsemax" and KERAS_SPARSEMAX_BROKEN:
        ref = sparsemax_reference(x, act.axis)
    else:
        ref = tt(to_keras(act)(x.clone()))
    assert ours.dtype == torch.float32
    torch.testing.assert_close(ours, ref, atol=1e-6, rtol=1e-6)
    if not (name == "glu" and act.axis == 0):  # axis 0 of a layer's output is the batch
        assert tuple(ours.shape) == act.output_shape(tuple(x.shape), batch_axis=True)
    # Gradients flow (no in-place damage to the input either).
    xg = activation_grid().requires_grad_(True)
    act.function()(xg).sum().backward()
    assert torch.equal(xg.detach(), activation_grid())


def sparsemax_reference(x: torch.Tensor, axis: int) -> torch.Tensor:
    """Martins & Astudillo (2016), Algorithm 1, slice by slice in float64."""
    z = np.moveaxis(x.double().numpy(), axis, -1)
    out = np.empty_like(z)
    for index in np.ndindex(z.shape[:-1]):
        row = z[index]
        srt = np.sort(row)[::-1]
        k = max(j for j in range(1, len(srt) + 1) if 1 + j * srt[j - 1] > srt[:j].sum())
        tau = (srt[:k].sum() - 1) / k
        out[index] = np.maximum(row - tau, 0)
    return torch.as_tensor(np.moveaxis(out, -1, axis), dtype=torch.float32)


# Keras <= 3.15.1 computes sparsemax's threshold from the sum of the cumulative sums over the
# support (keras-team/keras#23425, fixed upstream by keras-team/keras#23469): its output does not
# sum to 1 when more than one logit survives. netspec follows the paper; until the installed Keras
# has the fix, the reference above is the oracle.
KERAS_SPARSEMAX_BROKEN = not np.allclose(
    np_(k_activations.sparsemax(torch.tensor([[0.0, 0.5, 1.0]]))), [[0.0, 0.25, 0.75]]
)


def test_sparsemax_is_the_simplex_projection():
    f = ACTIVATIONS.get("sparsemax")().function()
    torch.testing.assert_close(f(torch.tensor([0.0, 0.5, 1.0])), torch.tensor([0.0, 0.25, 0.75]))
    torch.testing.assert_close(
        f(torch.tensor([0.1, 0.2, 0.3, 0.4, 0.5])), torch.tensor([0.0, 0.1, 0.2, 0.3, 0.4])
    )
    torch.testing.assert_close(f(torch.tensor([1.0, 1.0])), torch.tensor([0.5, 0.5]))
    x = torch.randn(50, 7, generator=torch.Generator().manual_seed(3))
    y = f(x)
    torch.testing.assert_close(y.sum(-1), torch.ones(50))
    torch.testing.assert_close(y, sparsemax_reference(x, -1), atol=1e-6, rtol=1e-6)
    assert (y >= 0).all() and (y == 0).any()


def _relu6(x):
    return x.clamp(0.0, 6.0)


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
FORMULAS = {
    "hard_sigmoid": lambda x: _relu6(x + 3) / 6,
    "hard_silu": lambda x: x * _relu6(x + 3) / 6,
    "hard_tanh": lambda x: x.clamp(-1, 1),
    "leaky_relu": lambda x: torch.where(x >= 0, x, 0.2 * x),
    "selu": lambda x: SELU_SCALE * torch.where(x > 0, x, SELU_ALPHA * torch.expm1(x.clamp(max=0))),
    "relu6": _relu6,
    "relu": lambda x: x.clamp(min=0),
    "softsign": lambda x: x / (1 + x.abs()),
    "sparse_plus": lambda x: torch.where(x <= -1, 0.0, torch.where(x >= 1, x, (x + 1) ** 2 / 4)),
    "sparse_sigmoid": lambda x: torch.where(x <= -1, 0.0, torch.where(x >= 1, 1.0, (x + 1) / 2)),
    "squareplus": lambda x: (x + torch.sqrt(x * x + 4)) / 2,
    "soft_shrink": lambda x: torch.where(x > 0.5, x - 0.5, torch.where(x < -0.5, x + 0.5, 0.0)),
    "hard_shrink": lambda x: torch.where(x.abs() > 0.5, x, 0.0),
    "elu": lambda x: torch.where(x > 0, x, torch.expm1(x.clamp(max=0))),
    "linear": lambda x: x,
}


@pytest.mark.parametrize("name", list(FORMULAS))
def test_activation_formula(name):
    x = activation_grid().double()
    ours = ACTIVATIONS.get(name)().function()(x)
    torch.testing.assert_close(ours, FORMULAS[name](x), atol=1e-9, rtol=1e-9)


def test_activation_defaults_follow_keras_3():
    assert ACTIVATIONS.get("leaky_relu")().negative_slope == 0.2
    x = torch.tensor([-10.0, -3.0, -1.5, 0.0, 1.5, 3.0, 10.0])
    torch.testing.assert_close(
        ACTIVATIONS.get("hard_sigmoid")().function()(x),
        torch.tensor([0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 1.0]),
    )
    softmax = ACTIVATIONS.get("softmax")().function()(activation_grid())
    torch.testing.assert_close(softmax.sum(-1), torch.ones(4, 6))
    sparse = ACTIVATIONS.get("sparsemax")().function()(activation_grid())
    torch.testing.assert_close(sparse.sum(-1), torch.ones(4, 6))
    assert (sparse >= 0).all()


def test_threshold_needs_its_arguments():
    with pytest.raises(ValidationError):
        parse("activation", "threshold")


def test_glu_output_shape_halves_the_axis():
    glu = ACTIVATIONS.get("glu")
    assert glu().output_shape((6, 8)) == (6, 4)
    assert glu(axis=1).output_shape((6, 8)) == (3, 8)
    assert glu(axis=-2).output_shape((6, 8)) == (3, 8)
    assert glu(axis=2).output_shape((None, 6, 8), batch_axis=True) == (None, 6, 4)
    assert glu().output_shape((6, None)) == (6, None)
    with pytest.raises(ValueError, match="odd"):
        glu().output_shape((6, 7))
    with pytest.raises(ValueError, match="batch"):
        glu(axis=0).output_shape((6, 8))
    x = torch.randn(2, 6, 8)
    assert tuple(glu(axis=1).function()(x).shape) == (2, *glu(axis=1).output_shape((6, 8)))
    for name in ACTIVATIONS.names():
        if name not in ("glu", "threshold"):
            assert ACTIVATIONS.get(name)().output_shape((6, 7)) == (6, 7)


# ---------------------------------------------------------------------------------------------
# Regularizers

REG_VARIANTS = {
    "L1": [{"l1": 0.3}],
    "L2": [{"l2": 0.05}],
    "L1L2": [{"l1": 0.1, "l2": 0.2}, {"l1": 0.1}, {"l2": 0.2}],
    "OrthogonalRegularizer": [{"factor": 0.5, "mode": "rows"}, {"factor": 0.5, "mode": "columns"}],
}
REG_CASES = [(n, {}) for n in REGULARIZERS.names()] + [
    (n, kw) for n, variants in REG_VARIANTS.items() for kw in variants
]


def reg_formula(reg, x: np.ndarray) -> float:
    if reg.type in ("L1", "L2", "L1L2"):
        l1, l2 = getattr(reg, "l1", 0.0), getattr(reg, "l2", 0.0)
        return l1 * np.abs(x).sum() + l2 * np.square(x).sum()
    if reg.type == "OrthogonalRegularizer":
        v = x if reg.mode == "rows" else x.T
        v = v / np.linalg.norm(v, axis=1, keepdims=True)
        gram = v @ v.T
        n = gram.shape[0]
        off = np.abs(gram - np.diag(np.diag(gram))).sum()
        return reg.factor * off / (n * (n - 1))
    raise AssertionError(f"no formula for regularizer {reg.type}: add it to reg_formula")


def reg_shapes(name):
    if name == "OrthogonalRegularizer":
        return [(7, 5), (5, 7)]
    return [(7, 5), (3, 3, 4, 2), (11,)]


@pytest.mark.parametrize("case", REG_CASES, ids=_case_id)
def test_regularizer_equals_keras_and_formula(case):
    name, kwargs = case
    reg = make(REGULARIZERS, name, **kwargs)
    gen = torch.Generator().manual_seed(4)
    for shape in reg_shapes(name):
        x = torch.randn(shape, generator=gen)
        ours = reg.penalty(x)
        assert ours.shape == () and ours.dtype == torch.float32
        ref = np_(to_keras(reg)(x.clone()))
        assert ours.item() == pytest.approx(float(ref), rel=1e-5, abs=1e-7)
        assert ours.item() == pytest.approx(
            reg_formula(reg, x.double().numpy()), rel=1e-5, abs=1e-7
        )


def test_orthogonal_regularizer_orthogonal_rows_cost_nothing():
    reg = REGULARIZERS.get("OrthogonalRegularizer")(factor=1.0)
    q = INITIALIZERS.get("Orthogonal")(seed=0).sample((4, 9))  # orthonormal rows
    assert reg.penalty(q).item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="2-D"):
        reg.penalty(torch.ones(2, 2, 2))


# ---------------------------------------------------------------------------------------------
# Constraints

CON_VARIANTS = {
    "MaxNorm": [{"max_value": 0.5}, {"max_value": 1.0}],
    "MinMaxNorm": [
        {"min_value": 0.5, "max_value": 1.5, "rate": 0.5},
        {"min_value": 0.8, "max_value": 1.2, "rate": 1.0},
        {"min_value": 0.2, "max_value": 0.6, "rate": 0.25},
    ],
}
CON_CASES = [(n, {}) for n in CONSTRAINTS.names()] + [
    (n, kw) for n, variants in CON_VARIANTS.items() for kw in variants
]
CON_SHAPES_AXES = [
    ((6, 5), 0),
    ((6, 5), 1),
    ((3, 3, 4, 5), 0),
    ((3, 3, 4, 5), 1),
    ((3, 3, 4, 5), 3),
    ((3, 3, 4, 5), [0, 1, 2]),
]


def constraint_input(shape) -> torch.Tensor:
    gen = torch.Generator().manual_seed(sum(shape))
    # Norms straddling every bound used above: scale the slices differently.
    scale = torch.linspace(0.05, 1.0, shape[-1])
    return torch.randn(shape, generator=gen) * scale


@pytest.mark.parametrize("case", CON_CASES, ids=_case_id)
def test_constraint_equals_keras(case):
    name, kwargs = case
    cls = CONSTRAINTS.get(name)
    axes = CON_SHAPES_AXES if "axis" in cls.model_fields else [((6, 5), None), ((3, 3, 4, 5), None)]
    for shape, axis in axes:
        con = make(CONSTRAINTS, name, **kwargs, **({} if axis is None else {"axis": axis}))
        w = constraint_input(shape)
        ours = con.project(w.clone())
        ref = tt(to_keras(con)(w.clone()))
        torch.testing.assert_close(ours, ref, atol=1e-6, rtol=1e-6)
        # And the formula: the norms along `axis` end where they should.
        if axis is None:
            assert (ours >= 0).all() and torch.equal(ours, w.clamp(min=0))
            continue
        dims = axis if isinstance(axis, list) else [axis]
        before = w.double().square().sum(dims, keepdim=True).sqrt()
        after = ours.double().square().sum(dims, keepdim=True).sqrt()
        if name == "UnitNorm":
            torch.testing.assert_close(after, torch.ones_like(after), atol=1e-5, rtol=0)
        elif name == "MaxNorm":
            torch.testing.assert_close(after, before.clamp(max=con.max_value), atol=1e-5, rtol=0)
        elif name == "MinMaxNorm":
            want = con.rate * before.clamp(con.min_value, con.max_value) + (1 - con.rate) * before
            torch.testing.assert_close(after, want, atol=1e-5, rtol=0)
        else:
            raise AssertionError(f"no formula for constraint {name}: add one here")


# ---------------------------------------------------------------------------------------------
# Through a built model


def _dense_spec(**layer):
    return {"netspec": 1, "input_shape": [8], "layers": [{"type": "Dense", "units": 4, **layer}]}


SPEC_A = _dense_spec(
    kernel_regularizer={"type": "L2", "l2": 0.01},
    kernel_constraint={"type": "MaxNorm", "max_value": 0.5, "axis": 0},
    activity_regularizer="l1",
)
SPEC_B = _dense_spec(
    kernel_regularizer={"type": "OrthogonalRegularizer", "factor": 0.3},
    bias_regularizer={"type": "L1L2", "l1": 0.2, "l2": 0.1},
    bias_initializer={"type": "RandomNormal", "stddev": 1.0},
    bias_constraint="non_neg",
    activity_regularizer={"type": "L2", "l2": 0.05},
    activation="tanh",
)


def layer_spec(spec):
    import netspec

    return netspec.from_data(spec).layers[0]


def keras_twin(model):
    """A Keras Dense with the spec's arguments and netspec's weights (Keras layout)."""
    layer = layer_spec(model._spec_data)
    kw = {}
    for arg in (
        "kernel_regularizer",
        "bias_regularizer",
        "activity_regularizer",
        "kernel_constraint",
        "bias_constraint",
        "activation",
    ):
        value = getattr(layer, arg)
        if value is not None:
            kw[arg] = to_keras(value)
    dense = keras.layers.Dense(layer.units, **kw)
    dense.build((None, 8))
    dense.set_weights([info.keras_view(p).detach().numpy() for _, p, info in model.keras_weights()])
    return dense


def build(spec, seed=0):
    import netspec

    model = netspec.build(spec, seed=seed)
    model._spec_data = spec
    return model


@pytest.mark.parametrize("spec", [SPEC_A, SPEC_B], ids=["A", "B"])
def test_model_losses_equal_keras(spec):
    model = build(spec)
    dense = keras_twin(model)
    param, info = {k.split(".")[-1]: (p, i) for k, p, i in model.keras_weights()}["kernel"]
    assert tuple(param.shape) == (4, 8) and tuple(info.keras_view(param).shape) == (8, 4)

    reg_keras = sum(np_(v) for v in dense.losses)  # before any call: weight penalties only
    assert model.regularization_loss().item() == pytest.approx(float(reg_keras), rel=1e-5)

    gen = torch.Generator().manual_seed(1)
    x1, x2 = torch.randn(5, 8, generator=gen), torch.randn(3, 8, generator=gen)
    model.train()
    out = model(x1)
    torch.testing.assert_close(out, tt(dense(x1)), atol=1e-6, rtol=1e-6)
    activity_1 = float(sum(np_(v) for v in dense.losses) - reg_keras)
    assert model.activity_loss().item() == pytest.approx(activity_1, rel=1e-5)
    assert model.losses().item() == pytest.approx(activity_1 + float(reg_keras), rel=1e-5)
    # Keras divides the activity penalty by the batch size.
    act_reg = to_keras(layer_spec(spec).activity_regularizer)
    assert activity_1 == pytest.approx(float(np_(act_reg(tt(dense(x1))))) / 5, rel=1e-5)

    # An eval pass with another batch replaces the activity penalty (no stale value).
    model.eval()
    with torch.no_grad():
        model(x2)
    dense(x2)
    activity_2 = float(sum(np_(v) for v in dense.losses) - reg_keras)
    assert activity_2 != pytest.approx(activity_1)
    assert model.activity_loss().item() == pytest.approx(activity_2, rel=1e-5)


def test_model_without_penalties_has_zero_losses():
    model = build(_dense_spec())
    model(torch.randn(2, 8))
    assert model.regularization_loss().item() == 0.0 and model.activity_loss().item() == 0.0


def test_regularization_loss_has_gradients():
    model = build(SPEC_A)
    model.regularization_loss().backward()
    kernel = model.layers["dense"].kernel
    torch.testing.assert_close(kernel.grad, 0.02 * kernel.detach())


@pytest.mark.parametrize("spec", [SPEC_A, SPEC_B], ids=["A", "B"])
def test_apply_constraints_equals_keras(spec):
    model = build(spec)
    with torch.no_grad():  # weights well beyond the constraints
        for _, p, _info in model.keras_weights():
            p.copy_(torch.randn(p.shape, generator=torch.Generator().manual_seed(2)) * 2)
    dense = keras_twin(model)
    model.apply_constraints()
    got = {k.split(".")[-1]: i.keras_view(p).detach() for k, p, i in model.keras_weights()}
    for var in (dense.kernel, dense.bias):
        want = var.value if var.constraint is None else var.constraint(var.value)
        torch.testing.assert_close(got[var.name], tt(want), atol=1e-6, rtol=1e-6)
    if spec is SPEC_A:
        # axis=0 of the Keras (in, out) kernel: each unit's incoming weights, i.e. each row of
        # the torch (out, in) kernel, has norm <= 0.5.
        norms = model.layers["dense"].kernel.detach().norm(dim=1)
        assert (norms <= 0.5 + 1e-6).all() and norms.max().item() == pytest.approx(0.5, abs=1e-5)


def test_build_seed_gives_same_initial_weights():
    spec = _dense_spec(
        kernel_initializer="he_normal",
        bias_initializer={"type": "RandomUniform", "minval": -1, "maxval": 1},
    )
    a, b, c = (build(spec, seed=s).state_dict() for s in (3, 3, 4))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["layers.dense.kernel"], c["layers.dense.kernel"])


def test_initializers_see_the_keras_layout():
    """He normal on a Dense kernel: fan_in is the input size (Keras (in, out) layout)."""
    spec = {
        "netspec": 1,
        "input_shape": [512],
        "layers": [{"type": "Dense", "units": 16, "kernel_initializer": "he_normal"}],
    }
    model = build(spec, seed=5)
    kernel = model.layers["dense"].kernel.detach().double()
    assert tuple(kernel.shape) == (16, 512)
    assert kernel.std().item() == pytest.approx(math.sqrt(2 / 512), rel=0.05)
    assert kernel.abs().max().item() <= 2 * math.sqrt(2 / 512) / TRUNCATION_CORRECTION + 1e-6
