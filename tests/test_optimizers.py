"""Optimizers (netspec.training.spec.optimizers) against Keras 3 (torch backend) as the oracle.

The same quadratic problem runs a few steps in Keras (keras.optimizers.X on a keras.Variable) and
in netspec's torch optimizer from the same start with the same gradients, in float64, and the
difference is measured: where the update rules agree it is at rounding level; where PyTorch's rule
differs by design (epsilon placement) it is asserted under the bound README documents and printed.
"""

from __future__ import annotations

import inspect

import keras
import numpy as np
import pytest
import torch
from helpers import python_output
from pydantic import TypeAdapter, ValidationError

from netspec.training.spec.optimizers import EXCLUDED, OPTIMIZERS, OptimizerField

ADAPTER = TypeAdapter(OptimizerField)
ALIASES = {
    "sgd": "SGD",
    "adam": "Adam",
    "adamw": "AdamW",
    "rmsprop": "RMSprop",
    "adagrad": "Adagrad",
    "adadelta": "Adadelta",
    "adamax": "Adamax",
    "nadam": "Nadam",
    "lion": "Lion",
    "lamb": "Lamb",
    "adafactor": "Adafactor",
    "ftrl": "Ftrl",
    "schedulefreeadamw": "ScheduleFreeAdamW",
    "muon": "Muon",
}
# Keras arguments netspec leaves out: the name (netspec names nothing), **kwargs
UNSUPPORTED = {"name", "kwargs"}
# torch's own classes (the others are netspec's, engine/optim_rules.py and optim_muon.py)
NATIVE = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam"]

STEPS = 5
EXACT = 1e-12  # float64 rounding: the rules agree
# Keras keeps some state in float32 whatever the variables' dtype (the learning rate, Nadam's
# momentum product, part of its clipping norm, the weight decay factor): where that shows, the
# rules still agree, to float32 rounding
FLOAT32 = 1e-7
# Relative difference allowed where torch places epsilon differently (README, Differences from
# Keras): with gradients of order 1, epsilon=1e-7 moves a step by about epsilon / sqrt(v), and
# Adam's bias correction scales Keras's epsilon by up to 1/sqrt(1 - beta_2) (about 32) on step 1.
EPSILON_BOUND = {"Adam": 1e-4, "AdamW": 1e-4, "RMSprop": 1e-4, "Adagrad": 1e-6, "Adamax": 1e-8}


def parse(value):
    return ADAPTER.validate_python(value)


def problem(seed: int = 0, shapes=((6,), (6,))):
    """Starting points and a gradient function of a quadratic: g_i = a_i * x_i - b_i."""
    rng = np.random.default_rng(seed)
    x0 = [rng.normal(size=shape) for shape in shapes]
    a = [rng.uniform(0.5, 3.0, size=shape) for shape in shapes]
    b = [rng.normal(size=shape) for shape in shapes]

    def grads(xs):
        return [ai * x - bi for ai, x, bi in zip(a, xs, b, strict=True)]

    return x0, grads


def run_keras(spec, x0, grads, steps=STEPS):
    args = spec.model_dump(exclude={"type"})
    opt = getattr(keras.optimizers, spec.type)(**args)
    variables = [keras.Variable(x.copy(), dtype="float64") for x in x0]
    for _ in range(steps):
        gs = grads([np.asarray(keras.ops.convert_to_numpy(v)) for v in variables])
        opt.apply_gradients(
            [
                (keras.ops.convert_to_tensor(g, dtype="float64"), v)
                for g, v in zip(gs, variables, strict=True)
            ]
        )
    return [np.asarray(keras.ops.convert_to_numpy(v)) for v in variables]


def run_torch(spec, x0, grads, steps=STEPS):
    params = [torch.tensor(x.copy(), dtype=torch.float64, requires_grad=True) for x in x0]
    opt = spec.make(params)
    for _ in range(steps):
        gs = grads([p.detach().numpy().copy() for p in params])
        for p, g in zip(params, gs, strict=True):
            p.grad = torch.from_numpy(g)
        spec.clip(params)
        opt.step()
    return [p.detach().numpy() for p in params]


# Keras keeps the learning rate in a float32 variable, so the cases use float32-exact rates
# (powers of 2) to compare the rules in float64.


def relative_difference(spec, seed=0, steps=STEPS, shapes=((6,), (6,))) -> float:
    """max |x_keras - x_torch| / max |x_keras - x0| after `steps` steps."""
    x0, grads = problem(seed, shapes)
    xk = run_keras(spec, x0, grads, steps)
    xt = run_torch(spec, x0, grads, steps)
    moved = max(np.abs(k - x).max() for k, x in zip(xk, x0, strict=True))
    assert moved > 0
    return max(np.abs(k - t).max() for k, t in zip(xk, xt, strict=True)) / moved


