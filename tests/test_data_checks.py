"""Data checked before training, evaluating or predicting (issue 10): byte order, NaN and
infinities, Embedding indices, complete x/y pairs, .npy headers and zip members that declare
more than they hold or than the memory budget, unreadable zip members; weights of another
dtype. Real files, real numpy and torch."""

from __future__ import annotations

import io
import re
import struct
import zipfile

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import netspec
from netspec.cli import app
from netspec.errors import NetspecError
from netspec.loader import loads
from netspec.training.engine.data import embeddings_fed, load_data
from netspec.training.output.runs import load_weights, write_tensors

runner = CliRunner()

TINY = """netspec: 1
name: tiny
input_shape: [4]
layers:
  - {type: Dense, units: 3, activation: softmax}
compile: {optimizer: adam, loss: sparse_categorical_crossentropy}
train: {epochs: 1, batch_size: 16, seed: 0}
"""

EMBED = """netspec: 1
name: embed
inputs: {a: {shape: [3], dtype: int64}, b: {shape: [2], dtype: float32}, c: {shape: [4]}}
layers:
  - {type: Embedding, input_dim: 10, output_dim: 2, inputs: a, name: emb}
  - {type: Reshape, target_shape: [2], inputs: b, name: r}
  - {type: Concatenate, axis: 1, inputs: [r, c], name: cat}
  - {type: Embedding, input_dim: 5, output_dim: 2, inputs: cat, name: emb2}
  - {type: Flatten, inputs: emb, name: fa}
  - {type: Flatten, inputs: emb2, name: fb}
  - {type: Concatenate, inputs: [fa, fb]}
  - {type: Dense, units: 1}
compile: {optimizer: adam, loss: mse}
"""


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def refused(result, message: str):
    assert result.exit_code == 1, result.output
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.output


@pytest.fixture()
def tiny(tmp_path):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    return spec, x, (x[:, 0] > 0).astype("int64")


