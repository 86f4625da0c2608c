"""Keras 3 learning-rate schedules, in pure Python.

A spec gives a schedule as `{type: CosineDecay, initial_learning_rate: 0.1, decay_steps: 1000}`
with Keras's argument names, defaults and bounds (keras/src/optimizers/schedules/
learning_rate_schedule.py; Keras's `name` argument is left out, as for optimizers). Calling a
schedule with the optimizer step (0 for the first update, Keras's `optimizer.iterations`) gives
the learning rate of that update, in float64 where Keras computes in float32.

ReduceLROnPlateau, which changes a constant learning rate instead, is in `plateau.py`.
"""

from __future__ import annotations

import bisect
import itertools
import math
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from ...registry import Registry
from ...vocab.base import VocabModel, name_or_object, require_type

SCHEDULES: Registry[type[Schedule]] = Registry("learning rate schedule")


class Schedule(VocabModel):
    """Base learning-rate schedule: `schedule(step)` is the learning rate at optimizer step
    `step` (0 for the first update)."""

    model_config = ConfigDict(json_schema_extra=require_type())

    def __call__(self, step: int) -> float:
        raise NotImplementedError


_INITIAL_LR = Field(ge=0, description="The learning rate at step 0.")
_DECAY_STEPS = Field(gt=0, description="Number of steps of one decay period (Keras: > 0).")
_STAIRCASE = Field(
    False, description="Decay at whole multiples of decay_steps (step // decay_steps)."
)


@SCHEDULES.register("exponential_decay")
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


@SCHEDULES.register("piecewise_constant_decay")
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


@SCHEDULES.register("polynomial_decay")
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


@SCHEDULES.register("inverse_time_decay")
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


@SCHEDULES.register("cosine_decay")
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


@SCHEDULES.register("cosine_decay_restarts")
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
