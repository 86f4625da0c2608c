"""What the `train`, `evaluate` and `predict` commands do, below the CLI's parsing."""

from __future__ import annotations

from pathlib import Path

from .. import heap
from ..errors import NetspecError
from ..loader import graph_of
from .data import load_data
from .overrides import load_with_overrides


class Interrupted(NetspecError):
    """Ctrl-C during training: the last checkpoint stays; exit code 130, as a shell's."""

    exit_code = 130

    def __init__(self, run: Path, epoch: int):
        super().__init__(
            f"interrupted during epoch {epoch + 1}; the run keeps its last checkpoint: continue "
            f"with `netspec train --resume {run}`"
        )


def prepare(spec_path, data_path, overrides=(), device="auto", *, labels=True):
    """(spec, model, data): the spec with its overrides, the data checked against it, the
    model built with the train seed. With `labels` (train, evaluate) the spec must have
    compile.loss (checked before the data, whose labels are checked against it); without
    (predict) the labels are left out."""
    from .compiled import require_loss

    spec = load_with_overrides(spec_path, list(overrides))
    if labels:
        require_loss(spec)
    data = load_data(data_path, spec, labels=labels)
    from ..compiler import build

    seed = spec.train.seed if spec.train is not None else None
    model = build(spec, device=device, seed=seed)
    return spec, model, data


def train(
    spec_path,
    data_path,
    out=None,
    overrides=(),
    device="auto",
    echo=print,
    *,
    resume=None,
    precision=None,
    compile=None,
    live=False,
):
    """Train (or continue the run `resume`); returns (run folder, history). `echo` gets the
    per-epoch lines and messages; `live` shows rich progress bars instead of the lines."""
    from .plot_worker import CurvesWriter
    from .runs import run_dir, save_spec

    with CurvesWriter() as curves:  # starts drawing's imports now, beside torch's
        if resume is not None:
            args = (data_path, overrides, device, echo, precision, compile)
            trainer = _resumed(Path(resume), *args)
        else:
            if data_path is None:
                raise NetspecError("--data is required (except with --resume)")
            spec, model, data = prepare(spec_path, data_path, overrides, device)
            path = run_dir(out, spec.name)  # refused before training if it holds a run
            options = {"precision": precision or "32", "compile": bool(compile)}
            trainer = _trainer(model, spec, data, path, echo, options, data_path)
        # spec.yaml first (only once the run is set up), so an interrupted run can resume
        trainer.run.mkdir(parents=True, exist_ok=True)
        save_spec(trainer.run, trainer.spec)
        return trainer.run, _fit(trainer, echo, live, curves)


def _trainer(model, spec, data, path, echo, options, data_path):
    from .trainer import Trainer

    trainer = Trainer(model, spec, data, run=path, warn=echo, **options)
    trainer.info = {"data": str(Path(data_path).resolve()), **options}
    return trainer


def _fit(trainer, echo, live, curves=None):
    from .progress import EpochProgress
    from .runs import save_run

    train = trainer.train_cfg
    progress = EpochProgress(
        train.epochs, len(trainer.train_data), train.batch_size, live=live, echo=echo,
        start_epoch=trainer.epoch,
    )  # fmt: skip
    trainer.progress = progress
    heap.settle()  # set-up done: the loop's garbage is collected (netspec.heap)
    try:
        with progress:
            history = trainer.fit()
    except KeyboardInterrupt:
        raise Interrupted(trainer.run, trainer.epoch) from None
    save_run(trainer.run, trainer.model, trainer.spec, history, curves)
    return history


def _resumed(run: Path, data_path, overrides, device, echo, precision, compile):
    """The Trainer of an interrupted (or extended) run, at its checkpoint's state: its own
    spec.yaml with `overrides`, its data unless `data_path` is given."""
    from .checkpoint import read_checkpoint

    tensors, meta = read_checkpoint(run)
    info = meta.get("info", {})
    data_path = data_path or info.get("data")
    spec, model, data = prepare(run / "spec.yaml", data_path, overrides, device)
    epochs = spec.train.epochs if spec.train is not None else 1
    if meta["finished"] and meta["epoch"] >= epochs:
        raise NetspecError(
            f"{run}: the run finished after {meta['epoch']} epochs; pass --epochs N with N "
            f"above {meta['epoch']} to train further"
        )
    options = {
        "precision": precision or info.get("precision", "32"),
        "compile": info.get("compile", False) if compile is None else compile,
    }
    trainer = _trainer(model, spec, data, run, echo, options, data_path)
    trainer.resume(tensors, meta)
    return trainer


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
    heap.settle()
    return run(model, spec, part)


def predict(spec_path, weights, data_path, output: Path, split=None, device="auto") -> None:
    import io

    import numpy as np

    from .atomic import write_atomic
    from .data import key_names
    from .loop import predict as run
    from .runs import load_weights

    output = Path(output)
    if not output.parent.is_dir():  # checked first; not created: a typo would go unnoticed
        raise NetspecError(f"{output}: no such directory: {output.parent}")
    spec, model, data = prepare(spec_path, data_path, (), device, labels=False)
    load_weights(model, weights)
    heap.settle()
    preds = run(model, spec, _split(data, split, data_path))
    names = key_names("y", [str(r) for r in graph_of(spec).outputs], "train")
    buffer = io.BytesIO()
    np.savez(buffer, **dict(zip(names, preds, strict=True)))
    try:
        write_atomic(output, buffer.getvalue())
    except OSError as exc:  # a directory of that name, no permission, disk full
        raise NetspecError(f"{output}: cannot write predictions: {exc.strerror}") from None
