"""Experiment trackers (`train.loggers`, `netspec train --logger`) as trainer callbacks.

`make_loggers(spec, ranks)` gives the callbacks of the spec's `train.loggers` (none on a rank
other than 0 of a data-parallel run: rank 0 alone writes), each checked for its package before
training starts. A spec without loggers gets an empty list: the trainer then runs without any
callback call (hooks.py). Nothing here imports torch, TensorBoard or MLflow until a logger runs.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import NetspecError

if TYPE_CHECKING:
    from ..engine.hooks import Callback

# logger type -> (the module it imports, the pip extra that installs it)
NEEDS = {"TensorBoard": ("tensorboard", "tensorboard"), "MLflow": ("mlflow", "mlflow")}


def require(kind: str) -> None:
    """A clear error, before training, when a logger's package is not installed."""
    if kind not in NEEDS:
        return
    module, extra = NEEDS[kind]
    if importlib.util.find_spec(module) is None:
        raise NetspecError(
            f"train.loggers: {kind} needs the {module} package: pip install 'netspec[{extra}]'"
        )


def make_loggers(spec, ranks=None) -> list[Callback]:
    """The callbacks of `spec.train.loggers` (empty without loggers, and on a rank other
    than 0)."""
    train = spec.train
    entries = train.loggers if train is not None else []
    if not entries or (ranks is not None and not ranks.main):
        return []
    for entry in entries:
        require(entry.type)
    return [_callback(entry) for entry in entries]


def _callback(entry) -> Callback:
    if entry.type == "TensorBoard":
        from .tensorboard import tensorboard_logger

        return tensorboard_logger(entry)
    if entry.type == "MLflow":
        from .mlflow_logger import MLflowLogger

        return MLflowLogger(entry)
    from .csv_logger import CSVLogger

    return CSVLogger(entry)


def resolve(trainer: Any, path: str) -> Path:
    """`path` as a logger reads it: a relative path in the run folder, if the run has one."""
    given = Path(path).expanduser()
    if given.is_absolute() or trainer.run is None:
        return given
    return Path(trainer.run) / given


def logger_sets(spec_path: Path | None, names: list[str]) -> list[str]:
    """`--logger NAME` (repeatable) as a `--set train.loggers=[...]`: the spec's loggers
    (`spec_path`: the spec, or a resumed run's spec.yaml) plus those named that it lacks."""
    from ...yamlio import load_yaml, read_spec_text
    from .spec import LOGGERS

    kinds = []
    for name in names:
        if name not in LOGGERS:
            raise NetspecError(f"--logger {name}: unknown logger" + LOGGERS.hint(name))
        kinds.append(LOGGERS.canonical(name))
    data = load_yaml(read_spec_text(Path(spec_path)), str(spec_path)).data if spec_path else {}
    train = data.get("train") if isinstance(data, dict) else None
    given = train.get("loggers") if isinstance(train, dict) else None
    entries: list[Any] = list(given) if isinstance(given, list) else []
    have = {_kind(e) for e in entries}
    entries += [k for k in dict.fromkeys(kinds) if k not in have]
    import json

    return [f"train.loggers={json.dumps(entries)}"]  # JSON is YAML


def _kind(entry: Any) -> str | None:
    from .spec import LOGGERS

    name = entry.get("type") if isinstance(entry, dict) else entry
    return LOGGERS.canonical(name) if isinstance(name, str) and name in LOGGERS else None


__all__ = ["NEEDS", "logger_sets", "make_loggers", "require", "resolve"]
