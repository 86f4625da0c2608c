"""Keras 3 learning-rate schedules and the ReduceLROnPlateau callback, in pure Python.

A spec gives a schedule as `{type: CosineDecay, initial_learning_rate: 0.1, decay_steps: 1000}`
with Keras's argument names, defaults and bounds (keras/src/optimizers/schedules/
learning_rate_schedule.py; Keras's `name` argument is left out, as for optimizers). Calling a
schedule with the optimizer step (0 for the first update, Keras's `optimizer.iterations`) gives
the learning rate of that update, in float64 where Keras computes in float32.

`ReduceLROnPlateau` is the callback's spec; `Plateau(spec, directions)` runs it: give it each
epoch's logs and the current learning rate, it returns the new one, with Keras 3's decisions
(keras/src/callbacks/reduce_lr_on_plateau.py and monitor_callback.py, Keras 3.15), including
Keras's float32 comparisons. Its state (`state_dict`) is plain JSON for a resumable checkpoint.
"""

from __future__ import annotations

import bisect
import itertools
import math
import struct
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..registry import Registry
from ..vocab.base import VocabModel, name_or_object, require_type

SCHEDULES: Registry[type[Schedule]] = Registry("learning rate schedule")


class Schedule(VocabModel):
    """Base learning-rate schedule: `schedule(step)` is the learning rate at optimizer step
    `step` (0 for the first update)."""

    model_config = ConfigDict(json_schema_extra=require_type())

    def __call__(self, step: int) -> float:
        raise NotImplementedError


def _register(*aliases: str):
    def deco(cls):
        return SCHEDULES.register(cls.model_fields["type"].default, cls, aliases)

    return deco


_INITIAL_LR = Field(ge=0, description="The learning rate at step 0.")
_DECAY_STEPS = Field(gt=0, description="Number of steps of one decay period (Keras: > 0).")
_STAIRCASE = Field(
    False, description="Decay at whole multiples of decay_steps (step // decay_steps)."
)


@_register("exponential_decay")
class ExponentialDecay(Schedule):
    """`initial_learning_rate * decay_rate ** (step / decay_steps)`; with `staircase` the
    exponent is `floor(step / decay_steps)`."""

    type: Literal["ExponentialDecay"] = "ExponentialDecay"
    initial_learning_rate: float = _INITIAL_LR
    decay_steps: int = _DECAY_STEPS
    decay_rate: float = Field(gt=0, description="Factor applied every decay_steps steps.")
    staircase: bool = _STAIRCASE

    def __call__(self, step: int) -> float:
        p = _progress(step, self.decay_steps, self.staircase)
        return self.initial_learning_rate * self.decay_rate**p


def _progress(step: int, decay_steps: int, staircase: bool) -> float:
    """Keras's `p = step / decay_steps`, floored with `staircase`."""
    p = step / decay_steps
    return float(math.floor(p)) if staircase else p


@_register("piecewise_constant_decay")
class PiecewiseConstantDecay(Schedule):
    """`values[0]` while `step <= boundaries[0]`, `values[i]` while
    `boundaries[i-1] < step <= boundaries[i]`, `values[-1]` after `boundaries[-1]`."""

    type: Literal["PiecewiseConstantDecay"] = "PiecewiseConstantDecay"
    boundaries: list[int] = Field(
        min_length=1, description="Strictly increasing steps at which the value changes."
    )
    values: list[Annotated[float, Field(ge=0)]] = Field(
        min_length=2, description="The learning rates: one more than the boundaries."
    )

    @model_validator(mode="after")
    def _check_boundaries(self):
        # Keras raises for a length mismatch; its docs ask for strictly increasing boundaries
        if len(self.values) != len(self.boundaries) + 1:
            raise ValueError(
                "values must have one more element than boundaries, got "
                f"{len(self.boundaries)} boundaries and {len(self.values)} values"
            )
        for a, b in itertools.pairwise(self.boundaries):
            if b <= a:
                raise ValueError(f"boundaries must be strictly increasing, got {a} then {b}")
        return self

    def __call__(self, step: int) -> float:
        # the first boundary b with step <= b picks its value (Keras's `step <= boundaries[0]`)
        return self.values[bisect.bisect_left(self.boundaries, step)]


