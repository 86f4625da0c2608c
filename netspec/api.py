"""Keras's model API on a netspec model: `build`, then `fit`, `evaluate` and `predict` on arrays.

    model = netspec.build("spec.yaml")
    history = netspec.fit(model, x, y, validation_data=(xv, yv), epochs=5)
    netspec.evaluate(model, xt, yt); netspec.predict(model, xt)

`build` gives the model its validated spec (`model.spec`), from which `fit` takes the compile
and train sections; its keywords (epochs, batch_size, shuffle, validation_split, class_weight)
override the train section as `--set train.KEY=VALUE` does, validated the same way. Data is a
numpy array or a torch tensor; a list (in input order) or a dict (by input name) for several
inputs, likewise for outputs and sample weights; or a torch DataLoader yielding `(x, y)` or
`(x, y, sample_weight)` batches, read once into arrays. The data is checked as `--data` is
(shapes, dtypes, label ranges, NaN) with messages naming the argument. Nothing is written unless
`run=` names a run folder (or the spec's `train.loggers` write). torch is imported when called.
"""

from __future__ import annotations

import dataclasses
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import NetspecError

if TYPE_CHECKING:
    import torch

    from .compiler import SpecSource
    from .loader import ValidSpec
    from .torch.model import NetspecModel
    from .training.engine.data import Split
    from .training.engine.hooks import Callback

# fit's keywords that set the spec's train section (Keras's fit arguments)
TRAIN_KEYWORDS = ("epochs", "batch_size", "shuffle", "validation_split", "class_weight")


def build(
    spec_or_path: SpecSource,
    device: str | torch.device | None = None,
    seed: int | None = None,
    max_memory: int | None = None,
    declared_weights: bool = True,
) -> NetspecModel:
    """`compiler.build` (a ValidSpec, a path or a dict), seeded by the spec's `train.seed` when
    `seed` is not given (as `netspec train` builds it), with the validated spec kept as
    `model.spec` for `fit`, `evaluate` and `predict`."""
    from .compiler import as_valid
    from .compiler import build as compile_model

    valid = as_valid(spec_or_path)
    if seed is None and valid.train is not None:
        seed = valid.train.seed
    model = compile_model(valid, device, seed, max_memory, declared_weights)
    model.spec = valid  # type: ignore[assignment]  # nn.Module's stub: tensors and modules
    return model


class History:
    """Keras's History: `history` (name -> one value per epoch), `epoch` (the epochs run, from
    0), `params` (epochs, steps per epoch, verbose) and `model`."""

    def __init__(self, history: dict[str, list[float]], model: Any, params: dict[str, Any]):
        self.history, self.model, self.params = history, model, params
        self.epoch = list(range(len(next(iter(history.values()), []))))

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


def fit(
    model: NetspecModel,
    x: Any = None,
    y: Any = None,
    *,
    batch_size: int | None = None,
    epochs: int | None = None,
    verbose: int | str = "auto",
    callbacks: list[Callback] | None = None,
    validation_split: float | None = None,
    validation_data: Any = None,
    shuffle: bool | None = None,
    class_weight: dict[int, float] | None = None,
    sample_weight: Any = None,
    spec: ValidSpec | None = None,
    run: str | Path | None = None,
    precision: str = "32",
    compile: bool = False,
    allow_nonfinite: bool = False,
) -> History:
    """Keras's `model.fit`: trains `model` in place as its spec's compile and train sections
    say (the keywords given override the train section); `callbacks` are `hooks.Callback`s,
    after the spec's loggers; `verbose` 0 is silent, 1 (or auto) a progress bar on a terminal,
    2 one line per epoch; `run` a new run folder written as `netspec train` writes one."""
    from .training.engine.compiled import require_loss, require_trainable

    given = {"epochs": epochs, "batch_size": batch_size, "shuffle": shuffle,
             "validation_split": validation_split, "class_weight": class_weight}  # fmt: skip
    if batch_size is None and _loader_batch_size(x) is not None:
        given["batch_size"] = _loader_batch_size(x)  # a DataLoader's batches, as Keras
    valid = with_train(spec_of(model, spec, "fit"), given, "fit")
    require_loss(valid)
    require_trainable(valid)
    data = {"train": checked(valid, x, y, sample_weight, "train", "fit", allow_nonfinite)}
    if validation_data is not None:
        xv, yv, swv = _unpack_validation(validation_data)
        data["val"] = checked(valid, xv, yv, swv, "val", "fit", allow_nonfinite)
    return _train(model, valid, data, callbacks, verbose, run,
                  {"precision": precision, "compile": compile})  # fmt: skip


