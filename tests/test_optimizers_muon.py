"""Muon's choice of rule per weight (`exclude_layers`, `exclude_embeddings`, the rank) against
Keras 3: the weights' Keras paths are given to `make(params, names=...)`."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch
from test_optimizers import EXACT, parse, problem

NAMES = ["hidden_kernel", "token_embedding", "output_dense_kernel", "hidden_bias"]
SHAPES = ((4, 3), (5, 2), (3, 2), (3,))


@pytest.mark.parametrize(
    "args, muon",
    [
        ({}, {"hidden_kernel", "output_dense_kernel"}),
        ({"exclude_layers": ["output_dense"]}, {"hidden_kernel"}),
        (
            {"exclude_embeddings": False, "exclude_layers": ["^out"]},
            {"hidden_kernel", "token_embedding"},
        ),
    ],
    ids=["defaults", "exclude_layers", "embeddings-regex"],
)
def test_muon_takes_the_weights_keras_does(args, muon):
    spec = parse({"type": "Muon", "learning_rate": 0.125, **args})
    x0, grads = problem(2, SHAPES)
    kopt = keras.optimizers.Muon(learning_rate=0.125, **args)
    variables = [
        keras.Variable(x.copy(), dtype="float64", name=n) for x, n in zip(x0, NAMES, strict=True)
    ]
    assert {
        v.path for v, n in zip(variables, NAMES, strict=True) if not kopt._should_use_adamw(v)
    } == muon
    params = [torch.tensor(x.copy(), requires_grad=True) for x in x0]
    opt = spec.make(params, names=NAMES)
    by_id = {id(p): n for p, n in zip(params, NAMES, strict=True)}
    assert {by_id[id(p)] for g in opt.param_groups if g["muon"] for p in g["params"]} == muon
    for _ in range(4):
        gs = grads([np.asarray(keras.ops.convert_to_numpy(v)) for v in variables])
        kopt.apply_gradients(
            [(keras.ops.convert_to_tensor(g), v) for g, v in zip(gs, variables, strict=True)]
        )
        for p, g in zip(params, grads([p.detach().numpy().copy() for p in params]), strict=True):
            p.grad = torch.from_numpy(g)
        opt.step()
    for v, p, x in zip(variables, params, x0, strict=True):
        theirs = np.asarray(keras.ops.convert_to_numpy(v))
        assert np.abs(theirs - p.detach().numpy()).max() <= EXACT * np.abs(theirs - x).max()


def test_without_names_the_rank_decides():
    opt = parse("muon").make(
        [torch.zeros(3, 2, requires_grad=True), torch.zeros(2, requires_grad=True)]
    )
    assert [(g["muon"], len(g["params"])) for g in opt.param_groups] == [(True, 1), (False, 1)]
