"""The command line's garbage-collector policy (`netspec.heap`): the console script sets up
collecting the youngest generation only, runs the training loop with every generation collected
over a frozen heap, and freezes again before exit; library use never changes the collector."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import numpy as np
import pytest
from helpers import python_output

from netspec import heap

SPEC = """netspec: 1
name: tiny
input_shape: [4]
layers:
  - {type: Dense, units: 8, activation: relu}
  - {type: Dense, units: 1}
compile: {optimizer: adam, loss: mse}
train: {epochs: 2, batch_size: 8, seed: 0}
"""

# A fresh interpreter runs the console script's `main` on a tiny spec and reports what the
# collector did: automatic collections are counted by a gc callback, and `heap.settle` (called
# by the train command once it is set up) is wrapped to see the state on each side of it.
PROBE = """
import gc, json, sys
from netspec import heap
from netspec import cli

starts = []
gc.callbacks.append(lambda phase, info: phase == "start" and starts.append(info["generation"]))
real, seen = heap.settle, {}

def settle():
    seen.update(before=sorted(set(starts)), threshold_before=gc.get_threshold(),
                torch="torch" in sys.modules)
    real()
    seen.update(threshold_after=gc.get_threshold(), frozen=gc.get_freeze_count())
    starts.clear()

heap.settle = settle
try:
    cli.main(["train", SPEC, "--data", DATA, "--out", OUT, "--quiet"])
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
unfrozen = len(gc.get_objects())  # what the interpreter's last collection would walk
print(json.dumps({**seen, "collections": len(starts), "unfrozen_at_exit": unfrozen}))
"""


def test_settle_without_pause_changes_nothing():
    frozen, thresholds = gc.get_freeze_count(), gc.get_threshold()
    heap.settle()
    assert gc.isenabled() and gc.get_threshold() == thresholds
    assert gc.get_freeze_count() == frozen


def test_pause_collects_the_young_generation_only_until_settle():
    thresholds = gc.get_threshold()
    try:
        heap.pause()
        assert heap.paused() and gc.isenabled()
        young, never, _ = gc.get_threshold()
        assert young == thresholds[0] and never >= 1 << 30
        heap.pause()  # a second pause keeps the thresholds to go back to
        heap.settle()
        assert not heap.paused() and gc.get_threshold() == thresholds
        assert gc.get_freeze_count() > 0
        frozen = gc.get_freeze_count()
        heap.settle()  # once only
        assert gc.get_freeze_count() == frozen
    finally:
        heap.restore()
        gc.unfreeze()
    assert gc.get_threshold() == thresholds


@pytest.mark.slow  # a fresh interpreter that trains
def test_the_console_script_trains_under_the_policy(tmp_path: Path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype("float32")
    np.savez(tmp_path / "d.npz", x=x, y=x.sum(axis=1, keepdims=True))
    (tmp_path / "s.yaml").write_text(SPEC)
    code = PROBE.replace("SPEC", repr(str(tmp_path / "s.yaml")))
    code = code.replace("DATA", repr(str(tmp_path / "d.npz")))
    code = code.replace("OUT", repr(str(tmp_path / "run")))
    report = json.loads(python_output(code).splitlines()[-1])
    # set-up (imports, validation, build, optimizer: torch and torch._dynamo) collected its
    # young garbage only: no collection of an older generation walked what it imported
    assert report["torch"] and report["before"] == [0]
    assert report["threshold_before"][1] >= 1 << 30
    # then everything alive was frozen (torch's objects alone are ~100,000) and the loop's
    # garbage is collected as usual
    assert report["threshold_after"] == list(gc.get_threshold())
    assert report["frozen"] > 100_000
    assert report["collections"] > 0
    # and frozen again before exit: the interpreter's last collection has ~nothing to walk
    assert report["unfrozen_at_exit"] < 1_000, report["unfrozen_at_exit"]
    assert (tmp_path / "run" / "weights.safetensors").is_file()


@pytest.mark.slow  # a fresh interpreter
def test_the_heap_module_imports_no_pydantic():
    # the console script imports it first, before typer parses: `netspec --help` stays fast
    code = "import sys, netspec.heap; print(sorted({'pydantic', 'torch'} & set(sys.modules)))"
    assert python_output(code) == "[]"


def test_restore_undoes_a_pause_that_no_loop_settled():
    """A process that runs `cli.main` many times (the fuzzer runs `validate`, which never
    settles) gets the library's policy back: a later settle() changes nothing."""
    thresholds = gc.get_threshold()
    heap.pause()
    heap.restore()
    assert not heap.paused() and gc.get_threshold() == thresholds
    frozen = gc.get_freeze_count()
    heap.settle()
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen
