"""An optimizer's state through a checkpoint: a run stopped mid-way (mid-accumulation, with
moving averages) and resumed from `state_dict()`, as netspec's checkpoint stores it (tensors
and JSON scalars), continues bit-exactly; `expected_state()` names the tensors a checkpoint of
the optimizer holds."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from test_optimizers import SHAPES, parse, problem

from netspec.training.engine.checkpoint import _optimizer_tensors, _restore_optimizer
from netspec.training.spec.optimizers import OPTIMIZERS

SETTINGS = [
    {},
    {"gradient_accumulation_steps": 3, "use_ema": True, "ema_overwrite_frequency": 2},
]


def steps(spec, opt, params, grads, calls: range) -> None:
    for call in calls:
        for group in opt.param_groups:
            group["lr"] = spec.lr_at(call)
        for p, g in zip(params, grads([p.detach().numpy().copy() for p in params]), strict=True):
            p.grad = torch.from_numpy(g).to(p.dtype)
        opt.step()


def fresh(x0) -> list[torch.Tensor]:
    # float32, as netspec's models: torch's load_state_dict casts a scalar state (NAdam's
    # mu_product, float32) to the parameter's dtype, which float64 weights would show
    return [torch.tensor(x.copy(), dtype=torch.float32, requires_grad=True) for x in x0]


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: "-".join(s) or "plain")
@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_resumed_run_continues_bit_exactly(name, settings):
    rate = {"type": "ExponentialDecay", "initial_learning_rate": 0.125, "decay_steps": 2,
            "decay_rate": 0.5}  # fmt: skip
    spec = parse({"type": name, "learning_rate": rate, **settings})
    x0, grads = problem(1, SHAPES)
    whole = fresh(x0)
    opt = spec.make(whole)
    steps(spec, opt, whole, grads, range(4))
    tensors, meta = _optimizer_tensors(opt)  # what save_checkpoint writes
    meta = json.loads(json.dumps(meta))
    resumed = [torch.tensor(p.detach().numpy().copy(), requires_grad=True) for p in whole]
    again = spec.make(resumed)
    _restore_optimizer({f"{k}": v.clone() for k, v in tensors.items()}, meta, again)
    assert again.calls == opt.calls == 4
    steps(spec, opt, whole, grads, range(4, 9))
    steps(spec, again, resumed, grads, range(4, 9))
    for a, b in zip(whole, resumed, strict=True):
        assert torch.equal(a, b)
    if spec.use_ema:
        again.finalize()
        opt.finalize()
        assert all(torch.equal(a, b) for a, b in zip(whole, resumed, strict=True))


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: "-".join(s) or "plain")
@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_expected_state_names_the_checkpoint_tensors(name, settings):
    spec = parse({"type": name, **settings})
    x0, grads = problem(0, SHAPES)
    params = fresh(x0)
    opt = spec.make(params)
    steps(spec, opt, params, grads, range(3))
    state = opt.state_dict()["state"]
    flat = [p for g in opt.param_groups for p in g["params"]]
    for index, expected in enumerate(opt.expected_state()):
        tensors = {k: v for k, v in state.get(index, {}).items() if torch.is_tensor(v)}
        assert set(tensors) == set(expected), (index, set(tensors), set(expected))
        for key, template in expected.items():
            like = flat[index] if template is None else template
            assert tensors[key].shape == like.shape and tensors[key].dtype == like.dtype, key


def test_state_dict_carries_the_averages_accumulators_and_calls():
    spec = parse({"type": "Adam", "use_ema": True, "gradient_accumulation_steps": 2})
    p = torch.zeros(3, requires_grad=True)
    opt = spec.make([p])
    p.grad = torch.ones(3)
    opt.step()
    entry = opt.state_dict()["state"][0]
    assert entry["iterations"] == 1
    assert entry["accumulated_gradient"].tolist() == [1.0, 1.0, 1.0]
    assert entry["average"].tolist() == [0.0, 0.0, 0.0]
    assert "exp_avg" not in entry  # no update yet: torch's own state is made at the first
    np.testing.assert_array_equal(p.detach().numpy(), np.zeros(3))