CASES = [
    {"type": "SGD", "learning_rate": 0.125},
    {"type": "SGD", "learning_rate": 0.125, "momentum": 0.9},
    {"type": "SGD", "learning_rate": 0.125, "momentum": 0.9, "nesterov": True},
    {"type": "SGD", "learning_rate": 0.125, "momentum": 0.5, "weight_decay": 0.125},
    {"type": "Adam", "learning_rate": 0.125},
    {"type": "Adam", "learning_rate": 0.125, "amsgrad": True},
    {"type": "Adam", "learning_rate": 0.125, "weight_decay": 0.0625},
    {"type": "AdamW", "learning_rate": 0.125},
    {"type": "AdamW", "learning_rate": 0.125, "weight_decay": 0.125, "amsgrad": True},
    {"type": "RMSprop", "learning_rate": 0.015625},
    {"type": "RMSprop", "learning_rate": 0.015625, "momentum": 0.9},
    {"type": "RMSprop", "learning_rate": 0.015625, "centered": True, "rho": 0.8},
    {"type": "RMSprop", "learning_rate": 0.015625, "weight_decay": 0.125},
    {"type": "Adagrad", "learning_rate": 0.125},
    {"type": "Adagrad", "learning_rate": 0.125, "initial_accumulator_value": 0.0},
    {"type": "Adadelta", "learning_rate": 1.0},
    {"type": "Adadelta", "learning_rate": 1.0, "weight_decay": 0.125},
    {"type": "Adamax", "learning_rate": 0.125},
    {"type": "Adamax", "learning_rate": 0.125, "weight_decay": 0.125},
    {"type": "Nadam", "learning_rate": 0.125},
    {"type": "Nadam", "learning_rate": 0.125, "weight_decay": 0.125},
    {"type": "SGD", "learning_rate": 0.125, "clipnorm": 0.5},
    {"type": "SGD", "learning_rate": 0.125, "global_clipnorm": 0.5},
    {"type": "SGD", "learning_rate": 0.125, "clipvalue": 0.25},
    {"type": "Adam", "learning_rate": 0.125, "global_clipnorm": 1.0},
    {"type": "Lion", "learning_rate": 0.125},
    {"type": "Lion", "learning_rate": 0.125, "beta_1": 0.5, "weight_decay": 0.125},
    {"type": "Lamb", "learning_rate": 0.125},
    {"type": "Lamb", "learning_rate": 0.125, "weight_decay": 0.125, "epsilon": 0.0},
    {"type": "Adafactor", "learning_rate": 0.125},
    {"type": "Adafactor", "learning_rate": 0.125, "clip_threshold": 0.5, "weight_decay": 0.125},
    {"type": "Ftrl", "learning_rate": 0.125},
    {
        "type": "Ftrl",
        "learning_rate": 0.125,
        "l1_regularization_strength": 0.25,
        "l2_regularization_strength": 0.5,
        "l2_shrinkage_regularization_strength": 0.125,
        "beta": 0.5,
        "learning_rate_power": -1.0,
    },  # fmt: skip
    {"type": "ScheduleFreeAdamW", "learning_rate": 0.125},
    {"type": "ScheduleFreeAdamW", "learning_rate": 0.125, "warmup_steps": 3, "weight_decay": 0.125},
    {"type": "Muon", "learning_rate": 0.125},
    {
        "type": "Muon",
        "learning_rate": 0.125,
        "nesterov": False,
        "rms_rate": None,
        "adam_lr_ratio": 0.5,
        "weight_decay": 0.125,
        "adam_weight_decay": None,
    },  # fmt: skip
]
# weights of each rank: the rules that treat 2-D weights apart (Adafactor's factored moments,
# Muon's Newton-Schulz step) take both kinds, a tall and a wide matrix, and a vector
SHAPES = ((4, 3), (2, 5), (6,))


def case_id(case):
    return "-".join(f"{k}={v}" for k, v in case.items() if k != "type") or "defaults"


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['type']}-{case_id(c)}")
def test_same_steps_as_keras(case):
    spec = parse(case)
    shapes = ((6,), (6,)) if spec.type in NATIVE else SHAPES  # the bounds' shapes
    diff = max(relative_difference(spec, seed, shapes=shapes) for seed in range(3))
    float32 = spec.type == "Nadam" or spec.clipnorm or spec.global_clipnorm
    bound = max(EPSILON_BOUND.get(spec.type, EXACT), FLOAT32 if float32 else EXACT)
    print(f"{spec.describe()}: relative difference to Keras after {STEPS} steps {diff:.2e}")
    assert diff < bound, f"{spec.describe()}: {diff:.3e} >= {bound:.0e}"


