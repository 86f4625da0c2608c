"""Keras's common optimizer arguments on every optimizer, against Keras 3 (torch backend).

`use_ema` (the averages, their overwrite every `ema_overwrite_frequency` steps and
`finalize_variable_values`), `gradient_accumulation_steps` (2 and 3, with a schedule that reads
every call), `loss_scale_factor` and `weight_decay`, each on every registered optimizer: the
same problem runs in Keras and in netspec's optimizer (test_optimizers.py's helpers) and the
weights, the averages and the step counters are compared.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch
from pydantic import ValidationError
from test_optimizers import EPSILON_BOUND, EXACT, FLOAT32, NATIVE, SHAPES, parse, problem

from netspec.training.spec.optimizers import OPTIMIZERS

STEPS = 7
HALVING = {"type": "ExponentialDecay", "initial_learning_rate": 0.25, "decay_steps": 1,
           "decay_rate": 0.5}  # fmt: skip
COMMON = [
    {"use_ema": True, "ema_momentum": 0.5},
    {"use_ema": True, "ema_momentum": 0.75, "ema_overwrite_frequency": 2},
    {"gradient_accumulation_steps": 2},
    {"gradient_accumulation_steps": 3, "learning_rate": HALVING, "use_ema": True},
    {"loss_scale_factor": 4.0},
    {"weight_decay": 0.125},
]


def keras_optimizer(spec):
    args = spec.model_dump(exclude={"type"})
    if isinstance(args["learning_rate"], dict):  # the schedules of these tests
        args["learning_rate"] = keras.optimizers.schedules.ExponentialDecay(0.25, 1, 0.5)
    return getattr(keras.optimizers, spec.type)(**args)


def run_both(spec, steps=STEPS, shapes=SHAPES, seed=0):
    """Keras's and netspec's optimizers through `steps` calls from the same start."""
    x0, grads = problem(seed, shapes)
    kopt = keras_optimizer(spec)
    variables = [keras.Variable(x.copy(), dtype="float64") for x in x0]
    params = [torch.tensor(x.copy(), dtype=torch.float64, requires_grad=True) for x in x0]
    opt = spec.make(params)
    for call in range(steps):
        gs = grads([np.asarray(keras.ops.convert_to_numpy(v)) for v in variables])
        kopt.apply_gradients(
            [
                (keras.ops.convert_to_tensor(g, dtype="float64"), v)
                for g, v in zip(gs, variables, strict=True)
            ]
        )
        for group in opt.param_groups:  # as the trainer does: the schedule at every call
            group["lr"] = spec.lr_at(call)
        for p, g in zip(params, grads([p.detach().numpy().copy() for p in params]), strict=True):
            p.grad = torch.from_numpy(g)
        opt.step()
    return kopt, variables, opt, params, x0


def numpy(values) -> list[np.ndarray]:
    return [np.asarray(keras.ops.convert_to_numpy(v)) for v in values]


def relative(ours, theirs, x0) -> float:
    moved = max(np.abs(k - x).max() for k, x in zip(theirs, x0, strict=True))
    assert moved > 0
    return max(np.abs(k - t).max() for k, t in zip(theirs, ours, strict=True)) / moved


def bound(spec) -> float:
    return max(EPSILON_BOUND.get(spec.type, EXACT), FLOAT32 if spec.type == "Nadam" else EXACT)


def shapes_of(name: str):
    return ((6,), (6,)) if name in NATIVE else SHAPES  # test_optimizers' bounds' shapes


@pytest.mark.parametrize("common", COMMON, ids=lambda c: "-".join(map(str, c)))
@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_common_arguments_as_keras(name, common):
    spec = parse({"type": name, "learning_rate": 0.125, **common})
    kopt, variables, opt, params, x0 = run_both(spec, shapes=shapes_of(name))
    ours = [p.detach().numpy() for p in params]
    diff = relative(ours, numpy(variables), x0)
    assert diff < bound(spec), diff
    assert opt.iterations == int(kopt.iterations) and opt.calls == STEPS
    if spec.use_ema:
        averages = [opt.extra[p]["average"].numpy() for p in params]
        diff = relative(averages, numpy(kopt._model_variables_moving_average), x0)
        assert diff < bound(spec), diff
        kopt.finalize_variable_values(variables)  # Keras's fit does this at its end
        opt.finalize()
        assert relative([p.detach().numpy() for p in params], numpy(variables), x0) < bound(spec)
        np.testing.assert_array_equal(params[0].detach().numpy(), averages[0])


def test_accumulation_updates_every_n_calls_with_the_mean():
    spec = parse({"type": "SGD", "learning_rate": 0.5, "gradient_accumulation_steps": 3})
    p = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = spec.make([p])
    for call, g in enumerate([[1.0, 2.0], [3.0, 4.0], [5.0, 0.0], [1.0, 1.0]]):
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        moved = call >= 2
        assert p.detach().tolist() == ([-1.5, -1.0] if moved else [0.0, 0.0])
    assert opt.calls == 4 and opt.iterations == 1  # Keras: iterations counts the updates
    assert opt.extra[p]["accumulated_gradient"].tolist() == [1.0, 1.0]


def test_scale_loss_is_keras():
    spec = parse({"type": "Adam", "loss_scale_factor": 8.0})
    loss = torch.tensor(0.75)
    assert float(spec.scale_loss(loss)) == float(keras_optimizer(spec).scale_loss(loss)) == 6.0
    assert parse("adam").scale_loss(loss) is loss


def test_finalize_without_ema_changes_nothing():
    p = torch.ones(3, requires_grad=True)
    opt = parse("adam").make([p])
    p.grad = torch.ones(3)
    opt.step()
    before = p.detach().clone()
    opt.finalize()
    assert torch.equal(p.detach(), before)


@pytest.mark.parametrize(
    "value, message",
    [
        ({"type": "Adam", "gradient_accumulation_steps": 1}, "greater than or equal to 2"),
        ({"type": "Adam", "ema_momentum": 1.5}, "less than or equal to 1"),
        ({"type": "Lion", "ema_overwrite_frequency": -1}, "greater than or equal to 0"),
        ({"type": "Lamb", "loss_scale_factor": 0}, "greater than 0"),
        ({"type": "Ftrl", "use_ema": "often"}, "valid boolean"),
    ],
)
def test_invalid_common_values_are_refused(value, message):
    with pytest.raises(ValidationError, match=message):
        parse(value)


def test_keras_checks_the_same_values():
    # the bounds above are Keras's own checks (base_optimizer.py)
    with pytest.raises(ValueError, match="gradient_accumulation_steps"):
        keras.optimizers.Adam(gradient_accumulation_steps=1)
    with pytest.raises(ValueError, match="ema_momentum"):
        keras.optimizers.Adam(use_ema=True, ema_momentum=1.5)
    with pytest.raises(ValueError, match="ema_overwrite_frequency"):
        keras.optimizers.Adam(use_ema=True, ema_overwrite_frequency=-1)
    keras.optimizers.Adam(use_ema=True, ema_overwrite_frequency=0)  # 0: never, as None


@pytest.mark.parametrize("name", [n for n in OPTIMIZERS.names() if n not in NATIVE])
def test_float32_weights_as_keras(name):
    # netspec's models are float32: the rules agree to float32 rounding (the order of a few
    # operations differs: Muon's matrix products, Schedule-free's interpolation)
    spec = parse({"type": name, "learning_rate": 0.125})
    x0, grads = problem(0, SHAPES)
    x0 = [x.astype("float32") for x in x0]
    kopt = keras_optimizer(spec)
    variables = [keras.Variable(x.copy(), dtype="float32") for x in x0]
    params = [torch.tensor(x.copy(), requires_grad=True) for x in x0]
    opt = spec.make(params)
    for _ in range(5):
        gs = [g.astype("float32") for g in grads(numpy(variables))]
        kopt.apply_gradients(
            [(keras.ops.convert_to_tensor(g), v) for g, v in zip(gs, variables, strict=True)]
        )
        for p, g in zip(params, grads([p.detach().numpy() for p in params]), strict=True):
            p.grad = torch.from_numpy(g.astype("float32"))
        opt.step()
    assert relative([p.detach().numpy() for p in params], numpy(variables), x0) < 1e-5
