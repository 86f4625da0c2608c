"""The command line's policy for Python's cyclic garbage collector (library use never changes it).

A training command imports torch, and torch's optimizers import `torch._dynamo` on first use:
together about 300,000 Python objects that live until the process ends. CPython's collector
walks every tracked object on each full collection: the imports alone set off several (about
0.3 s on 2 cores), and the interpreter's last collection at exit walks them all once more (about
0.5 s). None of it frees anything, since these objects are modules, classes and functions. So
`netspec` (the console script, `cli.main`):

1. while a command sets up (imports, validation, data, build), collects the youngest
   generation only: the cyclic garbage that set-up makes and drops at once is freed as before
   (8 MiB of peak memory on a small training run, had the collector been off), and an object
   that survives one collection is not walked again (each set-up object is walked about once:
   ~1% of the imports' time);
2. `settle()`, before a training, evaluation or prediction loop: moves every object alive then
   to the permanent generation (`gc.freeze`), which collections no longer walk, and collects
   every generation again as usual, so the loop's own garbage is collected;
3. `before_exit()`: freezes again, so the interpreter's shutdown does not walk them.

Objects freed by reference counting (arrays, tensors, everything without a cycle) are freed as
always.
"""

from __future__ import annotations

import gc

_paused = False
_thresholds = gc.get_threshold()  # the ones a pause replaced
# A generation-1 threshold no count reaches: generation 0 alone is collected
_NEVER = 1 << 30


def pause() -> None:
    """Collect only the youngest generation during a command's set-up (the console script
    calls this first)."""
    global _paused, _thresholds
    if gc.isenabled() and not _paused:
        _thresholds = gc.get_threshold()
        gc.set_threshold(_thresholds[0], _NEVER, _NEVER)
        _paused = True


def paused() -> bool:
    """Whether a pause is in force (no loop has settled it)."""
    return _paused


def settle() -> None:
    """Before a long loop: if `pause` narrowed the collector, freeze what is alive and collect
    every generation again. Otherwise (library use, tests) nothing."""
    global _paused
    if _paused:
        gc.freeze()
        gc.set_threshold(*_thresholds)
        _paused = False


def before_exit() -> None:
    """Freeze everything just before the interpreter shuts down: its last collection then has
    nothing to walk. Files are written and closed by then; nothing waits for a finalizer."""
    gc.freeze()


def restore() -> None:
    """Undo the policy, for a process that runs `cli.main` many times (the fuzzer): thaw the
    frozen objects, collect as the library does, and forget a pause that no loop settled."""
    global _paused
    gc.unfreeze()
    if _paused:
        gc.set_threshold(*_thresholds)
    gc.enable()
    _paused = False
