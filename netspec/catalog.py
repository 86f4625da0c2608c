"""Every registry of names a spec may use, in one place (for `netspec list`, docs, schema)."""

from __future__ import annotations

from .layers import LAYERS, load_plugins
from .registry import Registry
from .vocab import ACTIVATIONS, CONSTRAINTS, INITIALIZERS, REGULARIZERS


def registries() -> dict[str, Registry]:
    load_plugins()
    return {
        "layers": LAYERS,
        "initializers": INITIALIZERS,
        "regularizers": REGULARIZERS,
        "constraints": CONSTRAINTS,
        "activations": ACTIVATIONS,
    }