@pytest.mark.slow  # a training run
def test_big_endian_arrays_are_used_in_native_order(tiny, tmp_path):
    spec_path, x, y = tiny
    spec = loads(TINY)
    np.savez(tmp_path / "be.npz", x=x.astype(">f4"), y=y.astype(">i8"))
    folder = tmp_path / "be"
    folder.mkdir()
    np.save(folder / "x.npy", x.astype(">f4"))
    np.save(folder / "y.npy", y.astype(">i8"))
    for source in (tmp_path / "be.npz", folder):
        data = load_data(source, spec)["train"]
        assert all(a.dtype.isnative for a in data.x + data.y)
        np.testing.assert_array_equal(data.x[0], x)
        np.testing.assert_array_equal(data.y[0], y)
    result = cli("train", spec_path, "--data", tmp_path / "be.npz", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output


@pytest.mark.slow  # training runs
def test_nan_and_inf_are_refused_unless_allowed(tiny, tmp_path):
    spec, x, y = tiny
    bad = x.copy()
    bad[17, 2] = np.nan
    np.savez(tmp_path / "nan.npz", x=bad, y=y)
    data, out = tmp_path / "nan.npz", tmp_path / "run"
    message = f"{data}: x has NaN or inf at row 17; pass --allow-nonfinite to use it"
    refused(cli("train", spec, "--data", data, "--out", out), message)
    assert not out.exists()
    # allowed, the NaN reaches the loss: TerminateOnNaN (on by default) stops the run
    stopped = cli("train", spec, "--data", data, "--out", tmp_path / "s", "--allow-nonfinite")
    assert stopped.exit_code == 1 and "the loss is NaN or infinite" in stopped.output
    off = "train.terminate_on_nan=false"
    done = cli("train", spec, "--data", data, "--out", out, "--allow-nonfinite", "--set", off)
    assert done.exit_code == 0, done.output
    weights = out / "weights.safetensors"
    refused(cli("evaluate", spec, "--weights", weights, "--data", data), message)
    refused(
        cli("predict", spec, "--weights", weights, "--data", data, "-o", tmp_path / "p.npz"),
        message,
    )
    result = cli("evaluate", spec, "--weights", weights, "--data", data, "--allow-nonfinite")
    assert result.exit_code == 0, result.output
    regression = loads(TINY.replace("sparse_categorical_crossentropy", "mse"))
    np.savez(
        tmp_path / "inf.npz",
        x=x,
        y=np.where(np.arange(64)[:, None] == 40, np.inf, 0.5) * np.ones((64, 3)),
    )
    with pytest.raises(NetspecError, match="y has NaN or inf at row 40;"):
        load_data(tmp_path / "inf.npz", regression)


def test_nonfinite_values_in_a_memory_mapped_file_are_found_in_chunks(tiny, tmp_path):
    folder = tmp_path / "big"
    folder.mkdir()
    x = np.zeros((1_200_000, 4), "float32")  # 18.3 MiB: two chunks of 16 MiB
    x[1_100_000, 3] = -np.inf
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", np.zeros(len(x), "int64"))
    with pytest.raises(NetspecError, match="x has NaN or inf at row 1100000;"):
        load_data(folder, loads(TINY))
    found = load_data(folder, loads(TINY), allow_nonfinite=True)["train"]
    assert isinstance(found.x[0], np.memmap)


def test_embedding_inputs_are_checked_against_input_dim(tmp_path):
    spec = loads(EMBED)
    graph = spec.graph
    assert embeddings_fed(graph, "a") == [("emb", 10)]
    assert embeddings_fed(graph, "b") == [("emb2", 5)]  # through Reshape and Concatenate
    assert embeddings_fed(graph, "c") == [("emb2", 5)]
    n = 8
    good = {
        "x_a": np.zeros((n, 3), "int64"),
        "x_b": np.full((n, 2), 4.9, "float32"),
        "x_c": np.ones((n, 4), "float32"),
        "y": np.zeros((n, 1), "float32"),
    }
    np.savez(tmp_path / "good.npz", **good)
    assert len(load_data(tmp_path / "good.npz", spec)["train"]) == n
    for key, value, message in [
        (
            "x_a",
            10,
            "x_a holds indices from 0 to 10; it feeds Embedding 'emb' with input_dim 10 "
            "(indices 0 to 9)",
        ),
        ("x_b", 5.0, "x_b holds indices from 4 to 5; it feeds Embedding 'emb2' with input_dim 5"),
        ("x_c", -1.5, "x_c holds indices from -1 to 1; it feeds Embedding 'emb2'"),
    ]:
        arrays = {k: v.copy() for k, v in good.items()}
        arrays[key][3, 0] = value
        np.savez(tmp_path / "bad.npz", **arrays)
        with pytest.raises(NetspecError, match="bad.npz: " + re.escape(message)):
            load_data(tmp_path / "bad.npz", spec)


@pytest.mark.slow  # training runs
def test_a_shared_or_time_distributed_embedding_is_checked(tmp_path):
    text = """netspec: 1
inputs: {left: {shape: [3], dtype: int32}, right: {shape: [3], dtype: int32},
         seq: {shape: [2, 3], dtype: int32}}
layers:
  - {type: Embedding, input_dim: 6, output_dim: 2, inputs: left, name: enc}
  - {type: Shared, layer: enc, inputs: right, name: enc_right}
  - {type: TimeDistributed, layer: {type: Embedding, input_dim: 4, output_dim: 2}, inputs: seq}
outputs: [enc, enc_right, time_distributed]
"""
    graph = loads(text).graph
    assert embeddings_fed(graph, "right") == [("enc_right", 6)]
    assert embeddings_fed(graph, "seq") == [("time_distributed", 4)]


def test_train_with_an_out_of_range_index_is_one_line(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(EMBED)
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "d.npz",
        x_a=rng.integers(0, 12, (16, 3)),
        x_b=np.zeros((16, 2)),
        x_c=np.zeros((16, 4)),
        y=np.zeros((16, 1)),
    )
    refused(
        cli("train", spec, "--data", tmp_path / "d.npz", "--out", tmp_path / "run"),
        "x_a holds indices from 0 to 11; it feeds Embedding 'emb'",
    )


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"x_val": 8}, "has x_val but no y_val (the labels of the val split)"),
        ({"y_val": 8}, "has y_val but no x_val (the inputs of the val split)"),
        ({"x_test": 8}, "has x_test but no y_test"),
    ],
)
def test_a_split_needs_its_inputs_and_labels(tiny, tmp_path, arrays, message):
    spec, x, y = tiny
    extra = {k: (x if k[0] == "x" else y)[:n] for k, n in arrays.items()}
    np.savez(tmp_path / "d.npz", x=x, y=y, **extra)
    refused(cli("train", spec, "--data", tmp_path / "d.npz", "--out", tmp_path / "run"), message)
    assert not (tmp_path / "run").exists()


