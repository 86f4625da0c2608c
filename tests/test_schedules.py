"""Learning-rate schedules and ReduceLROnPlateau (netspec.training.spec.schedules) against Keras 3.

Every registered schedule is called over a range of steps next to keras.optimizers.schedules'
class of the same name and arguments (Keras computes in float32, netspec in float64). Plateau is
fed the same logs as keras.callbacks.ReduceLROnPlateau on a compiled Keras model, and must give
the same learning rate (as Keras stores it, float32) and the same counters every epoch.
"""

from __future__ import annotations

import inspect
import json
import math
import warnings

import keras
import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from netspec.training.spec.plateau import Plateau, ReduceLROnPlateau
from netspec.training.spec.schedules import SCHEDULES, ScheduleField

ADAPTER = TypeAdapter(ScheduleField)
STEPS = range(60)
REL = 1e-6  # Keras's float32 against float64

# Arguments of each registered schedule, covering staircase, cycle, warmup and restarts; a new
# schedule fails test_same_as_keras until it has an entry here.
EXAMPLES: dict[str, list[dict]] = {
    "ExponentialDecay": [
        {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5},
        {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.5, "staircase": True},
        {"initial_learning_rate": 1.0, "decay_steps": 3, "decay_rate": 1.05},
    ],
    "PiecewiseConstantDecay": [
        {"boundaries": [5, 10, 20], "values": [1.0, 0.5, 0.1, 0.01]},
        {"boundaries": [0], "values": [0.3, 0.2]},
    ],
    "PolynomialDecay": [
        {"initial_learning_rate": 0.1, "decay_steps": 20},
        {
            "initial_learning_rate": 0.1,
            "decay_steps": 7,
            "end_learning_rate": 0.01,
            "power": 0.5,
            "cycle": True,
        },
        {"initial_learning_rate": 1.0, "decay_steps": 10, "end_learning_rate": 0.0, "power": 2.0},
    ],
    "InverseTimeDecay": [
        {"initial_learning_rate": 0.1, "decay_steps": 5, "decay_rate": 0.5},
        {"initial_learning_rate": 0.1, "decay_steps": 4, "decay_rate": 2.0, "staircase": True},
    ],
    "CosineDecay": [
        {"initial_learning_rate": 0.1, "decay_steps": 20},
        {"initial_learning_rate": 0.1, "decay_steps": 25, "alpha": 0.1},
        {"initial_learning_rate": 0.0, "decay_steps": 15, "warmup_target": 0.1, "warmup_steps": 5},
        {
            "initial_learning_rate": 0.01,
            "decay_steps": 10,
            "alpha": 0.2,
            "warmup_target": 0.1,
            "warmup_steps": 4,
        },
        {"initial_learning_rate": 0.1, "decay_steps": 10, "warmup_target": 0.05},
        # warmup_steps without warmup_target: ignored, as Keras does
        {"initial_learning_rate": 0.1, "decay_steps": 10, "warmup_steps": 5},
    ],
    "CosineDecayRestarts": [
        {"initial_learning_rate": 0.1, "first_decay_steps": 5},
        {
            "initial_learning_rate": 0.1,
            "first_decay_steps": 3,
            "t_mul": 1.0,
            "m_mul": 0.5,
            "alpha": 0.1,
        },
        {
            "initial_learning_rate": 1.0,
            "first_decay_steps": 2,
            "t_mul": 1.5,
            "m_mul": 0.8,
            "alpha": 0.1,
        },
        # periods add up to 25 steps, NaN after (as Keras)
        {
            "initial_learning_rate": 1.0,
            "first_decay_steps": 5,
            "t_mul": 0.8,
            "m_mul": 0.9,
            "alpha": 0.05,
        },
    ],
}


def parse(value):
    return ADAPTER.validate_python(value)


def keras_schedule(name: str, args: dict):
    return getattr(keras.optimizers.schedules, name)(**args)


