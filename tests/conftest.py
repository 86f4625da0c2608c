"""Test set-up: Keras 3 runs on the torch backend (no TensorFlow)."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Under pytest-xdist each worker gets one intra-op thread: with torch's default (one per core)
# in every worker, the workers' OpenMP threads fight over the cores and training tests run
# many times slower. Subprocesses started by tests inherit the limit through the environment.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)


import gc  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _library_gc_policy():
    """A test that runs the console script's `cli.main` in this process leaves the collector
    paused (the script's policy, for a process that then exits): give the next test of the
    worker the library's policy back, so tests do not depend on their order."""
    yield
    from netspec import heap

    if heap.paused() or not gc.isenabled() or gc.get_freeze_count():
        heap.restore()
