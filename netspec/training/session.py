"""What the `train`, `evaluate` and `predict` commands do, below the CLI's parsing."""

from __future__ import annotations

from pathlib import Path

from ..errors import NetspecError
from ..loader import graph_of
from .data import load_data
from .overrides import load_with_overrides


def prepare(spec_path, data_path, overrides=(), device="auto"):
    """(spec, model, data): the spec with its overrides, the data checked against it, the
    model built with the train seed."""
    spec = load_with_overrides(spec_path, list(overrides))
    data = load_data(data_path, spec)
    from ..compiler import build

    seed = spec.train.seed if spec.train is not None else None
    model = build(spec, device=device, seed=seed)
    return spec, model, data


def epoch_line(epoch: int, total: int, logs: dict, rate: float) -> str:
    parts = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
    return f"Epoch {epoch + 1}/{total} - {parts} - {rate:,.0f} samples/s"


def train(spec_path, data_path, out=None, overrides=(), device="auto", echo=print):
    """Train; returns (run folder, history)."""
    from .loop import fit
    from .runs import run_dir, save_run

    spec, model, data = prepare(spec_path, data_path, overrides, device)
    path = run_dir(out, spec.name)  # refused before training if it already holds a run
    if "train" not in data:
        raise NetspecError(f"{data_path}: no training data (x/y or x_train/y_train)")
    if not data["train"].y:
        raise NetspecError(f"{data_path}: no labels (y) for the training inputs")
    epochs = spec.train.epochs if spec.train is not None else 1
    history = fit(
        model, spec, data, on_epoch=lambda e, logs, r: echo(epoch_line(e, epochs, logs, r))
    )
    path.mkdir(parents=True, exist_ok=True)
    save_run(path, model, spec, history)
    return path, history


def _split(data, split: str | None, data_path):
    if split is None:  # the test split, else val, else train
        split = next(s for s in ("test", "val", "train") if s in data)
    if split not in data:
        raise NetspecError(f"{data_path}: no {split} split (found: {', '.join(data)})")
    return data[split]


def evaluate(spec_path, weights, data_path, split=None, device="auto"):
    from .loop import evaluate as run
    from .runs import load_weights

    spec, model, data = prepare(spec_path, data_path, (), device)
    load_weights(model, weights)
    part = _split(data, split, data_path)
    if not part.y:
        raise NetspecError(f"{data_path}: no labels (y) to evaluate against")
    return run(model, spec, part)


def predict(spec_path, weights, data_path, output: Path, split=None, device="auto") -> None:
    import io

    import numpy as np

    from .data import key_names
    from .loop import predict as run
    from .runs import load_weights, write_atomic

    spec, model, data = prepare(spec_path, data_path, (), device)
    load_weights(model, weights)
    preds = run(model, spec, _split(data, split, data_path))
    names = key_names("y", [str(r) for r in graph_of(spec).outputs], "train")
    buffer = io.BytesIO()
    np.savez(buffer, **dict(zip(names, preds, strict=True)))
    write_atomic(Path(output), buffer.getvalue())
