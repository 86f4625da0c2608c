"""Every kind of name a spec may use, in one table: `KINDS`.

Each kind has its registry (imported when first asked for: this module imports neither pydantic
nor any vocabulary, so `netspec --help` and `netspec validate` stay fast), a one-line
description, its section of the spec (`model`: what `layers:` entries take; `compile`: the
`compile:` section's) and the Keras namespace of its canonical names. `netspec list`/`explain`,
docs/reference.md, the JSON Schema and the "did you mean" diagnostics all read it.

`registries()` is the model's kinds, `training_registries()` the `compile:` section's,
`all_registries()` both; none of them imports torch.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .registry import Registry

Section = Literal["model", "compile", "train"]


@dataclass(frozen=True)
class Kind:
    """One kind of name: its table row."""

    name: str  # `netspec list NAME`, `netspec explain NAME.ENTRY`: layers, initializers, ...
    title: str  # its heading in docs/reference.md
    section: Section
    description: str  # one line: what its names are and where a spec takes them
    module: str  # the module that defines the registry ...
    attribute: str  # ... under this name
    keras: str  # the Keras namespace of its canonical names
    schema: str  # the prefix of its JSON Schema definitions: `Initializer.Zeros`

    def registry(self) -> Registry:
        """The registry, imported now (the layer catalogue loads the plugins' layers itself)."""
        return import_module(self.module).__dict__[self.attribute]

    def loaded(self) -> Registry | None:
        """The registry if its module is imported already, else None (imports nothing)."""
        module = sys.modules.get(self.module)
        return None if module is None else module.__dict__.get(self.attribute)

    @property
    def noun(self) -> str:
        """What one entry is called in messages: 'initializer', 'layer type'."""
        return self.registry().kind


KINDS: tuple[Kind, ...] = (
    Kind(
        "layers",
        "Layers",
        "model",
        "Layer types: the `type` of a `layers:` entry.",
        "netspec.layers.base",
        "LAYERS",
        "keras.layers",
        "Layer",
    ),
    Kind(
        "rnn_cells",
        "RNN cells",
        "model",
        "The `cell` of an `RNN` layer: one step of a recurrent layer, or a stack of them.",
        "netspec.layers.rnn",
        "CELLS",
        "keras.layers",
        "RNNCell",
    ),
    Kind(
        "initializers",
        "Initializers",
        "model",
        "How a weight's initial values are drawn (`kernel_initializer`, ...).",
        "netspec.vocab.initializers",
        "INITIALIZERS",
        "keras.initializers",
        "Initializer",
    ),
    Kind(
        "regularizers",
        "Regularizers",
        "model",
        "Penalties on a weight or an output, added to the loss (`kernel_regularizer`, ...).",
        "netspec.vocab.regularizers",
        "REGULARIZERS",
        "keras.regularizers",
        "Regularizer",
    ),
    Kind(
        "constraints",
        "Constraints",
        "model",
        "Projections of a weight after every optimizer step (`kernel_constraint`, ...).",
        "netspec.vocab.constraints",
        "CONSTRAINTS",
        "keras.constraints",
        "Constraint",
    ),
    Kind(
        "activations",
        "Activations",
        "model",
        "Element-wise functions of a layer's output (`activation`, ...).",
        "netspec.vocab.activations",
        "ACTIVATIONS",
        "keras.activations",
        "Activation",
    ),
    Kind(
        "optimizers",
        "Optimizers",
        "compile",
        "The `optimizer` of `compile:`.",
        "netspec.training.spec.optimizers",
        "OPTIMIZERS",
        "keras.optimizers",
        "Optimizer",
    ),
    Kind(
        "schedules",
        "Learning rate schedules",
        "compile",
        "An optimizer's `learning_rate` as a function of the training step.",
        "netspec.training.spec.schedules",
        "SCHEDULES",
        "keras.optimizers.schedules",
        "Schedule",
    ),
    Kind(
        "losses",
        "Losses",
        "compile",
        "The `loss` of `compile:` (one, or one per output).",
        "netspec.training.spec.losses",
        "LOSSES",
        "keras.losses",
        "Loss",
    ),
    Kind(
        "metrics",
        "Metrics",
        "compile",
        "The `metrics` of `compile:`. Also `accuracy` (or `acc`): binary, categorical or "
        "sparse categorical accuracy, picked from the shapes as Keras's compile does.",
        "netspec.training.spec.metrics",
        "METRICS",
        "keras.metrics",
        "Metric",
    ),
    Kind(
        "loggers",
        "Loggers",
        "train",
        "The `loggers` of `train:`: experiment trackers, as Keras's callbacks of the same names.",
        "netspec.training.loggers.spec",
        "LOGGERS",
        "keras.callbacks",
        "Logger",
    ),
)
BY_NAME: dict[str, Kind] = {kind.name: kind for kind in KINDS}


def kinds(section: Section | None = None) -> tuple[Kind, ...]:
    """The kinds of one section (None: all), in the table's order."""
    return tuple(kind for kind in KINDS if section in (None, kind.section))


def registries() -> dict[str, Registry]:
    """The model's vocabulary: layer types and the names their arguments take."""
    return {kind.name: kind.registry() for kind in kinds("model")}


def training_registries() -> dict[str, Registry]:
    """The `compile:` section's vocabulary: optimizers, learning rate schedules (an optimizer's
    `learning_rate`), losses and metrics."""
    return {kind.name: kind.registry() for kind in kinds("compile")}


def all_registries() -> dict[str, Registry]:
    """Every name a spec may use: `registries()`, then `training_registries()`."""
    return {kind.name: kind.registry() for kind in KINDS}
