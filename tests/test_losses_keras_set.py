"""netspec's loss vocabulary is Keras 3's: every loss class (or a documented exclusion), each
with Keras's constructor arguments and defaults, every string `keras.losses.get` accepts, and
`netspec list losses`; then reductions, sample weights and `ignore_class` against a real Keras
model's `compute_loss` and `evaluate`."""

import inspect

import keras
import numpy as np
import pytest
import torch
from keras.src.backend import set_keras_mask  # what a Masking layer leaves on its output
from keras.src.losses import ALL_OBJECTS_DICT  # the strings keras.losses.get accepts
from pydantic import TypeAdapter, ValidationError
from typer.testing import CliRunner

from netspec.cli import app
from netspec.training.spec.losses import LOSSES, LossField

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
ADAPTER = TypeAdapter(LossField)

# Keras loss class -> why netspec has none (keep in step with the losses package docstring)
EXCLUDED: dict[str, str] = {}
# Keras constructor arguments that no netspec loss takes, and why
EXCLUDED_ARGS = {
    "name": "a Keras object's name; netspec reports the loss as `loss`, as Keras's logs do",
    "dtype": "netspec computes in y_pred's dtype (float32 or the mixed-precision output)",
}
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None]


def loss_of(value):
    return ADAPTER.validate_python(value)


def keras_loss_classes() -> dict[str, type]:
    return {
        name: obj
        for name, obj in vars(keras.losses).items()
        if inspect.isclass(obj) and issubclass(obj, keras.losses.Loss) and obj is not keras.Loss
    }


def test_every_keras_loss_is_registered_or_excluded():
    keras_names = set(keras_loss_classes())
    ours = set(LOSSES.names())
    assert not ours & set(EXCLUDED), "a loss is both registered and excluded"
    assert ours | set(EXCLUDED) == keras_names, "netspec's losses drifted from Keras's"
    assert len(keras_names) == 22  # Keras 3.15


@pytest.mark.parametrize("name", LOSSES.names())
def test_constructor_arguments_and_defaults_are_kerass(name):
    params = list(inspect.signature(keras_loss_classes()[name].__init__).parameters.values())
    keras_args = {p.name: p.default for p in params[1:] if p.name not in EXCLUDED_ARGS}
    fields = LOSSES.get(name).model_fields
    ours = {key: field.default for key, field in fields.items() if key != "type"}
    assert ours == keras_args


def _class_of(identifier) -> str:
    if inspect.isclass(identifier):
        return identifier.__name__
    matches = [
        n for n, cls in keras_loss_classes().items() if getattr(cls(), "fn", None) is identifier
    ]
    assert len(matches) == 1, identifier
    return matches[0]


@pytest.mark.parametrize(
    "string", sorted(set(ALL_OBJECTS_DICT) - {"Loss", "LossFunctionWrapper"} - set(EXCLUDED))
)
def test_every_string_keras_accepts_names_the_same_loss(string):
    assert keras.losses.get(string) is not None
    assert loss_of(string).type == _class_of(ALL_OBJECTS_DICT[string])


def test_list_shows_every_loss_with_its_keras_strings():
    result = CliRunner().invoke(app, ["list", "losses"])
    assert result.exit_code == 0
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[1:] if line.strip()}
    assert set(lines) == set(LOSSES.names())
    assert "BinaryFocalCrossentropy  (also: binary_focal_crossentropy)" in result.stdout
    assert "CTC  (also: ctc)" in result.stdout
    assert "CategoricalGeneralizedCrossEntropy\n" in result.stdout


def _model_and_data(output_shape, seed=0):
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(6, 3)).astype("float32")
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(int(np.prod(output_shape)))]
        + [keras.layers.Reshape(output_shape)] * (len(output_shape) > 1)
    )
    return model, x, rng


def _ours(spec, y_pred, y_true, sample_weight=None):
    fn = loss_of(spec).function()
    weight = None if sample_weight is None else torch.as_tensor(sample_weight)
    return fn(torch.as_tensor(y_pred), torch.as_tensor(y_true), sample_weight=weight)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weights", [None, "per_sample", "per_step"])
