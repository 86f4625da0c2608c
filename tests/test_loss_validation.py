"""What validation says about losses that the spec alone shows cannot train."""

import netspec
from netspec.errors import SpecError

SPEC = """
netspec: 1
input_shape: [4]
layers: [{type: Dense, units: 3}]
compile: {loss: %s}
train: {epochs: 1}
"""


def _messages(loss: str) -> list[str]:
    try:
        netspec.loads(SPEC % loss)
    except SpecError as exc:
        return [str(d) for d in exc.diagnostics]
    return []


def test_reduction_none_cannot_train_but_other_reductions_can():
    for ok in ("sum", "mean", "sum_over_batch_size", "mean_with_sample_weight"):
        assert _messages(f"{{type: MeanSquaredError, reduction: {ok}}}") == []
    (message,) = _messages("{type: MeanSquaredError, reduction: none}")
    assert "compile.loss.reduction: reduction none leaves one loss value per sample" in message


def test_reduction_none_is_fine_without_a_train_section():
    spec = (SPEC % "{type: MeanSquaredError, reduction: none}").replace("train: {epochs: 1}", "")
    assert netspec.loads(spec).compile.loss.reduction == "none"


def test_a_class_index_loss_needs_two_classes_but_circle_does_not():
    one = SPEC.replace("units: 3", "units: 1")
    try:
        netspec.loads(one % "sparse_categorical_crossentropy")
    except SpecError as exc:
        assert "needs one output value per class" in str(exc)
    else:
        raise AssertionError("a 1-unit output passed a sparse loss")
    assert netspec.loads(one % "{type: Circle}").compile.loss.type == "Circle"