@pytest.mark.slow  # a training run
def test_predict_needs_no_labels(tiny, tmp_path):
    spec, x, y = tiny
    np.savez(tmp_path / "d.npz", x=x, y=y)
    out = tmp_path / "run"
    assert cli("train", spec, "--data", tmp_path / "d.npz", "--out", out).exit_code == 0
    np.savez(tmp_path / "x.npz", x=x[:5], x_val=x[:3])
    args = ["--weights", out / "weights.safetensors", "--data", tmp_path / "x.npz"]
    result = cli("predict", spec, *args, "-o", tmp_path / "p.npz")
    assert result.exit_code == 0, result.output
    refused(cli("evaluate", spec, *args), "has x but no y")


def _npy(shape, dtype="<f4", data=b"") -> bytes:
    """A .npy file's bytes: a header for `shape` and `dtype`, then `data` (maybe too few)."""
    buffer = io.BytesIO()
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + data


def _zip(path, members: dict[str, bytes], method=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, raw in members.items():
            archive.writestr(name, raw)


def _patch(path, local: int, central: int, fmt: str, value: int):
    """Overwrite one field of every local and central header of the archive `path`."""
    raw = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", local), (b"PK\x01\x02", central)):
        at = raw.find(signature)
        while at >= 0:
            struct.pack_into(fmt, raw, at + offset, value)
            at = raw.find(signature, at + 4)
    path.write_bytes(bytes(raw))


def test_a_header_declaring_terabytes_is_refused_before_allocating(tmp_path):
    spec = loads(TINY)
    huge = _npy((2**40, 4), data=bytes(64))
    _zip(tmp_path / "d.npz", {"x.npy": huge, "y.npy": _npy((3,), "<i8", bytes(24))})
    with pytest.raises(
        NetspecError,
        match=r"d.npz: x.npy declares shape \(1099511627776, 4\) "
        r"of float32 \(16.0 TiB\) but holds only 64 B",
    ):
        load_data(tmp_path / "d.npz", spec)
    folder = tmp_path / "arrays"
    folder.mkdir()
    (folder / "x.npy").write_bytes(huge)
    with pytest.raises(NetspecError, match="arrays: x.npy declares shape"):
        load_data(folder, spec)
    fits = _npy((64, 4), data=bytes(1024))
    _zip(tmp_path / "ok.npz", {"x.npy": fits, "y.npy": _npy((64,), "<i8", bytes(512))})
    with pytest.raises(
        NetspecError, match="decompress to 1.8 KiB, over the memory budget of 1000 B"
    ):
        load_data(tmp_path / "ok.npz", spec, max_bytes=1000)


@pytest.mark.slow  # writes a large archive
def test_a_zip_bomb_is_refused_before_reading(tmp_path):
    spec = loads(TINY)
    bomb = tmp_path / "bomb.npz"
    _zip(bomb, {"x.npy": _npy((2**22, 4), data=bytes(2**26))}, zipfile.ZIP_DEFLATED)
    assert bomb.stat().st_size < 100_000  # 64 MiB of zeros
    with pytest.raises(
        NetspecError,
        match=r"bomb.npz: the arrays decompress to 64.0 MiB, over "
        r"the memory budget of 1.0 MiB",
    ):
        load_data(bomb, spec, max_bytes=2**20)
    for method in (zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):  # what zipfile reads is read
        _zip(tmp_path / "ok.npz", {"x.npy": _npy((2, 4), data=bytes(32))}, method)
        assert load_data(tmp_path / "ok.npz", spec, labels=False)["train"].x[0].shape == (2, 4)


def test_a_member_that_decompresses_to_more_than_it_declares_is_cut_off(tmp_path):
    spec = loads(TINY)
    liar = tmp_path / "liar.npz"
    head = _npy((16,), "<f4")  # 64 bytes of data declared, 16 MiB follow
    _zip(liar, {"x.npy": head + bytes(64 + 2**24)}, zipfile.ZIP_DEFLATED)
    _patch(liar, 22, 24, "<I", len(head) + 64)  # the zip headers' uncompressed size
    with pytest.raises(NetspecError, match="liar.npz: cannot read data: Bad CRC-32"):
        load_data(liar, spec)


def test_a_stored_member_is_read_in_place_and_its_crc_checked(tmp_path):
    import tracemalloc

    from netspec.training.engine.arrays import read_npz

    x = np.arange(2**21, dtype="<f4").reshape(2**11, 2**10)  # 8 MiB
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(3))
    tracemalloc.start()
    try:
        got = read_npz(tmp_path / "d.npz", 2**40)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.array_equal(got["x"], x) and np.array_equal(got["y"], np.arange(3))
    # numpy reports its arrays to tracemalloc: the peak is the arrays, no chunk copies
    assert peak < x.nbytes + 2**18, peak
    data = bytearray((tmp_path / "d.npz").read_bytes())
    data[data.index(x[5].tobytes())] ^= 1  # a bit of the array, past the .npy header
    (tmp_path / "bad.npz").write_bytes(bytes(data))
    with pytest.raises(NetspecError, match="bad.npz: cannot read data: Bad CRC-32"):
        load_data(tmp_path / "bad.npz", loads(TINY), labels=False)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("method", 99, "x.npy uses zip compression method 99, which cannot be read"),
        ("flags", 1, "x.npy is encrypted; save the arrays with numpy.savez"),
    ],
)
def test_unreadable_zip_members_are_one_line(tiny, tmp_path, field, value, message):
    spec, x, y = tiny
    data = tmp_path / "d.npz"
    np.savez(data, x=x, y=y)
    offsets = {"method": (8, 10), "flags": (6, 8)}[field]
    _patch(data, *offsets, "<H", value)
    refused(cli("train", spec, "--data", data, "--out", tmp_path / "run"), f"{data}: {message}")


