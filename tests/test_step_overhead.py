"""What a training step costs beyond the work it must do, counted (never timed): the host syncs
of an epoch (the one TerminateOnNaN needs per step on the CPU, none else per step), the
Python calls and torch operations a step adds over a hand-written loop, and the optimizer's
plain path (torch's own step when no Keras option asks for more)."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from netspec.training.engine.optim_common import KerasSteps, clip_gradients, keras_class
from netspec.training.engine.session import prepare
from netspec.training.engine.trainer import Trainer

SPEC = """netspec: 1
name: mlp
input_shape: [8]
layers:
  - {type: Dense, units: 16, activation: relu}
  - {type: Dense, units: 3, activation: softmax}
compile: {optimizer: adam, loss: sparse_categorical_crossentropy, metrics: [accuracy]}
train: {epochs: 1, batch_size: 4, seed: 0, terminate_on_nan: NAN}
"""


class Ops(TorchDispatchMode):
    """Counts the aten operations run under it (the real ones: it runs each)."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.counts[str(func.overloadpacket)] += 1
        return func(*args, **(kwargs or {}))


def python_calls(fn) -> int:
    """The Python functions `fn()` calls (sys.setprofile's 'call' events)."""
    calls = 0

    def profile(frame, event, arg):
        nonlocal calls
        calls += event == "call"

    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return calls


def trainer(tmp_path: Path, rows: int, nan: bool = True, weight: float = 1.0) -> Trainer:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 8)).astype("float32")
    np.savez(tmp_path / f"d{rows}.npz", x=x, y=rng.integers(0, 3, size=rows))
    path = tmp_path / "s.yaml"
    text = SPEC.replace("NAN", str(nan).lower())
    path.write_text(text.replace("metrics:", f"loss_weights: [{weight}], metrics:"))
    spec, model, data = prepare(path, tmp_path / f"d{rows}.npz", training=True)
    return Trainer(model, spec, data)


def per_step(tmp_path: Path, measure, **kw) -> float:
    """What `measure(trainer)` counts per step: the difference between epochs of 10 and 30
    steps over the 20 steps between (the per-epoch work cancels)."""
    counts = []
    for rows in (40, 120):
        t = trainer(tmp_path, rows, **kw)
        t._epoch()  # the first epoch builds the optimizer's state
        counts.append(measure(t))
    return (counts[1] - counts[0]) / 20


def syncs(t: Trainer) -> int:
    with Ops() as ops:
        t._epoch()
    return ops.counts["aten._local_scalar_dense"]  # item(), float(), tolist() of a tensor


def test_an_epoch_syncs_once_per_step_for_terminate_on_nan_and_else_never(tmp_path: Path):
    # on the CPU TerminateOnNaN reads each loss (Keras stops at that batch); nothing else does
    assert per_step(tmp_path, syncs, nan=True) == 1
    assert per_step(tmp_path, syncs, nan=False) == 0


def hand_step(model, opt, x, y) -> None:
    """The tuned loop of bench/train_worker.py: forward, loss, backward, step, running sums."""
    total, correct = torch.zeros(()), torch.zeros(())
    for i in range(0, len(x), 4):
        xb, yb = x[i : i + 4], y[i : i + 4]
        pred = model(xb)
        loss = F.nll_loss(torch.log(pred.clamp(1e-7, 1 - 1e-7)), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            total += loss.detach() * len(xb)
            correct += (pred.argmax(-1) == yb).sum()


def hand_per_step(measure) -> float:
    """What `measure(fn)` counts per step of the hand-written loop (`fn` runs an epoch of it),
    as `per_step` does for netspec's: epochs of 10 and 30 steps, after one to warm up."""
    model = torch.nn.Sequential(
        torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3), torch.nn.Softmax(-1)
    )
    opt = torch.optim.Adam(model.parameters(), fused=True)
    counts = []
    for rows in (40, 120):
        x, y = torch.randn(rows, 8), torch.randint(0, 3, (rows,))
        hand_step(model, opt, x, y)
        counts.append(measure(lambda x=x, y=y: hand_step(model, opt, x, y)))
    return (counts[1] - counts[0]) / 20


def aten_ops(fn) -> int:
    with Ops() as ops:
        fn()
    return sum(ops.counts.values())


