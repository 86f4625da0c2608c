"""netspec's metric vocabulary is Keras 3's: every keras.metrics class is registered (or
excluded, with the reason), under Keras's names, with Keras's constructor arguments and
defaults and Keras's direction; `netspec list metrics` says what `accuracy` is."""

import inspect

import keras
import pytest
from typer.testing import CliRunner

from netspec.cli import app
from netspec.training.spec.metrics import EXCLUDED, METRICS

KERAS_CLASSES = sorted(
    name
    for name, value in vars(keras.metrics).items()
    if inspect.isclass(value) and issubclass(value, keras.metrics.Metric)
)
# the arguments netspec does not take: the metric's dtype (netspec computes in float32 and
# accumulates in float64)
NOT_TAKEN = {"self", "dtype", "name"}


def test_keras_has_the_classes_we_think():
    assert len(KERAS_CLASSES) == 46
    assert len(METRICS.names()) + len(EXCLUDED) == len(KERAS_CLASSES)


@pytest.mark.parametrize("name", KERAS_CLASSES)
def test_every_keras_metric_is_registered_or_excluded(name):
    assert (name in METRICS.names()) != (name in EXCLUDED), name
    if name in EXCLUDED:
        assert EXCLUDED[name]


@pytest.mark.parametrize("name", METRICS.names())
def test_every_metric_is_kerass(name):
    assert name in KERAS_CLASSES


def _keras_arguments(name: str) -> dict:
    parameters = inspect.signature(getattr(keras.metrics, name).__init__).parameters
    return {k: p.default for k, p in parameters.items() if k not in NOT_TAKEN}


@pytest.mark.parametrize("name", METRICS.names())
def test_arguments_and_defaults_are_kerass(name):
    """Keras's constructor arguments, no others, with Keras's defaults (a required one is
    required); the tuple defaults compare as lists."""
    fields = {k: f for k, f in METRICS.get(name).model_fields.items() if k not in ("type", "name")}
    keras_args = _keras_arguments(name)
    assert set(fields) == set(keras_args)
    for arg, default in keras_args.items():
        field = fields[arg]
        if default is inspect.Parameter.empty:
            assert field.is_required(), arg
        else:
            ours = field.get_default()
            assert ours == (list(default) if isinstance(default, tuple) else default), arg


def _keras_instance(name: str):
    cls = METRICS.get(name)
    args = {k: v for k, v in cls.examples[0]["args"].items() if cls.model_fields[k].is_required()}
    return getattr(keras.metrics, name)(**args)


# Keras gives the count metrics no direction (EarlyStopping's mode auto refuses them)
NO_KERAS_DIRECTION = {"TruePositives": "up", "TrueNegatives": "up"}
NO_KERAS_DIRECTION |= {"FalsePositives": "down", "FalseNegatives": "down"}


@pytest.mark.parametrize("name", METRICS.names())
def test_direction_is_kerass(name):
    ours = METRICS.get(name).direction
    keras_direction = getattr(_keras_instance(name), "_direction", None)
    assert ours == (keras_direction or NO_KERAS_DIRECTION[name])


def test_aliases_are_kerass_names():
    """Every snake-case name and abbreviation Keras's metrics.get takes (but `accuracy`, which
    compile resolves from the shapes, and the excluded classes')."""
    from keras.src.metrics import ALL_OBJECTS_DICT
    from keras.src.utils.naming import to_snake_case

    excluded = {to_snake_case(name) for name in EXCLUDED} | {"accuracy"}
    keras_aliases = {k for k in ALL_OBJECTS_DICT if k not in KERAS_CLASSES} - excluded
    assert set(METRICS.aliases()) == keras_aliases


def test_list_metrics_says_what_accuracy_is():
    result = CliRunner().invoke(app, ["list", "metrics"])
    assert result.exit_code == 0
    first, *entries = result.stdout.splitlines()
    assert "`accuracy` (or `acc`)" in first
    assert "binary, categorical or sparse categorical accuracy" in first
    assert "  Accuracy" in entries
    assert len(entries) == len(METRICS.names())
