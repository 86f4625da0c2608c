"""The command line's policy for Python's cyclic garbage collector (library use never changes it).

A training command imports torch, and torch's optimizers import `torch._dynamo` on first use:
together about 300,000 Python objects that live until the process ends. CPython's collector
walks every tracked object on each full collection: the imports alone set off several (about
0.3 s on 2 cores), and the interpreter's last collection at exit walks them all once more (about
0.5 s). None of it frees anything, since these objects are modules, classes and functions. So
`netspec` (the console script, `cli.main`):

1. pauses the collector while a command sets up (imports, validation, data, build);
2. `settle()`, before a training, evaluation or prediction loop: moves every object alive then
   to the permanent generation (`gc.freeze`), which collections no longer walk, and resumes
   collecting, so the loop's own garbage is collected as usual;
3. `before_exit()`: freezes again, so the interpreter's shutdown does not walk them.

Objects freed by reference counting (arrays, tensors, everything without a cycle) are freed as
always; only cyclic garbage made during set-up stays (measured: no change of peak memory).
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    """Turn the collector off for a command's set-up (the console script calls this first)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def settle() -> None:
    """Before a long loop: if `pause` turned the collector off, freeze what is alive and turn
    it back on. Otherwise (library use, tests) nothing."""
    global _paused
    if _paused:
        gc.freeze()
        gc.enable()
        _paused = False


def before_exit() -> None:
    """Freeze everything just before the interpreter shuts down: its last collection then has
    nothing to walk. Files are written and closed by then; nothing waits for a finalizer."""
    gc.freeze()


def restore() -> None:
    """Undo the policy, for a process that runs `cli.main` many times (the fuzzer): thaw the
    frozen objects, collect again, and forget a pause that no loop settled."""
    global _paused
    gc.unfreeze()
    gc.enable()
    _paused = False