def test_a_step_adds_few_python_calls_over_a_hand_written_loop(tmp_path: Path):
    netspec_calls = per_step(tmp_path, lambda t: python_calls(t._epoch))
    hand_calls = hand_per_step(python_calls)
    # measured: ~45 more (batches, Keras's loss and accuracy, the NaN check, the epoch's sums);
    # before the plain optimizer path and the per-step clean-up: ~115 more
    assert netspec_calls - hand_calls < 70, (netspec_calls, hand_calls)


def test_a_loss_weight_of_1_costs_no_multiplication(tmp_path: Path):
    def muls(t: Trainer) -> int:
        return _ops(t)["aten.mul"]

    ones = per_step(tmp_path, muls)
    twos = per_step(tmp_path, muls, weight=2.0)
    assert twos - ones == 2  # `loss * 2.0` and its backward; `* 1.0` is left out (same bits)


def _ops(t: Trainer) -> Counter:
    with Ops() as ops:
        t._epoch()
    return ops.counts


def test_a_classifier_step_runs_about_the_hand_written_loops_operations(tmp_path: Path):
    # Keras's sparse cross-entropy after a softmax (the stable form: the last axis's softmax
    # needs no renormalisation, the mean is nll_loss's own) and the accuracy's hits summed as
    # bools: measured as many per step as the hand-written loop (56); 28 more before
    # (renormalisation, take_along_dim and its scatter backward, float casts, a separate mean)
    ours = per_step(tmp_path, lambda t: aten_ops(t._epoch), nan=False)
    hand = hand_per_step(aten_ops)
    assert ours - hand <= 2, (ours, hand)


def adam(**options) -> KerasSteps:
    torch.manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(5, 3)), torch.nn.Parameter(torch.randn(3))]
    return keras_class(torch.optim.Adam)(params, lr=0.01, fused=True, **options)


def run(opt: KerasSteps, steps: int = 3) -> list[torch.Tensor]:
    params = [p for g in opt.param_groups for p in g["params"]]
    for s in range(steps):
        for p in params:
            p.grad = torch.full_like(p, 0.1 * (s + 1)) - p.detach()
        opt.step()
    return [p.detach().clone() for p in params]


def test_the_plain_optimizer_step_is_torchs_own():
    opt = adam()
    called: set = set()

    def profile(frame, event, arg):
        if event == "call":
            called.add(frame.f_code)

    run(opt, 1)  # the state
    sys.setprofile(profile)
    try:
        run(opt, 1)
    finally:
        sys.setprofile(None)
    assert torch.optim.Adam.step.__wrapped__.__code__ in called or any(
        c.co_name == "step" and c.co_filename.endswith("adam.py") for c in called
    )
    assert KerasSteps._keras_step.__wrapped__.__code__ not in called  # type: ignore[attr-defined]
    assert clip_gradients.__code__ not in called
    assert opt.calls == 2 and opt.iterations == 2


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"clipnorm": 1.0},
        {"global_clipnorm": 0.5},
        {"clipvalue": 0.0},
        {"use_ema": True},
        {"loss_scale_factor": 2.0},
        {"gradient_accumulation_steps": 2},
    ],  # fmt: skip
)
def test_the_plain_path_is_taken_only_without_options_and_steps_the_same(options):
    opt = adam(**options)
    assert opt._plain == (not options)
    slow = adam(**options)
    slow._plain = False  # the Keras path for every option, as before the plain path existed
    for a, b in zip(run(opt), run(slow), strict=True):
        assert torch.equal(a, b)
    assert opt.calls == slow.calls == 3
    assert opt.state_dict()["state"][0]["iterations"] == 3


def test_the_plain_step_calls_as_few_python_functions_as_torchs():
    keras = adam()
    torch.manual_seed(0)
    plain = torch.optim.Adam(
        [torch.nn.Parameter(torch.randn(5, 3)), torch.nn.Parameter(torch.randn(3))],
        lr=0.01,
        fused=True,
    )
    run(keras, 1), run(plain, 1)
    ours = python_calls(lambda: keras.step())
    theirs = python_calls(lambda: plain.step())
    assert ours <= theirs + 1, (ours, theirs)  # KerasSteps.step itself
