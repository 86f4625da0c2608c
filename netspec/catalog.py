"""Every registry of names a spec may use, in one place (for `netspec list`, docs, schema).

`registries()` is the model's vocabulary (what `layers:` entries take: layer types and the
initializers, regularizers, constraints and activations of their arguments); the schema's
post-processing and the editor and vocabulary tests are built on it. `training_registries()` is
the `compile:` section's (optimizers, their learning rate schedules, losses, metrics);
`all_registries()` is both, for
`netspec list`, `netspec explain` and docs/reference.md. None of them imports torch.
"""

from __future__ import annotations

from .layers import LAYERS, load_plugins
from .registry import Registry
from .vocab import ACTIVATIONS, CONSTRAINTS, INITIALIZERS, REGULARIZERS


def registries() -> dict[str, Registry]:
    """The model's vocabulary: layer types and the names their arguments take."""
    load_plugins()
    return {
        "layers": LAYERS,
        "initializers": INITIALIZERS,
        "regularizers": REGULARIZERS,
        "constraints": CONSTRAINTS,
        "activations": ACTIVATIONS,
    }


def training_registries() -> dict[str, Registry]:
    """The `compile:` section's vocabulary: optimizers, learning rate schedules (an optimizer's
    `learning_rate`), losses and metrics."""
    from .training.spec.losses import LOSSES
    from .training.spec.metrics import METRICS
    from .training.spec.optimizers import OPTIMIZERS
    from .training.spec.schedules import SCHEDULES

    return {
        "optimizers": OPTIMIZERS,
        "schedules": SCHEDULES,
        "losses": LOSSES,
        "metrics": METRICS,
    }


def all_registries() -> dict[str, Registry]:
    """Every name a spec may use: `registries()`, then `training_registries()`."""
    return {**registries(), **training_registries()}