@_register("polynomial_decay")
class PolynomialDecay(Schedule):
    """`(initial_learning_rate - end_learning_rate) * (1 - s / decay_steps) ** power +
    end_learning_rate` with `s = min(step, decay_steps)`; with `cycle`, `s = step` and
    decay_steps is first multiplied by `ceil(step / decay_steps)` (1 at step 0)."""

    type: Literal["PolynomialDecay"] = "PolynomialDecay"
    initial_learning_rate: float = _INITIAL_LR
    decay_steps: int = _DECAY_STEPS
    end_learning_rate: float = Field(0.0001, ge=0, description="The learning rate at the end.")
    power: float = Field(1.0, ge=0, description="The power of the polynomial.")
    cycle: bool = Field(False, description="Restart the decay after every decay_steps.")

    def __call__(self, step: int) -> float:
        decay_steps = float(self.decay_steps)
        if self.cycle:  # Keras: the first multiple of decay_steps not below step, 1 at step 0
            decay_steps *= 1.0 if step == 0 else math.ceil(step / self.decay_steps)
            s = float(step)
        else:
            s = min(float(step), decay_steps)
        span = self.initial_learning_rate - self.end_learning_rate
        return span * (1.0 - s / decay_steps) ** self.power + self.end_learning_rate


@_register("inverse_time_decay")
class InverseTimeDecay(Schedule):
    """`initial_learning_rate / (1 + decay_rate * step / decay_steps)`; with `staircase` the
    ratio is `floor(step / decay_steps)`."""

    type: Literal["InverseTimeDecay"] = "InverseTimeDecay"
    initial_learning_rate: float = _INITIAL_LR
    decay_steps: int = _DECAY_STEPS
    decay_rate: float = Field(ge=0, description="How fast the learning rate falls.")
    staircase: bool = _STAIRCASE

    def __call__(self, step: int) -> float:
        p = _progress(step, self.decay_steps, self.staircase)
        return self.initial_learning_rate / (1.0 + self.decay_rate * p)


_ALPHA = Field(
    0.0, ge=0, le=1, description="The final learning rate, as a fraction of the decay's start."
)


def _cosine(fraction: float, alpha: float) -> float:
    """Keras's decay factor: `(1 - alpha) * 0.5 * (1 + cos(pi * fraction)) + alpha`."""
    return (1.0 - alpha) * 0.5 * (1.0 + math.cos(math.pi * fraction)) + alpha


@_register("cosine_decay")
class CosineDecay(Schedule):
    """Optional linear warmup, then cosine decay. Without `warmup_target`:
    `initial_learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)`
    with `s = min(step, decay_steps)` (warmup_steps is then ignored, as in Keras). With it: for
    `step < warmup_steps`, `initial_learning_rate + (warmup_target - initial_learning_rate) *
    step / warmup_steps`; then the same decay from `warmup_target` with `s = min(step -
    warmup_steps, decay_steps)`."""

    type: Literal["CosineDecay"] = "CosineDecay"
    initial_learning_rate: float = _INITIAL_LR
    decay_steps: int = Field(gt=0, description="Number of steps to decay over (Keras: > 0).")
    alpha: float = _ALPHA
    warmup_target: float | None = Field(
        None,
        ge=0,
        description="The learning rate the warmup reaches; null: no warmup, the decay starts "
        "from initial_learning_rate.",
    )
    warmup_steps: int = Field(0, ge=0, description="Number of steps to warm up over.")

    def __call__(self, step: int) -> float:
        if self.warmup_target is None:
            s = min(float(step), self.decay_steps)
            return self.initial_learning_rate * _cosine(s / self.decay_steps, self.alpha)
        s = min(float(step), float(self.decay_steps + self.warmup_steps))
        if s < self.warmup_steps:
            delta = self.warmup_target - self.initial_learning_rate
            return delta * (s / self.warmup_steps) + self.initial_learning_rate
        fraction = (s - self.warmup_steps) / self.decay_steps
        return self.warmup_target * _cosine(fraction, self.alpha)


