"""Labels that are not one value per output value reach the losses that take them: class
indices with Keras's `ignore_class`, CTC's padded label sequences, Circle's group ids. The data
checks accept them (and still refuse what is wrong), and `evaluate` gives Keras's loss."""

import os

import numpy as np
import pytest

import netspec
from netspec.errors import NetspecError

os.environ.setdefault("KERAS_BACKEND", "torch")

SPEC = """
netspec: 1
input_shape: %s
layers: [{type: Dense, units: %d}]
compile: {loss: %s}
train: {epochs: 1, batch_size: 4, seed: 0}
"""


def _keras_loss(loss, y, pred) -> float:
    return float(np.asarray(loss(y, pred).detach().cpu()))


def _model(shape, units, loss):
    return netspec.build(netspec.loads(SPEC % (shape, units, loss)), seed=0)


def test_ignore_class_labels_pass_the_data_checks_and_give_keras_loss():
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 4)).astype("float32")
    y = rng.integers(0, 3, size=12)
    y[[1, 5, 6]] = -1
    loss = "{type: SparseCategoricalCrossentropy, from_logits: true, ignore_class: -1}"
    model = _model([4], 3, loss)
    got = netspec.evaluate(model, x, y, batch_size=len(x))  # one batch, as the oracle
    oracle = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    assert got == pytest.approx(_keras_loss(oracle, y, netspec.predict(model, x)), rel=1e-5)
    y[0] = 7  # a label that is neither a class nor ignore_class
    with pytest.raises(NetspecError, match=r"labels from 0 to 7 \(besides ignore_class -1\)"):
        netspec.evaluate(model, x, y, batch_size=len(x))


def test_ctc_takes_padded_label_sequences():
    import keras

    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 10, 3)).astype("float32")
    y = rng.integers(1, 5, size=(6, 4))
    y[:, 3] = 0  # padding
    model = _model([10, 3], 5, "{type: CTC}")
    got = netspec.evaluate(model, x, y, batch_size=len(x))  # one batch, as the oracle
    oracle = keras.losses.CTC()
    assert got == pytest.approx(_keras_loss(oracle, y, netspec.predict(model, x)), rel=1e-5)
    with pytest.raises(NetspecError, match="integer labels"):
        netspec.evaluate(model, x, y.astype("float32"))


def test_circle_takes_group_ids_beyond_the_embedding_width():
    import keras

    rng = np.random.default_rng(2)
    x = rng.normal(size=(8, 4)).astype("float32")
    y = np.array([0, 0, 5, 5, 9, 9, 0, 5])  # ids above the 3-wide embedding are fine
    model = _model([4], 3, "{type: Circle}")
    got = netspec.evaluate(model, x, y, batch_size=len(x))  # one batch, as the oracle
    oracle = keras.losses.Circle()
    assert got == pytest.approx(_keras_loss(oracle, y, netspec.predict(model, x)), rel=1e-5)
