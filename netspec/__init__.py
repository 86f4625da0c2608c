"""netspec: Keras-vocabulary YAML specs, validated with located errors, compiled to PyTorch.

`load(path)` validates a spec (no torch import); `build(spec_or_path, device, seed)` compiles it
into a `torch.nn.Module`.
"""

from __future__ import annotations

from .compiler import build
from .errors import Diagnostic, NetspecError, SpecError
from .loader import from_data, load, loads

__version__ = "0.1.0"


def load_run(run, device=None):
    """The model of a training run folder, built from its spec.yaml, with its final weights
    (imports torch when called)."""
    from .training.runs import load_run as _load_run

    return _load_run(run, device=device)


__all__ = [
    "Diagnostic",
    "NetspecError",
    "SpecError",
    "__version__",
    "build",
    "from_data",
    "load",
    "load_run",
    "loads",
]