@pytest.mark.parametrize(
    "case",
    [
        {"type": "SGD", "momentum": 0.9},
        {"type": "SGD", "momentum": 0.9, "nesterov": True},
        {"type": "RMSprop", "momentum": 0.9, "epsilon": 0.0},
    ],
    ids=case_id,
)
def test_momentum_follows_keras_while_the_learning_rate_changes(case):
    # Keras's velocity holds the learning rate, torch's buffer does not: netspec rescales the
    # buffer when the rate changes (here halved every step: float32-exact rates, as Keras
    # evaluates its schedules in float32), as the trainer sets it before every step
    rate = {"type": "ExponentialDecay", "initial_learning_rate": 0.25, "decay_steps": 1,
            "decay_rate": 0.5}  # fmt: skip
    spec = parse({**case, "learning_rate": rate})
    x0, grads = problem(0)
    schedule = keras.optimizers.schedules.ExponentialDecay(0.25, 1, 0.5)
    args = spec.model_dump(exclude={"type", "learning_rate"})
    keras_spec = type("KerasSpec", (), {"type": spec.type, "model_dump": lambda self, **_: {
        **args, "learning_rate": schedule}})()  # fmt: skip
    xk = run_keras(keras_spec, x0, grads, steps=8)
    params = [torch.tensor(x.copy(), dtype=torch.float64, requires_grad=True) for x in x0]
    opt = spec.make(params)
    for step in range(8):
        for group in opt.param_groups:
            group["lr"] = spec.lr_at(step)
        for p, g in zip(params, grads([p.detach().numpy().copy() for p in params]), strict=True):
            p.grad = torch.from_numpy(g)
        opt.step()
    moved = max(np.abs(k - x).max() for k, x in zip(xk, x0, strict=True))
    diff = max(np.abs(k - p.detach().numpy()).max() for k, p in zip(xk, params, strict=True))
    assert diff / moved < FLOAT32, diff / moved


@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSprop", "Adagrad", "Adamax"])
def test_epsilon_is_the_only_difference(name):
    """With epsilon=0 the rules agree exactly: the measured difference is epsilon's placement."""
    # AdamW's default weight_decay 0.004 is not float32-exact, which Keras rounds to
    spec = parse({"type": name, "learning_rate": 0.015625, "epsilon": 0.0, "weight_decay": 2**-7})
    assert relative_difference(spec) < EXACT


@pytest.mark.parametrize("name", sorted(ALIASES.values()))
def test_every_optimizer_matches_keras_with_its_defaults(name):
    # a new registry entry is compared with Keras here before any case is written for it
    spec = parse({"type": name, "learning_rate": 0.125})
    diff = relative_difference(spec, shapes=((6,), (6,)) if name in NATIVE else SHAPES)
    assert diff < max(EPSILON_BOUND.get(name, EXACT), FLOAT32), diff


def test_every_keras_optimizer_is_registered_or_excluded():
    classes = {
        name
        for name, obj in vars(keras.optimizers).items()
        if inspect.isclass(obj) and not name.startswith("_")
    }
    assert classes == set(OPTIMIZERS.names()) | set(EXCLUDED)
    assert not set(OPTIMIZERS.names()) & set(EXCLUDED)
    assert all(reason for reason in EXCLUDED.values())


def test_names_and_aliases_resolve():
    assert set(OPTIMIZERS.names()) == set(ALIASES.values())
    for alias, name in ALIASES.items():
        assert parse(alias).type == name
        assert parse(name).type == name
    assert parse({"type": "Adam", "learning_rate": 0.015625}).learning_rate == 0.015625


def test_unknown_names_suggest():
    with pytest.raises(ValidationError, match="unknown optimizer 'adamm'.*'adam'"):
        parse("adamm")
    with pytest.raises(ValidationError, match="takes the name 'Adam', not 'adam'"):
        parse({"type": "adam"})


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_defaults_are_keras(name):
    keras_args = {
        k: p.default
        for k, p in inspect.signature(getattr(keras.optimizers, name).__init__).parameters.items()
        if k != "self" and k not in UNSUPPORTED
    }
    ours = OPTIMIZERS.get(name).model_fields
    assert set(ours) - {"type"} == set(keras_args)
    for k, default in keras_args.items():
        assert ours[k].default == default, k


