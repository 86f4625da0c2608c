"""Validation builds only what a spec names: the losses, metrics and optimizers modules a
`compile:` section uses are imported (netspec/training/spec/_index.py), and a vocabulary
field builds the validator of the one class its `type` names (`vocab.base.NameOrObject`), as
the layer catalogue does for layers. Each check runs in a fresh interpreter, whose imports and
built classes this test process (which has loaded everything) cannot show."""

from __future__ import annotations

import json

from helpers import python_output

SPEC = """netspec: 1
input_shape: [8]
layers:
  - {type: Dense, units: 4, activation: relu, kernel_initializer: he_normal}
  - {type: Dense, units: 1}
compile: {optimizer: adam, loss: mse, metrics: [mae]}
"""

PROBE = f"""
import json, sys
import netspec
from netspec.vocab.initializers import INITIALIZERS
spec = netspec.loads({SPEC!r})
built = {{n: c.__pydantic_complete__ for n, c in INITIALIZERS.items()}}
mods = [m for m in sys.modules if m.startswith("netspec.training.spec.")]
print(json.dumps({{"modules": mods, "built": built}}))
"""


def test_a_spec_imports_and_builds_only_the_vocabulary_it_names():
    report = json.loads(python_output(PROBE).splitlines()[-1])
    modules = set(report["modules"])
    prefix = "netspec.training.spec."
    assert {f"{prefix}losses.regression", f"{prefix}optimizers.native"} <= modules
    assert f"{prefix}metrics.regression" in modules  # mae
    unused = ("losses.crossentropy", "losses.sequence", "metrics.auc", "metrics.iou",
              "optimizers.ported")  # fmt: skip
    assert not {prefix + m for m in unused} & modules, sorted(modules)
    built = report["built"]  # INITIALIZERS.items() imported every class; few were validated
    assert built["HeNormal"] and built["GlorotUniform"] and built["Zeros"]
    assert not built["Orthogonal"] and not built["TruncatedNormal"]
