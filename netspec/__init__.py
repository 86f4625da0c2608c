"""netspec: Keras-vocabulary YAML specs, validated with located errors, compiled to PyTorch.

`load(path)` validates a spec (no torch import); `build(spec_or_path, device, seed)` compiles it
into a `torch.nn.Module`.
"""

from __future__ import annotations

from .compiler import build
from .errors import Diagnostic, NetspecError, SpecError
from .loader import from_data, load, loads

__version__ = "0.1.0"
__all__ = [
    "Diagnostic",
    "NetspecError",
    "SpecError",
    "__version__",
    "build",
    "from_data",
    "load",
    "loads",
]