def period_starts(args: dict, last: int) -> list[float]:
    """Where CosineDecayRestarts starts each period after the first, up to step `last`."""
    t, length = args.get("t_mul", 2.0), float(args["first_decay_steps"])
    starts, start = [], 0.0
    while start + length <= last and length > 1e-3:
        start += length
        length *= t
        starts.append(start)
    return starts


def same(ours: float, theirs: float, scale: float) -> bool:
    if math.isnan(theirs):
        return math.isnan(ours)
    return math.isclose(ours, theirs, rel_tol=REL, abs_tol=REL * scale)


@pytest.mark.parametrize("name", SCHEDULES.names())
def test_same_as_keras(name):
    assert EXAMPLES.get(name), f"add an example of {name} to EXAMPLES"
    for args in EXAMPLES[name]:
        ours = parse({"type": name, **args})
        theirs = keras_schedule(name, args)
        scale = max(abs(ours(s)) for s in STEPS if not math.isnan(ours(s)))
        for step in STEPS:
            got = ours(step)
            want = float(keras.ops.convert_to_numpy(theirs(step)))
            if name == "CosineDecayRestarts" and not same(got, want, scale):
                check_restart_difference(args, step, got, want, scale)
                continue
            assert same(got, want, scale), (args, step, got, want)


def check_restart_difference(args: dict, step: int, got: float, want: float, scale: float):
    """Where CosineDecayRestarts may differ from Keras's float32: Keras finds the period with a
    float32 log ratio, which can fall just under the integer at a restart (that step then gets
    the end of the previous period, alpha, where netspec starts the new one); its float32 error
    in the fraction of period i done is scaled by t_mul ** -i (large for t_mul < 1); and where
    t_mul < 1 the periods end at first_decay_steps / (1 - t_mul), where the exact value is 0/0
    and both are rounding."""
    t, first = args.get("t_mul", 2.0), args["first_decay_steps"]
    starts = period_starts(args, step)
    if t < 1 and step == round(first / (1 - t)):
        return
    if starts and starts[-1] == step:
        end = args["initial_learning_rate"] * args.get("alpha", 0.0)
        assert same(want, end, scale), (args, step, got, want)
        print(f"CosineDecayRestarts {args}: Keras one period behind at restart step {step}")
        return
    amplification = t ** -len(starts)
    assert math.isclose(got, want, rel_tol=REL * amplification), (args, step, got, want)


def test_restarts_are_where_the_periods_end():
    s = parse({"type": "CosineDecayRestarts", "initial_learning_rate": 1.0, "first_decay_steps": 2})
    s15 = s.model_copy(update={"t_mul": 1.5, "m_mul": 0.5})
    # periods of 2, 4, 8 steps; of 2, 3, 4.5 (restarts at 2, 5, 9.5)
    assert [s(k) for k in (0, 2, 6, 14)] == [1.0, 1.0, 1.0, 1.0]
    assert [s15(k) for k in (0, 2, 5)] == [1.0, 0.5, 0.25]


def test_piecewise_boundaries_belong_to_the_piece_before():
    s = parse({"type": "PiecewiseConstantDecay", "boundaries": [5, 10], "values": [3.0, 2.0, 1.0]})
    assert [s(k) for k in (0, 5, 6, 10, 11, 1000)] == [3.0, 3.0, 2.0, 2.0, 1.0, 1.0]


@pytest.mark.parametrize("name", SCHEDULES.names())
def test_arguments_and_defaults_are_keras(name):
    params = inspect.signature(getattr(keras.optimizers.schedules, name).__init__).parameters
    keras_args = {k: p.default for k, p in params.items() if k not in ("self", "name")}
    ours = SCHEDULES.get(name).model_fields
    assert set(ours) - {"type"} == set(keras_args)
    for k, default in keras_args.items():
        if default is inspect.Parameter.empty:
            assert ours[k].is_required(), k
        else:
            assert ours[k].default == default, k