def test_reduction_and_weights_match_a_keras_models_compute_loss(reduction, weights):
    """Masked sequence labels (ignore_class) with per-sample or per-step weights: netspec's
    loss is Keras's compiled model's `compute_loss` for every reduction. Keras fails on
    (batch, 1) weights with a mask (an in-place multiply that cannot broadcast); netspec
    broadcasts them, the loss of the same weight at every step."""
    model, x, rng = _model_and_data((3, 4))
    args = {"from_logits": True, "ignore_class": -1, "reduction": reduction}
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(**args))
    y = np.where(rng.uniform(size=(6, 3)) < 0.3, -1, rng.integers(0, 4, size=(6, 3)))
    y_pred = keras.ops.convert_to_numpy(model(x))
    weight = {
        None: None,
        "per_sample": rng.uniform(size=(6, 1)).astype("float32"),
        "per_step": rng.uniform(size=(6, 3)).astype("float32"),
    }[weights]
    keras_weight = weight if weights != "per_sample" else np.repeat(weight, 3, axis=1)
    y_pred_t = torch.as_tensor(y_pred)
    expected = model.compute_loss(x=x, y=y, y_pred=y_pred_t, sample_weight=keras_weight)
    got = _ours({"type": "SparseCategoricalCrossentropy", **args}, y_pred, y, weight)
    np.testing.assert_allclose(got.numpy(), keras.ops.convert_to_numpy(expected), rtol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_per_sample_weights_of_a_regression_loss(reduction):
    model, x, rng = _model_and_data((2,))
    model.compile(loss=keras.losses.MeanSquaredError(reduction=reduction))
    y = rng.normal(size=(6, 2)).astype("float32")
    weight = rng.uniform(size=(6,)).astype("float32")
    y_pred = keras.ops.convert_to_numpy(model(x))
    expected = model.compute_loss(x=x, y=y, y_pred=torch.as_tensor(y_pred), sample_weight=weight)
    got = _ours({"type": "MeanSquaredError", "reduction": reduction}, y_pred, y, weight)
    np.testing.assert_allclose(got.numpy(), keras.ops.convert_to_numpy(expected), rtol=1e-6)


def test_unreduced_loss_reports_its_mean_in_keras_evaluate():
    """Reduction none: Keras's trainer reports the mean of the (weighted) values (and its torch
    backend cannot train on them: `backward` needs a scalar)."""
    model, x, rng = _model_and_data((2,))
    model.compile(loss=keras.losses.MeanSquaredError(reduction="none"))
    y = rng.normal(size=(6, 2)).astype("float32")
    weight = rng.uniform(size=(6,)).astype("float32")
    y_pred = keras.ops.convert_to_numpy(model(x))
    values = _ours({"type": "MeanSquaredError", "reduction": "none"}, y_pred, y, weight)
    assert values.shape == (6,)
    reported = model.evaluate(x, y, sample_weight=weight, batch_size=6, verbose=0)
    assert float(values.mean()) == pytest.approx(reported, rel=1e-6)


def test_all_ignored_labels_give_zero_as_keras():
    y_true = np.full((2, 3), 5)
    y_pred = np.random.default_rng(0).normal(size=(2, 3, 4)).astype("float32")
    for reduction in ("sum_over_batch_size", "mean_with_sample_weight", "sum"):
        args = {"from_logits": True, "ignore_class": 5, "reduction": reduction}
        keras_value = keras.losses.SparseCategoricalCrossentropy(**args)(y_true, y_pred)
        got = _ours({"type": "SparseCategoricalCrossentropy", **args}, y_pred, y_true)
        assert float(got) == float(keras_value) == 0.0


def test_ignored_labels_get_no_gradient_and_stay_finite():
    y_true = torch.tensor([[0, -1, 2]])
    probs = torch.softmax(torch.randn(1, 3, 3), -1).requires_grad_(True)
    fn = loss_of({"type": "SparseCategoricalCrossentropy", "ignore_class": -1}).function()
    fn(probs, y_true).backward()
    assert torch.isfinite(probs.grad).all()
    assert (probs.grad[0, 1] == 0).all()


def test_ctc_infeasible_alignment_is_inf_as_keras():
    y_true = np.array([[1, 1]])  # needs 3 steps (a blank between the 1s)
    y_pred = np.zeros((1, 2, 3), dtype="float32")
    expected = float(keras.losses.CTC()(y_true, y_pred))
    assert expected == float(_ours("ctc", y_pred, y_true)) == float("inf")


@pytest.mark.parametrize(
    "value",
    [
        {"type": "MeanSquaredError", "reduction": "mean_over_batch"},
        {"type": "CategoricalGeneralizedCrossEntropy", "q": 1.0},
        {"type": "SparseCategoricalCrossentropy", "ignore_class": "void"},
        {"type": "CategoricalFocalCrossentropy", "alpha": "balanced"},
        {"type": "CTC", "from_logits": True},
    ],
)
def test_invalid_arguments_are_rejected(value):
    with pytest.raises(ValidationError):
        loss_of(value)


def test_null_reduction_and_list_arguments_validate():
    assert loss_of({"type": "Huber", "reduction": None}).reduction is None
    assert loss_of({"type": "Dice", "axis": [1, 2]}).axis == [1, 2]
    assert loss_of({"type": "CategoricalFocalCrossentropy", "alpha": [0.5, 1.0]}).alpha == [
        0.5,
        1.0,
    ]


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight"])
def test_output_mask_is_kerass_mask_on_y_pred(reduction):
    """`mask` (a masked sequence output's mask) joins ignore_class's, as the Keras mask that a
    Masking layer leaves on y_pred."""
    rng = np.random.default_rng(3)
    y_pred = torch.as_tensor(rng.normal(size=(4, 5, 3)).astype("float32"))
    y_true = np.where(rng.uniform(size=(4, 5)) < 0.3, -1, rng.integers(0, 3, size=(4, 5)))
    mask = torch.as_tensor(rng.uniform(size=(4, 5)) < 0.7)
    weight = rng.uniform(size=(4, 5)).astype("float32")
    args = {"from_logits": True, "ignore_class": -1, "reduction": reduction}
    masked = y_pred.clone()
    set_keras_mask(masked, mask)
    keras_loss = keras.losses.SparseCategoricalCrossentropy(**args)
    expected = keras.ops.convert_to_numpy(keras_loss(y_true, masked, sample_weight=weight))
    fn = loss_of({"type": "SparseCategoricalCrossentropy", **args}).function()
    got = fn(y_pred, torch.as_tensor(y_true), sample_weight=torch.as_tensor(weight), mask=mask)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)
    mse = loss_of({"type": "MeanSquaredError", "reduction": reduction}).function()
    y = torch.as_tensor(rng.normal(size=(4, 5, 3)).astype("float32"))
    keras_mse = keras.losses.MeanSquaredError(reduction=reduction)(y.numpy(), masked)
    np.testing.assert_allclose(mse(y_pred, y, mask=mask).numpy(), keras_mse.numpy(), rtol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_per_sample_weights_weigh_every_step(reduction):
    """(batch,) weights on (batch, steps) values: Keras 3 fails; netspec gives Keras's loss
    with (batch, 1) weights."""
    rng = np.random.default_rng(4)
    y_true, y_pred = (rng.normal(size=(4, 5, 3)).astype("float32") for _ in range(2))
    weight = rng.uniform(size=(4,)).astype("float32")
    keras_loss = keras.losses.MeanSquaredError(reduction=reduction)
    with pytest.raises(RuntimeError):
        keras_loss(y_true, y_pred, sample_weight=weight)
    expected = keras_loss(y_true, y_pred, sample_weight=weight[:, None])
    got = _ours({"type": "MeanSquaredError", "reduction": reduction}, y_pred, y_true, weight)
    np.testing.assert_allclose(got.numpy(), keras.ops.convert_to_numpy(expected), rtol=1e-6)
