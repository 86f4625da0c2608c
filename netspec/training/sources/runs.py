"""A run folder in place of a spec and its weights (`netspec evaluate RUN`, `predict RUN`):
the run's spec.yaml with the changes its resumes recorded, its weights by --weights (best,
last or a file) and, without --data, the data it trained on (no torch import).

Default weights: best.safetensors when the run wrote one (a monitor was set: the weights Keras's
ModelCheckpoint(save_best_only=True) keeps), else weights.safetensors (the last epoch's)."""

from __future__ import annotations

from pathlib import Path

from ...errors import NetspecError

WEIGHTS_CHOICES = ("best", "last")
_FILES = {"best": "best.safetensors", "last": "weights.safetensors"}


def resolve(spec_path, weights, data_path):
    """(spec file, weights file, data, overrides) for `spec_path` (a spec file or a run
    folder), `weights` (a file, or best/last with a run folder; None: the run's default)."""
    spec_path = Path(spec_path)
    if not spec_path.is_dir():
        if weights is None or str(weights) in WEIGHTS_CHOICES:
            raise NetspecError(
                f"{spec_path}: --weights FILE is needed with a spec file (best and last name "
                "the weights of a run folder)"
            )
        if data_path is None:
            raise NetspecError("--data is required (except with a run folder)")
        return spec_path, Path(weights), data_path, []
    if not (spec_path / "spec.yaml").is_file():
        raise NetspecError(f"{spec_path}: not a run folder (no spec.yaml); give a spec file")
    from ..output.runs import read_info

    info = read_info(spec_path)
    overrides = [s for entry in info.get("resumes", []) for s in entry.get("set", [])]
    if data_path is None:
        data_path = info.get("data")
        if data_path is None:
            raise NetspecError(f"{spec_path}: the run does not record its data: pass --data")
    return spec_path / "spec.yaml", _weights(spec_path, weights), data_path, overrides


def _weights(run: Path, weights) -> Path:
    if weights is not None and str(weights) not in WEIGHTS_CHOICES:
        return Path(weights)
    choice = weights or ("best" if (run / _FILES["best"]).is_file() else "last")
    path = run / _FILES[str(choice)]
    if path.is_file():
        return path
    if choice == "best":
        raise NetspecError(
            f"{run}: no best.safetensors (the run had no monitor: train.checkpoint.monitor or "
            "early_stopping); use --weights last"
        )
    raise NetspecError(
        f"{run}: no weights.safetensors: the run has not finished (continue it with "
        f"`netspec train --resume {run}`)"
    )