@pytest.mark.parametrize("name", SCHEDULES.names())
def test_examples_round_trip(name):
    for args in EXAMPLES.get(name, []):
        spec = parse({"type": name, **args})
        assert type(spec) is SCHEDULES.get(name)
        assert parse(spec.model_dump()) == spec


def test_snake_case_names_resolve():
    for name, cls in SCHEDULES.items():
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
        assert SCHEDULES.canonical(snake) == name
        # a bare name resolves, then lacks the required arguments
        first_required = next(k for k, f in cls.model_fields.items() if f.is_required())
        with pytest.raises(ValidationError, match=f"(?s){name}.{first_required}.*Field required"):
            parse(snake)


@pytest.mark.parametrize(
    "value, message",
    [
        ("CosineDecy", "unknown learning rate schedule 'CosineDecy'.*did you mean 'CosineDecay'"),
        ({"type": "CosineDecy"}, "did you mean 'CosineDecay'"),
        ({"type": "cosine_decay"}, "takes the name 'CosineDecay', not 'cosine_decay'"),
        (
            {"type": "PiecewiseConstantDecay", "boundaries": [5, 10], "values": [1.0, 0.5]},
            "one more element than boundaries, got 2 boundaries and 2 values",
        ),
        (
            {"type": "PiecewiseConstantDecay", "boundaries": [5, 5], "values": [1.0, 0.5, 0.1]},
            "strictly increasing, got 5 then 5",
        ),
        ({"type": "PiecewiseConstantDecay", "boundaries": [], "values": [1.0]}, "at least 1"),
        (
            {"type": "PiecewiseConstantDecay", "boundaries": [2.5], "values": [1.0, 0.5]},
            "boundaries.0.*valid integer",
        ),
        (
            {"type": "ExponentialDecay", "initial_learning_rate": 0.1, "decay_steps": 0},
            "decay_steps.*greater than 0",
        ),
        (
            {"type": "ExponentialDecay", "initial_learning_rate": 0.1, "decay_steps": 10},
            "decay_rate.*Field required",
        ),
        (
            {"type": "CosineDecay", "initial_learning_rate": 0.1, "decay_steps": 10, "name": "x"},
            "name.*Extra inputs are not permitted",
        ),
        (
            {"type": "CosineDecay", "initial_learning_rate": 0.1, "decay_steps": 10, "alpha": 2},
            "alpha.*less than or equal to 1",
        ),
    ],
)
def test_invalid_schedules_are_refused(value, message):
    with pytest.raises(ValidationError, match=f"(?s){message}"):
        parse(value)


# -- ReduceLROnPlateau -----------------------------------------------------------------------

LR = 0.01
DIRECTIONS = {"accuracy": "up", "mae": "down"}  # the compiled Keras model's metrics


def f32(x: float) -> float:
    return float(np.float32(x))


def keras_model():
    """A compiled Keras model whose metrics are built (auto mode looks their direction up)."""
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=LR), loss="mse", metrics=["accuracy", "mae"]
    )
    model.evaluate(np.zeros((2, 2)), np.zeros((2, 1)), verbose=0)
    return model


def keras_lr(model) -> float:
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


def walk(seed: int, n: int = 40, start: float = 1.0) -> list[float]:
    """A noisy, mostly flat sequence with ties at min_delta's scale."""
    rng = np.random.default_rng(seed)
    steps = rng.choice([-0.02, -1e-4, -5e-5, 0.0, 0.0, 1e-3, 0.01], size=n)
    return [float(x) for x in start + np.cumsum(steps)]


FLAT = [1.0, 0.9, 0.85, 0.85, 0.8501, 0.84995, 0.84991, 0.8499, 0.85, 0.7, 0.7, 0.7, 0.7]
# best 1.0 then 1.0 - 1e-4 - 1e-12: an improvement by min_delta in float64, not in Keras's float32
FLOAT32_TIE = [1.0, 1.0 - 1e-4 - 1e-12, 1.0 - 1e-4 - 1e-12, 0.5, 0.5 - 1e-4, 0.4999, 0.4]
ODD = [2.0, math.nan, 1.0, math.inf, 1e39, 0.5, 0.5, -math.inf, 0.0, 0.0]