@_register("cosine_decay_restarts")
class CosineDecayRestarts(Schedule):
    """Cosine decay with warm restarts (SGDR): period `i` (from 0) lasts
    `first_decay_steps * t_mul ** i` steps and starts from `initial_learning_rate * m_mul ** i`;
    within it the learning rate is `initial_learning_rate * ((1 - alpha) * m_mul ** i * 0.5 *
    (1 + cos(pi * f)) + alpha)`, `f` the fraction of the period done. With `t_mul < 1` the
    periods add up to `first_decay_steps / (1 - t_mul)` steps, after which it is NaN, as
    Keras's."""

    type: Literal["CosineDecayRestarts"] = "CosineDecayRestarts"
    initial_learning_rate: float = _INITIAL_LR
    first_decay_steps: int = Field(
        gt=0, description="Number of steps of the first period (Keras: > 0)."
    )
    t_mul: float = Field(2.0, gt=0, description="Each period is t_mul times the previous one.")
    m_mul: float = Field(
        1.0, ge=0, description="Each restart starts from m_mul times the previous start."
    )
    alpha: float = Field(
        0.0,
        ge=0,
        le=1,
        description="The minimum learning rate, as a fraction of initial_learning_rate.",
    )

    def __call__(self, step: int) -> float:
        done = step / self.first_decay_steps  # in first periods
        restart, fraction = _restart(done, self.t_mul)
        if math.isnan(fraction):
            return math.nan
        decayed = (
            (1.0 - self.alpha) * self.m_mul**restart * 0.5 * (1.0 + math.cos(math.pi * fraction))
        )
        return self.initial_learning_rate * (decayed + self.alpha)


def _restart(done: float, t_mul: float) -> tuple[int, float]:
    """(index of the period, fraction of it done) after `done` first periods: Keras's
    `floor(log(1 - done * (1 - t_mul)) / log(t_mul))`, corrected where rounding puts it one
    period off at a restart (Keras's float32 and float64 both may)."""
    if t_mul == 1.0:
        restart = math.floor(done)
        return restart, done - restart
    arg = 1.0 - done * (1.0 - t_mul)
    if arg <= 0:  # t_mul < 1 past the end of all periods: Keras's log is NaN
        return 0, math.nan
    restart = max(math.floor(math.log(arg) / math.log(t_mul)), 0)

    def start(i: int) -> float:  # first periods before period i: 1 + t_mul + ... t_mul**(i-1)
        return (1.0 - t_mul**i) / (1.0 - t_mul)

    for _ in range(2):  # the log ratio is right to one period (bounded: no loop at the end)
        if start(restart + 1) <= done:
            restart += 1
        elif restart > 0 and start(restart) > done:
            restart -= 1
    length = t_mul**restart
    return restart, (done - start(restart)) / length if length > 0 else math.nan


ScheduleField = name_or_object(SCHEDULES)


# -- ReduceLROnPlateau -----------------------------------------------------------------------


