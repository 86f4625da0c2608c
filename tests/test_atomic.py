"""The run folder's writes: whole files or none (`atomic.py`), and safetensors files streamed
from the tensors' memory (`runs.write_tensors`)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from netspec.training.output.atomic import write_atomic, write_atomic_with
from netspec.training.output.runs import write_tensors


def test_write_atomic_replaces_whole_files(tmp_path: Path):
    path = tmp_path / "f.json"
    write_atomic(path, b"old")
    write_atomic(path, b"new")
    assert path.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path: Path):
    path = tmp_path / "weights.safetensors"
    write_atomic(path, b"old")

    def half_then_fail(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic_with(path, half_then_fail)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["weights.safetensors"]


def test_write_tensors_with_shared_memory_and_metadata(tmp_path: Path):
    # tied weights (one tensor under two names) and two views of one buffer: safetensors
    # refuses tensors that share memory, so those are written as copies
    weight = torch.arange(6.0).reshape(2, 3)
    buffer = torch.arange(8.0)
    tensors = {
        "a.kernel": weight,
        "b.kernel": weight,
        "low": buffer[:4],
        "high": buffer[4:],
        "t": weight.t(),  # not contiguous
    }
    path = tmp_path / "w.safetensors"
    write_tensors(path, tensors, metadata={"netspec": '{"epoch": 3}'})
    back = load_file(str(path))
    assert set(back) == set(tensors)
    for key, value in tensors.items():
        assert torch.equal(back[key], value), key
    with safe_open(str(path), framework="pt") as f:
        assert f.metadata() == {"netspec": '{"epoch": 3}'}
    assert torch.equal(weight, torch.arange(6.0).reshape(2, 3))  # the originals untouched
