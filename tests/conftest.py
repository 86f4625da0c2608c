"""Test set-up: Keras 3 runs on the torch backend (no TensorFlow)."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