def test_object_structured_and_0d_arrays_are_refused(tiny, tmp_path):
    spec, x, y = tiny
    objects = np.empty(64, object)
    np.savez(tmp_path / "o.npz", x=objects, y=y)  # pickled: never loaded
    folder = tmp_path / "o"
    folder.mkdir()
    np.save(folder / "x.npy", objects, allow_pickle=True)
    np.save(folder / "y.npy", y)
    for source in (tmp_path / "o.npz", folder):
        refused(
            cli("train", spec, "--data", source, "--out", tmp_path / "run"),
            "x.npy holds Python objects (dtype object), which are never loaded",
        )
    structured = np.zeros(64, [("a", "<f4"), ("b", "<f4")])
    np.savez(tmp_path / "s.npz", x=structured, y=y)
    refused(cli("train", spec, "--data", tmp_path / "s.npz"), "x has shape (64,)")
    np.savez(tmp_path / "z.npz", x=np.float32(1.0), y=y)
    refused(cli("train", spec, "--data", tmp_path / "z.npz"), "arrays differ in length (x: 0,")


@pytest.mark.parametrize("dtype", [torch.float16, torch.int64, torch.bool, torch.float64])
def test_weights_of_another_dtype_are_refused(tmp_path, dtype):
    model = netspec.build(loads(TINY), seed=0)
    state = dict(model.state_dict())
    state["layers.dense.bias"] = state["layers.dense.bias"].to(dtype)
    write_tensors(tmp_path / "w.safetensors", state)
    name = str(dtype).removeprefix("torch.")
    message = f"tensor 'layers.dense.bias' has dtype {name}; the model's is float32"
    with pytest.raises(NetspecError, match=message):
        load_weights(netspec.build(loads(TINY), seed=1), tmp_path / "w.safetensors")
