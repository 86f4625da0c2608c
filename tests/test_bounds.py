"""Numbers torch cannot take are refused by validate, located: floats past float32, sizes past
MAX_SIZE, shapes past MAX_ELEMENTS values, seeds past torch.manual_seed's range."""

import pytest
import torch

from netspec.errors import SpecError
from netspec.loader import loads
from netspec.vocab.bounds import FLOAT32_MAX, MAX_SIZE, SEED_END

HEAD = "netspec: 1\ninput_shape: [4]\nlayers:\n"


def problems(body: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        loads(HEAD + body, "t.yaml")
    return [f"{d.line}:{d.col}: {d.path}: {d.message}" for d in info.value.diagnostics]


@pytest.mark.parametrize(
    ("layer", "path"),
    [
        (
            "{type: Dense, units: 2, kernel_initializer: {type: Constant, value: 1e300}}",
            "layers[0].kernel_initializer.value",
        ),
        (
            "{type: Dense, units: 2, activation: {type: leaky_relu, negative_slope: 1e308}}",
            "layers[0].activation.negative_slope",
        ),
        (
            "{type: Activation, activation: {type: relu, max_value: -1e300}}",
            "layers[0].activation.max_value",
        ),
        (
            "{type: Dense, units: 2, kernel_regularizer: {type: L2, l2: 1e39}}",
            "layers[0].kernel_regularizer.l2",
        ),
        ("{type: Masking, mask_value: .inf}", "layers[0].mask_value"),
        ("{type: Dense, units: 0xFFFFFFFFFFFFFFFFFFFF}", "layers[0].units"),
        ("{type: RepeatVector, n: 2147483648}", "layers[0].n"),
        ("{type: Dropout, rate: 0.5, seed: 18446744073709551616}", "layers[0].seed"),
        (
            "{type: Dense, units: 2, kernel_initializer: {type: HeNormal, seed: -1}}",
            "layers[0].kernel_initializer.seed",
        ),
    ],
)
def test_values_torch_cannot_take_are_located(layer, path):
    (message,) = problems(f"  - {layer}\n")
    assert message.startswith("4:") and f": {path}: should be" in message


def test_pool_strides_and_sizes_are_bounded():
    body = "  - {type: Reshape, target_shape: [4, 1]}\n"
    body += "  - {type: MaxPooling1D, pool_size: 2, strides: 0x4000000000000000}\n"
    (message,) = problems(body)
    assert (
        message.startswith("5:") and "layers[1].strides: should be less than or equal to" in message
    )


def test_products_of_shapes_are_bounded():
    big = MAX_SIZE
    text = f"netspec: 1\ninput_shape: [{big}, {big}, {big}]\nlayers:\n  - {{type: Flatten}}\n"
    with pytest.raises(SpecError) as info:
        loads(text, "t.yaml")
    assert "too large for torch" in str(info.value)


def test_train_seed_is_bounded():
    text = HEAD + "  - {type: Dense, units: 1}\ntrain: {seed: 18446744073709551616}\n"
    with pytest.raises(SpecError, match=r"train.seed: should be less than 18446744073709551616"):
        loads(text, "t.yaml")


def test_the_bounds_are_torchs():
    torch.Generator().manual_seed(SEED_END - 1)  # the largest seed accepted
    with pytest.raises((RuntimeError, ValueError)):
        torch.Generator().manual_seed(SEED_END)
    assert torch.tensor(FLOAT32_MAX, dtype=torch.float32).isfinite()
    assert not torch.tensor(FLOAT32_MAX * 1.0000001, dtype=torch.float32).isfinite()
    spec = loads(
        HEAD + f"  - {{type: Dense, units: 2, kernel_initializer: "
        f"{{type: Constant, value: {FLOAT32_MAX!r}}}}}\n"
    )
    assert spec.layers[0].kernel_initializer.value == FLOAT32_MAX


def test_a_float32_bound_is_written_as_a_person_reads_it():
    """pydantic would print the bound as 340282346638528860000000000000000000000."""
    (message,) = problems("  - {type: LeakyReLU, negative_slope: 1e308}\n")
    assert message == (
        "4:39: layers[0].negative_slope: should be less than or equal to 3.4028235e+38 "
        "(the float32 range) (got 1e+308)"
    )
