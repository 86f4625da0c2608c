"""netspec: Keras-vocabulary YAML specs, validated with located errors, compiled to PyTorch.

`load(path)` validates a spec (no torch import) into a `ValidSpec` (the typed spec and its
resolved graph); `build(valid_or_path, device, seed)` compiles it into a `torch.nn.Module` that
keeps its spec (`model.spec`); `fit`, `evaluate` and `predict` are Keras's, on arrays (api.py).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    import torch

    from .api import History, build, evaluate, fit, predict
    from .errors import Diagnostic, NetspecError, SpecError
    from .loader import ValidSpec, from_data, load, loads
    from .torch.model import NetspecModel
    from .training.engine.adapt import adapt

__version__ = "0.1.0"

# The public names, imported on first use: a submodule that needs none of them (`netspec.heap`,
# which the console script imports before anything else) does not pay for pydantic's import.
_PUBLIC = {
    "adapt": "training.engine.adapt",
    "build": "api",
    "evaluate": "api",
    "fit": "api",
    "History": "api",
    "predict": "api",
    "Diagnostic": "errors",
    "NetspecError": "errors",
    "SpecError": "errors",
    "ValidSpec": "loader",
    "from_data": "loader",
    "load": "loader",
    "loads": "loader",
}


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'netspec' has no attribute '{name}'")
    value = importlib.import_module(f".{_PUBLIC[name]}", __name__).__dict__[name]
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})


def load_run(run: str | Path, device: str | torch.device | None = None) -> NetspecModel:
    """The model of a training run folder, built from its spec.yaml, with its final weights
    (imports torch when called)."""
    from .training.output.runs import load_run as _load_run

    return _load_run(run, device=device)


__all__ = [
    "Diagnostic",
    "History",
    "NetspecError",
    "SpecError",
    "ValidSpec",
    "__version__",
    "adapt",
    "build",
    "evaluate",
    "fit",
    "from_data",
    "load",
    "load_run",
    "loads",
    "predict",
]