@pytest.mark.parametrize(
    "value, message",
    [
        ({"type": "SGD", "learning_rate": 0}, "learning_rate.*greater than 0"),
        ({"type": "Adam", "learning_rate": -0.1}, "learning_rate.*greater than 0"),
        ({"type": "SGD", "momentum": 1.5}, "momentum.*less than or equal to 1"),
        ({"type": "RMSprop", "momentum": -0.1}, "momentum.*greater than or equal to 0"),
        ({"type": "Adam", "beta_1": 1.0}, "beta_1.*less than 1"),
        ({"type": "Adam", "epsilon": -1e-7}, "epsilon.*greater than or equal to 0"),
        ({"type": "AdamW", "weight_decay": -1}, "weight_decay.*greater than or equal to 0"),
        ({"type": "SGD", "clipnorm": 0}, "clipnorm.*greater than 0"),
        (
            {"type": "SGD", "clipnorm": 1.0, "clipvalue": 0.5},
            "only one of clipnorm, clipvalue and global_clipnorm can be set, "
            "got clipnorm and clipvalue",
        ),
        ({"type": "Adam", "momentum": 0.9}, "momentum.*Extra inputs are not permitted"),
        ({"type": "SGD", "nesterov": "yes"}, "nesterov.*valid boolean"),
    ],
)
def test_invalid_values_are_refused(value, message):
    with pytest.raises(ValidationError, match=f"(?s){message}"):
        parse(value)


def _clip_with_keras(spec, gs):
    opt = getattr(keras.optimizers, spec.type)(**spec.model_dump(exclude={"type"}))
    out = opt._clip_gradients([keras.ops.convert_to_tensor(g, dtype="float64") for g in gs])
    return [np.asarray(keras.ops.convert_to_numpy(g)) for g in out]


@pytest.mark.parametrize(
    "clip",
    [
        {"clipnorm": 0.5},
        {"clipnorm": 100.0},
        {"global_clipnorm": 0.5},
        {"global_clipnorm": 100.0},
        {"clipvalue": 0.25},
    ],
)
def test_clipping_is_keras(clip):
    spec = parse({"type": "SGD", **clip})
    rng = np.random.default_rng(1)
    gs = [rng.normal(size=(3, 4)), rng.normal(size=5), np.zeros(2)]
    params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in gs]
    for p, g in zip(params, gs, strict=True):
        p.grad = torch.from_numpy(g.copy())
    spec.clip(params)
    for ours, theirs in zip(params, _clip_with_keras(spec, gs), strict=True):
        # Keras's norm rounds at float32 level even for float64 gradients
        np.testing.assert_allclose(ours.grad.numpy(), theirs, rtol=FLOAT32, atol=0)


def test_no_clip_option_leaves_gradients():
    p = torch.ones(3, requires_grad=True)
    p.grad = torch.full((3,), 100.0)
    parse("sgd").clip([p])
    assert p.grad.tolist() == [100.0] * 3


def test_make_takes_param_groups_and_modules_parameters():
    model = torch.nn.Linear(3, 2)
    opt = parse({"type": "RMSprop", "weight_decay": 0.01}).make(model.parameters())
    assert isinstance(opt, torch.optim.RMSprop)
    assert opt.defaults["alpha"] == 0.9 and opt.defaults["weight_decay"] == 0
    assert opt.defaults["keras_weight_decay"] == 0.01  # Keras's decoupled decay, not torch's
    groups = [{"params": [model.weight]}, {"params": [model.bias], "lr": 0.5}]
    opt = parse("nadam").make(groups)
    assert isinstance(opt, torch.optim.NAdam) and opt.param_groups[1]["lr"] == 0.5
    model(torch.ones(1, 3)).sum().backward()
    opt.step()


@pytest.mark.parametrize("name", NATIVE)
def test_the_fastest_torch_implementation_on_cpu(name):
    # torch's default on CPU is its per-tensor loop; netspec asks for the fused kernel where
    # the class has one (Adam, AdamW, SGD, Adagrad), else the foreach one
    model = torch.nn.Linear(3, 2)
    opt = parse(name).make(model.parameters())
    args = inspect.signature(type(opt).torch_base).parameters
    expected = {"fused": True} if "fused" in args else {"foreach": True}
    assert {k: opt.defaults[k] for k in expected} == expected
    model(torch.ones(1, 3)).sum().backward()
    opt.step()


@pytest.mark.slow  # a fresh interpreter
def test_validation_does_not_import_torch():

    code = (
        "import sys; from netspec.training.spec.optimizers import OptimizerField;"
        "from pydantic import TypeAdapter; TypeAdapter(OptimizerField).validate_python('adam');"
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    python_output(code)
