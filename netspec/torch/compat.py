"""`torch.compiler.disable` without its import cost.

Decorating with `torch.compiler.disable` imports `torch._dynamo` (about a second on the CPU
machines here: more than a small training run's own work). `compiler_disable` defers that until
dynamo is loaded anyway, which `torch.compile` does before it traces anything: eager calls run
the function directly, and calls after dynamo is loaded go through the disabled function, so a
compiled graph still breaks around it.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TypeVar

import torch

F = TypeVar("F", bound=Callable)


def compiler_disable(fn: F) -> F:
    disabled = None

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        nonlocal disabled
        if "torch._dynamo" not in sys.modules:
            return fn(*args, **kwargs)
        if disabled is None:
            disabled = torch.compiler.disable(fn)
        return disabled(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
