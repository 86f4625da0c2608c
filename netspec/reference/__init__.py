"""The reference: every layer, initializer, regularizer, constraint and activation, and every
optimizer, learning rate schedule, loss and metric of the `compile:` section, with every
argument's type, default, bounds and description, generated from the pydantic models and the
registries that validate specs (descriptions live once, on the fields); and the keys of the
spec's sections (`inputs`, `compile`, `train`, ...).

`reference_text()` is docs/reference.md; `explain_text(name)` is `netspec explain NAME`.
The committed file is regenerated, with every other generated file, by

    python -m netspec.generate

(which leaves out the plugin layers installed in this environment; `python -m netspec.reference`
without `--builtin` prints them too, marked as plugins).

Names in `explain` are looked up in every registry of `all_registries()`: an exact canonical name
wins over an alias, and at equal rank the registry order decides (layers, initializers,
regularizers, constraints, activations, optimizers, schedules, losses, metrics); the other
matches are named so that `KIND.NAME` (e.g. `initializers.Orthogonal`, `metrics.mse`) can pick one.

The modules: `typetext` (types as text), `collect` (entries, arguments, sections),
`document` (docs/reference.md and the command line) and `explain` (`netspec explain`).
"""

from .collect import (
    ArgDoc,
    EntryDoc,
    common_layer_keys,
    entries,
    entry_doc,
    extra_entries,
    section_models,
)
from .document import REFERENCE_PATH, REGENERATE, main, reference_text
from .explain import UnknownReference, explain_text, lookup

__all__ = [
    "REFERENCE_PATH",
    "REGENERATE",
    "ArgDoc",
    "EntryDoc",
    "UnknownReference",
    "common_layer_keys",
    "entries",
    "entry_doc",
    "explain_text",
    "extra_entries",
    "lookup",
    "main",
    "reference_text",
    "section_models",
]
