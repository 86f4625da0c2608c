"""CUDA: built models run on the GPU and agree with the CPU (skipped only where no GPU exists)."""

from pathlib import Path

import pytest
import torch

import netspec

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU here")


@pytest.fixture(autouse=True)
def full_float32():
    """Compare in full float32: PyTorch's default lets cuDNN (convolutions, RNNs) use TF32,
    whose 10-bit mantissa differs from the CPU by ~1e-3."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))


def _inputs(spec, batch=4, device="cpu"):
    gen = torch.Generator().manual_seed(0)
    out = []
    for inp in spec.graph.inputs:
        shape = (batch, *[d or 5 for d in inp.shape])
        if inp.dtype.startswith("int"):
            out.append(torch.randint(0, 10, shape, generator=gen).to(device))
        else:
            out.append(torch.randn(shape, generator=gen).to(device))
    return out


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_example_specs_on_cuda_match_cpu(path):
    spec = netspec.load(path)
    cpu = netspec.build(spec, seed=0).eval()
    gpu = netspec.build(spec, seed=0, device="cuda").eval()
    assert all(p.device.type == "cuda" for p in gpu.parameters())
    out_cpu = cpu(*_inputs(spec))
    out_gpu = gpu(*_inputs(spec, device="cuda"))
    outs = zip(
        out_cpu if isinstance(out_cpu, tuple) else (out_cpu,),
        out_gpu if isinstance(out_gpu, tuple) else (out_gpu,),
        strict=True,
    )
    for a, b in outs:
        assert torch.allclose(a, b.cpu(), atol=1e-4, rtol=1e-4)


def test_penalties_constraints_and_backward_on_cuda():
    model = netspec.build(
        {
            "netspec": 1,
            "input_shape": [6],
            "layers": [
                {
                    "type": "Dense",
                    "units": 3,
                    "kernel_regularizer": "l2",
                    "activity_regularizer": "l1",
                    "kernel_constraint": {"type": "MaxNorm", "max_value": 0.1},
                }
            ],
        },
        seed=0,
        device="cuda",
    )
    out = model(torch.randn(8, 6, device="cuda"))
    loss = out.square().mean() + model.losses()
    loss.backward()
    assert model.layers["dense"].kernel.grad.device.type == "cuda"
    model.apply_constraints()
    norms = model.layers["dense"].kernel.norm(dim=1)  # torch layout (out, in): Keras axis 0
    assert (norms <= 0.1 + 1e-6).all()


def test_torch_compile_on_cuda():
    spec = netspec.load(ROOT / "specs" / "mnist_mlp.yaml")
    model = netspec.build(spec, seed=0, device="cuda").eval()
    x = torch.randn(16, 784, device="cuda")
    assert torch.allclose(torch.compile(model)(x), model(x), atol=1e-4)


def test_cli_build_on_cuda():
    from typer.testing import CliRunner

    from netspec.cli import app

    result = CliRunner().invoke(
        app, ["build", str(ROOT / "specs" / "mnist_mlp.yaml"), "--device", "cuda"]
    )
    assert result.exit_code == 0, result.output


def _layer_cases():
    from netspec.layers import LAYERS

    return [(name, i, ex) for name, cls in LAYERS.items() for i, ex in enumerate(cls.examples)]


@pytest.mark.parametrize(
    "name, i, example", _layer_cases(), ids=[f"{n}-{i}" for n, i, _ in _layer_cases()]
)
def test_every_layer_example_on_cuda_matches_cpu(name, i, example):
    dtypes = example.get("dtypes") or ["float32"] * len(example["inputs"])
    data = {
        "netspec": 1,
        "data_format": example.get("data_format", "channels_last"),
        "inputs": {
            f"x{k}": {"shape": list(s), "dtype": d}
            for k, (s, d) in enumerate(zip(example["inputs"], dtypes, strict=True))
        },
        "layers": [
            {"type": name, "inputs": [f"x{k}" for k in range(len(dtypes))], **example["args"]}
        ],
    }
    spec = netspec.from_data(data)
    bound = example["args"].get("input_dim", 10)
    gen = torch.Generator().manual_seed(0)
    xs = []
    for inp in spec.graph.inputs:
        shape = (3, *[d or 5 for d in inp.shape])
        x = (
            torch.randint(0, bound, shape, generator=gen)
            if inp.dtype != "float32"
            else torch.rand(shape, generator=gen) * (bound if "input_dim" in example["args"] else 1)
        )
        xs.append(x.to(getattr(torch, inp.dtype)))
    cpu = netspec.build(spec, seed=0).eval()
    gpu = netspec.build(spec, seed=0, device="cuda").eval()
    a = cpu(*xs)
    b = gpu(*[x.cuda() for x in xs])
    for u, v in zip(
        a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,), strict=True
    ):
        assert v.device.type == "cuda"
        assert torch.allclose(u.float(), v.cpu().float(), atol=1e-4, rtol=1e-4)


TRAIN_SPEC = """netspec: 1
name: tiny
input_shape: [4]
layers:
  - {type: Dense, units: 16, activation: relu, kernel_constraint: {type: MaxNorm, max_value: 2}}
  - {type: BatchNormalization}
  - {type: Dropout, rate: 0.1, seed: 3}
  - {type: Dense, units: 3, activation: softmax}
compile:
  optimizer: {type: Adam, learning_rate: 0.01, clipnorm: 1.0}
  loss: sparse_categorical_crossentropy
  metrics: [accuracy]
train: {epochs: 3, batch_size: 16, seed: 0, validation_split: 0.25}
"""


def _train_files(tmp_path):
    import numpy as np

    rng = np.random.default_rng(1)
    x = rng.normal(size=(128, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 1).astype("int64")
    (tmp_path / "tiny.yaml").write_text(TRAIN_SPEC)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    return tmp_path / "tiny.yaml", tmp_path / "d.npz"


@pytest.mark.parametrize("precision", ["32", "bf16", "16-mixed"])
def test_training_on_cuda(tmp_path, precision):
    """fit on CUDA: pinned, non-blocking batches, the fused optimizer, autocast with the
    precision; in float32 the history follows the CPU's (same seed, same data)."""
    from netspec.training.engine.session import train

    spec, data = _train_files(tmp_path)
    quiet = {"echo": lambda line: None}
    run, history = train(
        spec, data, out=tmp_path / "gpu", device="cuda", precision=precision, **quiet
    )
    assert history["loss"][-1] < history["loss"][0]
    model = netspec.load_run(run, device="cuda")
    assert all(p.device.type == "cuda" and p.dtype == torch.float32 for p in model.parameters())
    if precision == "32":
        _, cpu = train(spec, data, out=tmp_path / "cpu", device="cpu", **quiet)
        # not bit-equal: dropout masks come from the CUDA generator
        assert history["val_loss"] == pytest.approx(cpu["val_loss"], rel=0.3)


def test_resume_on_cuda_continues_the_run(tmp_path):
    from netspec.training.engine.session import train

    spec, data = _train_files(tmp_path)
    quiet = {"echo": lambda line: None}
    _, whole = train(spec, data, out=tmp_path / "whole", device="cuda", **quiet)
    part, _ = train(
        spec, data, out=tmp_path / "part", device="cuda", overrides=["train.epochs=1"], **quiet
    )
    _, resumed = train(
        None, None, resume=part, device="cuda", overrides=["train.epochs=3"], **quiet
    )
    assert resumed["loss"] == pytest.approx(whole["loss"], rel=1e-4)