CASES = [
    ({"patience": 2, "factor": 0.5}, "val_loss", FLAT + walk(0)),
    ({"patience": 0, "factor": 0.5}, "val_loss", FLOAT32_TIE + walk(1)),
    ({"monitor": "loss", "mode": "min", "patience": 1, "min_delta": 0.01}, "loss", walk(2)),
    ({"monitor": "val_accuracy", "patience": 1, "cooldown": 2, "factor": 0.2}, None, walk(3, 60)),
    ({"monitor": "val_mae", "patience": 2, "cooldown": 1, "min_delta": 0.0}, "val_mae", walk(4)),
    ({"monitor": "val_mae", "mode": "max", "patience": 1}, "val_mae", walk(5)),
    (
        {"patience": 1, "factor": 0.5, "cooldown": 1, "min_lr": 0.003, "min_delta": 0.0},
        "val_loss",
        [1.0] * 20,
    ),
    ({"patience": 1, "factor": 0.5, "min_lr": 0.0011}, "val_loss", walk(6, 60)),
    ({"patience": 1, "mode": "min"}, "val_loss", ODD),
    ({"patience": 1, "mode": "max"}, "val_loss", ODD),
]


def epoch_logs(key: str | None, values: list[float]) -> list[dict[str, float]]:
    """Logs of each epoch; `key` None: val_accuracy from 1 - value. Every fifth epoch lacks the
    monitored key (no validation that epoch), which must change nothing."""
    out = []
    for i, v in enumerate(values):
        logs = {"loss": v + 0.1}
        if i % 5 != 4:
            logs[key or "val_accuracy"] = v if key else 1.0 - v
        out.append(logs)
    return out


def run_keras(model, args, logs_seq):
    """Keras's learning rate and (best, wait, cooldown_counter) after each epoch, and whether it
    warned that the monitor was missing."""
    cb = keras.callbacks.ReduceLROnPlateau(**args)
    cb.set_model(model)
    cb.on_train_begin()
    out = []
    for epoch, logs in enumerate(logs_seq):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cb.on_epoch_end(epoch, dict(logs))
        missed = any("not available" in str(w.message) for w in caught)
        out.append((keras_lr(model), (cb.best, cb.wait, cb.cooldown_counter), missed))
    return out


def run_ours(plateau, logs_seq, lr=LR):
    out = []
    for logs in logs_seq:
        lr = plateau.on_epoch_end(logs, lr)
        state = (plateau.best, plateau.wait, plateau.cooldown_counter)
        out.append((lr, state, plateau.missing))
    return out


def same_state(a, b) -> bool:
    (best_a, *rest_a), (best_b, *rest_b) = a, b
    if best_a is None or best_b is None:
        return best_a is best_b and rest_a == rest_b
    nan = math.isnan(best_a) and math.isnan(best_b)
    return (nan or best_a == best_b) and rest_a == rest_b


@pytest.mark.parametrize("args, key, values", CASES)
def test_plateau_is_keras(args, key, values):
    logs_seq = epoch_logs(key, values)
    theirs = run_keras(keras_model(), args, logs_seq)
    ours = run_ours(Plateau(ReduceLROnPlateau(**args), DIRECTIONS), logs_seq)
    reductions = 0
    for epoch, ((lr, state, missed), (k_lr, k_state, k_missed)) in enumerate(
        zip(ours, theirs, strict=True)
    ):
        assert f32(lr) == k_lr, (epoch, lr, k_lr)
        assert same_state(state, k_state), (epoch, state, k_state)
        assert missed == k_missed, epoch
        reductions += epoch > 0 and k_lr != theirs[epoch - 1][0]
    print(f"{args}: {reductions} reductions, final lr {ours[-1][0]:.3g}")