class ReduceLROnPlateau(BaseModel):
    """Keras's ReduceLROnPlateau callback: multiply the learning rate by `factor` when `monitor`
    has not improved by more than `min_delta` for `patience` epochs, then wait `cooldown` epochs;
    never below `min_lr`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    monitor: str = Field("val_loss", description="The logged quantity to watch.")
    factor: float = Field(
        0.1,
        gt=0,
        lt=1,
        description="Factor the learning rate is multiplied by (Keras raises for >= 1).",
    )
    patience: int = Field(
        10, ge=0, description="Epochs without improvement before the learning rate is reduced."
    )
    mode: Literal["auto", "min", "max"] = Field(
        "auto",
        description="min: lower is better; max: higher is better; auto: min for a loss, else "
        "the metric's own direction (Keras 3).",
    )
    min_delta: float = Field(
        1e-4, ge=0, description="Smallest change that counts as an improvement."
    )
    cooldown: int = Field(
        0, ge=0, description="Epochs to wait after a reduction before counting again."
    )
    min_lr: float = Field(0.0, ge=0, description="Lower bound on the learning rate.")


def _float32(x: float) -> float:
    """`x` rounded to float32 (inf where float32 overflows), as Keras holds tensors."""
    try:
        return struct.unpack("f", struct.pack("f", x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)


def _lower_is_better(cfg: ReduceLROnPlateau, directions: Mapping[str, str]) -> bool:
    """Keras 3's MonitorCallback._set_monitor_op: min/max as given; in auto mode, min for
    `loss`/`val_loss`, else the direction ("up"/"down") of the compiled metric of that name
    (without `val_`), else a ValueError (older Keras guessed max when 'acc' was in the name)."""
    if cfg.mode != "auto":
        return cfg.mode == "min"
    name = cfg.monitor.removeprefix("val_")
    if name in directions:
        return directions[name] != "up"
    if name == "loss":
        return True
    raise ValueError(
        f"ReduceLROnPlateau received monitor={cfg.monitor}, but the direction of that metric is "
        "unknown; give mode: max (higher is better) or mode: min (lower is better)"
    )


class Plateau:
    """ReduceLROnPlateau at run time: `on_epoch_end(logs, lr)` returns the new learning rate.

    `directions` maps a metric name as logged, without `val_` (`accuracy`), to "up" or "down"
    (Keras's `Metric._direction`); auto mode needs it for any monitor but a loss. After each
    epoch `missing` tells whether `monitor` was absent from the logs (then nothing changes; Keras
    warns with the text in `warning`).
    """

    def __init__(self, cfg: ReduceLROnPlateau, directions: Mapping[str, str] | None = None):
        self.cfg = cfg
        self.lower_is_better = _lower_is_better(cfg, directions or {})
        self.missing = False
        self.warning: str | None = None
        self.reset()

    def reset(self) -> None:
        """Keras's on_train_begin: no best value yet, counters at 0."""
        self.best: float | None = None
        self.wait = 0
        self.cooldown_counter = 0

    def _improved(self, current: float) -> bool:
        # Keras: monitor_op(current - min_delta, best) with min_delta negated for min, compared
        # as float32 tensors (ops.less / ops.greater on Python floats); no best yet: improved
        if self.best is None:
            return True
        if self.lower_is_better:
            return _float32(current + self.cfg.min_delta) < _float32(self.best)
        return _float32(current - self.cfg.min_delta) > _float32(self.best)

    def _reduce(self, lr: float) -> float | None:
        """Keras's _reduce_optimizer_lr on a float32 learning rate; None when already at min_lr."""
        old = _float32(lr)
        if old > _float32(self.cfg.min_lr):
            return _float32(max(old * self.cfg.factor, self.cfg.min_lr))
        return None

    def on_epoch_end(self, logs: Mapping[str, float], lr: float) -> float:
        """The learning rate for the next epoch, given this epoch's logs and learning rate."""
        current = logs.get(self.cfg.monitor)
        self.missing = current is None
        if current is None:
            self.warning = (
                f"Learning rate reduction is conditioned on metric `{self.cfg.monitor}` which is "
                f"not available. Available metrics are: {','.join(logs)}."
            )
            return lr
        self.warning = None
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(float(current)):
            self.best = float(current)
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.cfg.patience:
                new = self._reduce(lr)
                if new is not None:
                    self.cooldown_counter = self.cfg.cooldown
                    self.wait = 0
                    return new
        return lr

    def state_dict(self) -> dict[str, Any]:
        """The counters and best value, JSON-safe (a non-finite best as "nan", "inf", "-inf")."""
        best = self.best
        if best is not None and not math.isfinite(best):
            best = str(best)
        return {"best": best, "wait": self.wait, "cooldown_counter": self.cooldown_counter}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what `state_dict` returned."""
        best = state["best"]
        self.best = None if best is None else float(best)
        self.wait = int(state["wait"])
        self.cooldown_counter = int(state["cooldown_counter"])