def _train(model, valid, data, callbacks, verbose, run, options) -> History:
    from .training.engine.adapt import adapt_trainer
    from .training.engine.trainer import Trainer
    from .training.loggers import make_loggers

    hooks = [*make_loggers(valid), *(callbacks or [])]
    trainer = Trainer(model, valid, data, warn=_warn, callbacks=hooks, **options)
    adapt_trainer(trainer)  # Normalization layers still at their initial statistics
    level = 1 if verbose == "auto" else int(verbose)
    cfg = trainer.train_cfg
    if run is None:
        history = _run_loop(trainer, level)
    else:
        history = _in_run_folder(trainer, Path(run), level)
    params = {"epochs": cfg.epochs, "steps": -(-len(trainer.train_data) // cfg.batch_size),
              "verbose": level}  # fmt: skip
    return History(history, model, params)


def _run_loop(trainer, level: int) -> dict[str, list[float]]:
    from .training.output.progress import EpochProgress

    if level <= 0:
        return trainer.fit()
    cfg = trainer.train_cfg
    live = level == 1 and sys.stdout.isatty()
    trainer.progress = EpochProgress(cfg.epochs, len(trainer.train_data), cfg.batch_size,
                                     live=live, start_epoch=trainer.epoch)  # fmt: skip
    with trainer.progress:
        return trainer.fit()


def _in_run_folder(trainer, path: Path, level: int) -> dict[str, list[float]]:
    """The run folder as `netspec train --out` writes it (locked while training)."""
    from .training.engine.session import cannot_write, now
    from .training.output.runs import claim_new, save_run, save_spec, spec_text, write_info

    spec = trainer.spec
    folder, lock = claim_new(path, spec.name)
    try:
        trainer.run = folder
        text = spec_text(spec)
        with cannot_write(folder):
            write_info(folder, {**trainer.info, "spec": text, "started": now(), "resumes": []})
            save_spec(folder, text)
            history = _run_loop(trainer, level)
            save_run(folder, trainer.model, spec, history, None, trainer.epoch)
    finally:
        lock.release()
    return history


def evaluate(
    model: NetspecModel,
    x: Any = None,
    y: Any = None,
    *,
    batch_size: int | None = None,
    sample_weight: Any = None,
    return_dict: bool = False,
    spec: ValidSpec | None = None,
    allow_nonfinite: bool = False,
) -> float | list[float] | dict[str, float]:
    """Keras's `model.evaluate`: the loss (with the penalties) and the metrics over the data;
    the loss alone when there is nothing else, else a list in the order of `return_dict=True`'s
    dict (loss first)."""
    from .training.engine.compiled import require_loss
    from .training.engine.loop import evaluate as run

    valid = spec_of(model, spec, "evaluate")
    require_loss(valid)
    data = checked(valid, x, y, sample_weight, "train", "evaluate", allow_nonfinite)
    size = batch_size or _loader_batch_size(x)
    logs = run(model, valid, data, batch_size=size)
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def predict(
    model: NetspecModel,
    x: Any,
    *,
    batch_size: int | None = None,
    spec: ValidSpec | None = None,
    allow_nonfinite: bool = False,
) -> np.ndarray | list[np.ndarray]:
    """Keras's `model.predict`: the outputs over `x` as numpy arrays (float32), one array for
    a model with one output, else a list in output order."""
    from .training.engine.loop import predict as run

    valid = spec_of(model, spec, "predict")
    data = checked(valid, x, None, None, "train", "predict", allow_nonfinite)
    preds = run(model, valid, data, batch_size=batch_size or _loader_batch_size(x))
    return preds[0] if len(preds) == 1 else preds


def spec_of(model: Any, spec: ValidSpec | None, where: str) -> ValidSpec:
    """The model's spec (`netspec.build` keeps it), or `spec` when given."""
    found = spec if spec is not None else getattr(model, "spec", None)
    if found is None:
        raise NetspecError(
            f"{where}(): the model carries no spec: build it with netspec.build, or pass spec="
        )
    from .compiler import as_valid

    return as_valid(found)


def with_train(valid: ValidSpec, given: dict[str, Any], where: str) -> ValidSpec:
    """`valid` with the train keywords given set in its train section, validated as the spec's
    own (`fit(epochs=0)` is refused as `train.epochs: 0` would be)."""
    from pydantic import ValidationError

    from .training.spec.sections import TrainSpec

    changes = {k: v for k, v in given.items() if v is not None}
    if not changes:
        return valid
    if "class_weight" in changes:  # numpy scalars as keys or values, as Keras takes them
        try:
            changes["class_weight"] = {int(k): float(v) for k, v in changes["class_weight"].items()}
        except (AttributeError, TypeError, ValueError):
            raise NetspecError(
                f"{where}(class_weight=...): expected a dict of class index -> weight"
            ) from None
    current = valid.train if valid.train is not None else TrainSpec()
    try:
        train = TrainSpec.model_validate({**dict(current), **changes})
    except ValidationError as exc:
        first = exc.errors()[0]
        key = str(first["loc"][0]) if first["loc"] else "train"
        shown = changes.get(key, "")
        raise NetspecError(f"{where}({key}={shown!r}): {first['msg']}") from None
    return dataclasses.replace(valid, spec=valid.spec.model_copy(update={"train": train}))


def _warn(message: str) -> None:
    warnings.warn(message.removeprefix("warning: "), stacklevel=3)


def _unpack_validation(value: Any) -> tuple[Any, Any, Any]:
    """Keras's validation_data: (x, y), (x, y, sample_weight) or a DataLoader."""
    if _is_loader(value):
        return value, None, None
    if isinstance(value, (tuple, list)) and len(value) in (2, 3):
        return value[0], value[1], value[2] if len(value) == 3 else None
    raise NetspecError(
        "fit(validation_data=...): expected (x, y), (x, y, sample_weight) or a DataLoader"
    )


def checked(valid, x, y, sample_weight, split: str, where: str, allow_nonfinite: bool) -> Split:
    """One split of the data as `--data` reads it: keyed as in an .npz archive (x, y_<output>,
    sample_weight...), then checked by the same code (shapes, dtypes, lengths, values)."""
    from .training.engine.data import _checked, _split

    if x is None:
        raise NetspecError(f"{where}(): no x given")
    labels = where != "predict"
    if _is_loader(x):
        if y is not None or sample_weight is not None:  # as Keras says for a dataset
            raise NetspecError(f"{where}(): with a DataLoader as x, y comes from its batches")
        arrays = _loader_arrays(valid, x, split, labels, where)
    else:
        arrays = _keyed(valid, x, y, sample_weight, split, where)
    graph = valid.graph
    names = ([i.name for i in graph.inputs], [str(r) for r in graph.outputs])
    if labels and not any(k.startswith("y") for k in arrays):
        raise NetspecError(f"{where}(): no y given (the labels)")
    got = _split(arrays, split, *names, f"{where}()", labels)
    if got is None:  # every input key is present: _keyed wrote them
        raise NetspecError(f"{where}(): no inputs")
    return _checked(graph, valid, got, labels, allow_nonfinite, f"{where}()")


def _keyed(valid, x, y, sample_weight, split: str, where: str) -> dict[str, np.ndarray]:
    """x, y and the sample weights under the archive keys of `split` (data.key_names)."""
    from .training.engine.data import key_names

    graph = valid.graph
    inputs, outputs = [i.name for i in graph.inputs], [str(r) for r in graph.outputs]
    arrays = _by_name(x, inputs, key_names("x", inputs, split), "x", "input", where)
    if y is not None:
        arrays |= _by_name(y, outputs, key_names("y", outputs, split), "y", "output", where)
    if sample_weight is not None:
        tag = "" if split == "train" else f"_{split}"
        if len(outputs) > 1 and not isinstance(sample_weight, (dict, list, tuple)):
            arrays[f"sample_weight{tag}"] = _array(sample_weight)  # every output's
        else:
            keys = key_names("sample_weight", outputs, split)
            arrays |= _by_name(sample_weight, outputs, keys, "sample_weight", "output", where)
    return arrays


def _by_name(value, names: list[str], keys: list[str], arg: str, kind: str, where: str):
    """One array per name: `value` itself (one name), a list in order, or a dict by name."""
    if isinstance(value, dict):
        unknown = [k for k in value if k not in names]
        missing = [n for n in names if n not in value]
        if unknown or missing:
            wrong = f"has no {kind} '{unknown[0]}'" if unknown else f"lacks {kind} '{missing[0]}'"
            raise NetspecError(f"{where}(): {arg} {wrong} (the model's {kind}s: {names})")
        return {key: _array(value[n]) for key, n in zip(keys, names, strict=True)}
    several = isinstance(value, (list, tuple)) and all(_is_array(v) for v in value)
    if several and value:
        if len(value) != len(names):
            raise NetspecError(
                f"{where}(): {arg} holds {len(value)} arrays; the model has {len(names)} "
                f"{kind}s {names} (a list in that order, or a dict by name)"
            )
        return {key: _array(v) for key, v in zip(keys, value, strict=True)}
    if len(names) > 1:
        raise NetspecError(
            f"{where}(): the model has {len(names)} {kind}s {names}: pass {arg} as a list in "
            "that order or a dict by name"
        )
    return {keys[0]: _array(value)}


def _is_array(value: Any) -> bool:
    return isinstance(value, np.ndarray) or type(value).__module__.startswith("torch")


def _array(value: Any) -> np.ndarray:
    """A numpy array of `value` (a torch tensor's values on the CPU; bfloat16 as float32)."""
    if type(value).__module__.startswith("torch"):
        import torch

        if isinstance(value, torch.Tensor):
            value = value.detach().cpu()
            return (value.float() if value.dtype == torch.bfloat16 else value).numpy()
    return np.asarray(value)


def _is_loader(value: Any) -> bool:
    if "torch" not in sys.modules:
        return False
    from torch.utils.data import DataLoader

    return isinstance(value, DataLoader)


def _loader_batch_size(value: Any) -> int | None:
    return getattr(value, "batch_size", None) if _is_loader(value) else None


def _loader_arrays(valid, loader, split: str, labels: bool, where: str) -> dict[str, np.ndarray]:
    """The batches of `loader` ((x, y) or (x, y, sample_weight); x alone to predict) joined."""
    parts: dict[str, list[np.ndarray]] = {}
    for batch in loader:
        items = list(batch) if isinstance(batch, (tuple, list)) else [batch]
        if labels and len(items) not in (2, 3):
            raise NetspecError(
                f"{where}(): the DataLoader's batches hold {len(items)} items; expected "
                "(x, y) or (x, y, sample_weight)"
            )
        if not labels and len(items) in (2, 3) and not _single_input_list(valid, items):
            items = items[:1]  # predict reads the inputs of (x, y) batches
        x, y, sw = items[0], *(items[1:] + [None, None])[:2]
        for key, a in _keyed(valid, x, y if labels else None, sw, split, where).items():
            parts.setdefault(key, []).append(a)
    if not parts:
        raise NetspecError(f"{where}(): the DataLoader yields no batches")
    return {key: np.concatenate(arrays) for key, arrays in parts.items()}


def _single_input_list(valid, items: list) -> bool:
    """Whether a predict batch that is a list is the inputs of a model with several inputs."""
    return len(valid.graph.inputs) == len(items) and len(valid.graph.inputs) > 1
