"""EarlyStopping against Keras 3's callback, epoch by epoch: the same logs give the same stop,
the same best epoch and the same restored weights."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import torch

from netspec.training.engine.callbacks import EarlyStopping
from netspec.training.spec.sections import EarlyStoppingSpec

SEQUENCES = {
    "down_then_up": [1.0, 0.8, 0.7, 0.71, 0.69, 0.72, 0.75, 0.8, 0.9, 1.0],
    "plateau": [1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9],
    "noisy": [0.5, 0.52, 0.49, 0.5, 0.485, 0.49, 0.495, 0.48, 0.5, 0.51, 0.52, 0.53],
    "with_nan": [1.0, math.nan, 0.9, 0.95, math.nan, 0.96, 0.97, 0.98],
    # steps below float32's resolution: Keras compares in float32, so they do not improve
    "float32_ties": [1.0, 1.0 - 1e-9, 1.0 - 2e-9, 1.0 - 3e-9, 0.9, 0.9 - 1e-10, 0.9 - 2e-10],
}
CONFIGS = [
    {"monitor": "val_loss"},
    {"monitor": "val_loss", "patience": 2},
    {"monitor": "val_loss", "patience": 2, "min_delta": 0.015},
    {"monitor": "val_loss", "patience": 3, "restore_best_weights": True},
    {"monitor": "val_loss", "patience": 1, "baseline": 0.6},
    {"monitor": "val_loss", "patience": 1, "start_from_epoch": 3, "restore_best_weights": True},
    {"monitor": "val_score", "mode": "max", "patience": 2, "min_delta": 0.01},
    {"monitor": "val_score", "mode": "max", "patience": 1, "restore_best_weights": True},
    {"monitor": "absent", "mode": "min", "patience": 0},
]


def keras_run(cfg: dict, logs: list[dict]) -> tuple[int | None, float]:
    """(epoch Keras stops after, or None; the weight value left after on_train_end)."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    cb = keras.callbacks.EarlyStopping(**cfg)
    cb.set_model(model)
    cb.on_train_begin()
    stopped = None
    for epoch, entry in enumerate(logs):
        model.set_weights([np.full((1, 1), float(epoch), "float32")])
        cb.on_epoch_end(epoch, dict(entry))
        if getattr(model, "stop_training", False):
            stopped = epoch
            break
    cb.on_train_end()
    return stopped, float(model.get_weights()[0][0, 0])


def netspec_run(cfg: dict, logs: list[dict]) -> tuple[int | None, float]:
    spec = EarlyStoppingSpec(**cfg)
    model = torch.nn.Linear(1, 1, bias=False)
    up = spec.mode == "max"
    stopper = EarlyStopping(spec, up, model)
    stopped = None
    for epoch, entry in enumerate(logs):
        with torch.no_grad():
            model.weight.fill_(float(epoch))
        if stopper.on_epoch_end(epoch, dict(entry)):
            stopped = epoch
            break
    stopper.on_train_end()
    return stopped, float(model.weight[0, 0])


@pytest.mark.parametrize("sequence", sorted(SEQUENCES))
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_early_stopping_matches_keras(cfg, sequence):
    values = SEQUENCES[sequence]
    sign = -1.0 if cfg.get("mode") == "max" else 1.0  # the same curve, upside down for max
    logs = [{"loss": v, "val_loss": v, "val_score": sign * v} for v in values]
    assert netspec_run(cfg, logs) == keras_run(cfg, logs)