def test_plateau_cases_reduce_and_hit_min_lr():
    """The Keras comparison is only as good as its cases: they reduce, and reach min_lr."""
    for args, key, values in CASES[:2] + CASES[6:8]:
        out = run_ours(Plateau(ReduceLROnPlateau(**args), DIRECTIONS), epoch_logs(key, values))
        assert out[-1][0] < LR
    at_min = run_ours(Plateau(ReduceLROnPlateau(**CASES[6][0])), epoch_logs("val_loss", [1.0] * 9))
    assert at_min[-1][0] == f32(0.003)


def test_missing_monitor_changes_nothing():
    p = Plateau(ReduceLROnPlateau(patience=0))
    assert p.on_epoch_end({"loss": 1.0}, 0.5) == 0.5
    assert p.missing and "`val_loss` which is not available" in p.warning
    assert (p.best, p.wait) == (None, 0)
    p.on_epoch_end({"val_loss": 1.0}, 0.5)
    assert not p.missing and p.warning is None


def test_auto_mode_needs_a_direction():
    args = {"monitor": "val_precision"}
    with pytest.raises(ValueError, match="monitor=val_precision"):
        Plateau(ReduceLROnPlateau(**args))
    cb = keras.callbacks.ReduceLROnPlateau(**args)
    cb.set_model(keras_model())
    with pytest.raises(ValueError, match="monitor=val_precision"):
        cb.on_epoch_end(0, {"val_precision": 0.5})
    assert Plateau(ReduceLROnPlateau(**args), {"precision": "up"}).lower_is_better is False
    assert Plateau(ReduceLROnPlateau(**args, mode="min")).lower_is_better is True
    assert Plateau(ReduceLROnPlateau(monitor="loss")).lower_is_better is True


@pytest.mark.parametrize("args, key, values", [CASES[3], CASES[8]])
def test_state_dict_resumes(args, key, values):
    logs_seq = epoch_logs(key, values)
    spec = ReduceLROnPlateau(**args)
    whole = run_ours(Plateau(spec, DIRECTIONS), logs_seq)
    for cut in (1, 3, len(logs_seq) // 2):
        first = Plateau(spec, DIRECTIONS)
        head = run_ours(first, logs_seq[:cut])
        saved = json.loads(json.dumps(first.state_dict(), allow_nan=False))
        second = Plateau(spec, DIRECTIONS)
        second.load_state_dict(saved)
        tail = run_ours(second, logs_seq[cut:], lr=head[-1][0])
        for a, b in zip(head + tail, whole, strict=True):
            assert a[0] == b[0] and same_state(a[1], b[1]) and a[2] == b[2]


def test_defaults_are_keras():
    params = inspect.signature(keras.callbacks.ReduceLROnPlateau.__init__).parameters
    keras_args = {k: p.default for k, p in params.items() if k not in ("self", "verbose", "kwargs")}
    fields = ReduceLROnPlateau.model_fields
    assert set(fields) == set(keras_args)
    assert {k: f.default for k, f in fields.items()} == keras_args


@pytest.mark.parametrize(
    "args, message",
    [
        ({"factor": 1.0}, "factor.*less than 1"),
        ({"factor": 0.0}, "factor.*greater than 0"),
        ({"patience": -1}, "patience.*greater than or equal to 0"),
        ({"mode": "maximum"}, "mode.*'auto', 'min' or 'max'"),
        ({"verbose": 1}, "verbose.*Extra inputs are not permitted"),
        ({"min_lr": -0.1}, "min_lr.*greater than or equal to 0"),
        ({"patience": 2.0}, "patience.*valid integer"),
    ],
)
def test_invalid_plateau_is_refused(args, message):
    with pytest.raises(ValidationError, match=f"(?s){message}"):
        ReduceLROnPlateau.model_validate(args)
