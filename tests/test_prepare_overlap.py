"""`session.prepare` reads and checks the data in a thread beside the build (whose first step
imports torch): the data is the same, a data error is still the one reported when the build
fails too, and no reading thread outlives the call."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from helpers import tiny_run_files

from netspec import compiler
from netspec.errors import NetspecError
from netspec.training.engine import session


def readers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "netspec-data"]


def test_the_data_is_read_in_its_own_thread_beside_the_build(tmp_path, monkeypatch):
    spec_path, data_path = tiny_run_files(tmp_path)
    seen: list[str] = []
    real = session.load_data

    def spy(*args, **kwargs):
        seen.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(session, "load_data", spy)
    spec, model, data = session.prepare(spec_path, data_path, device="cpu")
    assert seen == ["netspec-data"]
    x = np.load(data_path)["x"]
    assert np.array_equal(data["train"].x[0], x) and model is not None
    assert not readers()


def test_a_data_error_is_reported_before_a_build_error(tmp_path, monkeypatch):
    spec_path, data_path = tiny_run_files(tmp_path, features=3)  # the spec takes 4 features

    def broken(*args, **kwargs):
        raise NetspecError("the build failed")

    monkeypatch.setattr(compiler, "build", broken)
    with pytest.raises(NetspecError, match=r"d\.npz: x has shape \(16, 3\)"):
        session.prepare(spec_path, data_path, device="cpu")
    assert not readers()


def test_a_build_error_waits_for_the_reading_thread(tmp_path, monkeypatch):
    spec_path, data_path = tiny_run_files(tmp_path)

    def broken(*args, **kwargs):
        raise NetspecError("the build failed")

    monkeypatch.setattr(compiler, "build", broken)
    with pytest.raises(NetspecError, match="the build failed"):
        session.prepare(spec_path, data_path, device="cpu")
    assert not readers()
