"""Watching one history entry, as Keras 3's `MonitorCallback` does for EarlyStopping,
ReduceLROnPlateau and ModelCheckpoint (no torch import).

`mode: auto` is Keras's `_set_monitor_op`: `loss`/`val_loss` go down, a metric goes the way
its class's `direction` says (accuracy, AUC, precision, recall up; errors down). netspec knows
every history entry before training, so a monitor that names no entry is an error before the
first epoch (Keras warns at each epoch end).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import Field

from ...errors import NetspecError
from ...registry import did_you_mean


def history_keys(
    metric_names: list[str],
    has_val: bool,
    extra: tuple[str, ...] = (),
    loss_outputs: Sequence[str] = (),
) -> list[str]:
    """The entries fit() reports each epoch: loss, each output's loss (`output_loss_names`),
    the metrics, their `val_` twins, then `extra`."""
    keys = ["loss", *output_loss_names(loss_outputs), *metric_names]
    return keys + [f"val_{k}" for k in keys] * has_val + list(extra)


def output_loss_names(loss_outputs: Sequence[str]) -> list[str]:
    """Keras 3's per-output loss entries (`CompileLoss.build`: a `Mean` named
    `<output>_loss` per loss when the model has more than one loss; `:` as `_`), given the
    names of the outputs that have a loss, in output order: none for a single loss."""
    if len(loss_outputs) < 2:
        return []
    return [f"{name.replace(':', '_')}_loss" for name in loss_outputs]


def loss_outputs(loss: Any, outputs: Sequence[str]) -> list[str]:
    """The outputs that `compile.loss` gives a loss (a mapping may leave some out), in
    order: what `history_keys` needs for the per-output loss entries."""
    if loss is None:
        return []
    if isinstance(loss, Mapping):
        return [o for o in outputs if loss.get(o) is not None]
    return list(outputs)


# The `mode` of every monitoring section (early_stopping, reduce_lr_on_plateau, checkpoint).
MonitorMode = Literal["auto", "min", "max"]
MODE_FIELD: MonitorMode = Field(  # typed as the fields it declares (pydantic's Field is)
    "auto",
    description="Whether the monitored value should go down (min) or up (max); auto: as "
    "Keras 3, loss goes down and a metric the way it improves (accuracy up, mae down).",
)


def goes_up(monitor: str, mode: str, directions: Mapping[str, str]) -> bool:
    """Keras 3's `MonitorCallback._set_monitor_op`: min/max as given; in auto mode, down for
    `loss`/`val_loss`, else the direction ("up"/"down") of the metric of that name (without
    `val_`), else a ValueError (older Keras guessed max when 'acc' was in the name)."""
    if mode != "auto":
        return mode == "max"
    name = monitor.removeprefix("val_")
    if name in directions:
        return directions[name] == "up"
    if name == "loss" or name.endswith("_loss"):  # an output's loss (not a metric's name)
        return False
    raise ValueError(
        f"cannot tell whether monitor={monitor} should go up or down; give mode: max (higher "
        "is better) or mode: min (lower is better)"
    )


def maximize(
    monitor: str, mode: str, keys: list[str], directions: dict[str, str], owner: str
) -> bool:
    """Whether `monitor` should go up, checking that fit() reports it."""
    if monitor not in keys:
        hint = did_you_mean(monitor, keys)
        raise NetspecError(
            f"{owner}.monitor: '{monitor}' is not reported by this training{hint} "
            f"(reported: {', '.join(keys)})"
        )
    try:
        return goes_up(monitor, mode, directions)
    except ValueError as exc:
        raise NetspecError(f"{owner}.monitor: {exc}") from None


def float32(x: float) -> float:
    """`x` rounded to float32 (inf where float32 overflows), as Keras holds tensors."""
    try:
        return struct.unpack("f", struct.pack("f", x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)


def is_improvement(value: float, reference: float | None, min_delta: float, up: bool) -> bool:
    """Keras 3's `MonitorCallback._is_improvement`: `monitor_op(value - min_delta, reference)`
    with min_delta negated for min, compared as float32 tensors (`ops.less`/`ops.greater` on
    Python floats); no reference yet: improved. NaN never improves."""
    if reference is None:
        return True
    if up:
        return float32(value - min_delta) > float32(reference)
    return float32(value + min_delta) < float32(reference)


class Monitor:
    """The best value so far of one entry; `improved(value)` is Keras's `_is_improvement`
    against the best (or against `reference`)."""

    def __init__(
        self, monitor: str, up: bool, min_delta: float = 0.0, baseline: float | None = None
    ):
        self.monitor, self.up, self.min_delta = monitor, up, abs(min_delta)
        self.best: float | None = baseline

    def improved(self, value: float, reference: float | None = None) -> bool:
        reference = self.best if reference is None else reference
        return is_improvement(value, reference, self.min_delta, self.up)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = state["best"]
