"""Data-parallel training on torch.distributed with gloo, 2 processes on the CPU: `netspec train
--nproc 2` and `torchrun ... -m netspec train` write one run folder whose weights and history
equal the 1-process run's (no dropout; BatchNormalization `synchronized: true`); resumes cross
process counts; a worker killed mid-run stops the run with a clear message, or is restarted
and continues from the checkpoint with `--max-restarts`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from safetensors.numpy import load_file

pytestmark = pytest.mark.slow  # processes

ROOT = Path(__file__).resolve().parent.parent
CNN = {
    "netspec": 1,
    "name": "cnn",
    "input_shape": [8, 8, 1],
    "layers": [
        {"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": "same"},
        {"type": "BatchNormalization", "synchronized": True},
        {"type": "Activation", "activation": "relu"},
        {"type": "MaxPooling2D"},
        {"type": "Flatten"},
        {
            "type": "Dense",
            "units": 1,
            "activation": "sigmoid",
            "kernel_regularizer": {"type": "L2", "l2": 0.001},
        },
    ],  # fmt: skip
    "compile": {
        "optimizer": {"type": "SGD", "learning_rate": 0.05, "momentum": 0.9},
        "loss": "binary_crossentropy",
        "metrics": ["accuracy", "auc", "precision"],  # mean and confusion-matrix states
    },
    "train": {"epochs": 3, "batch_size": 16, "seed": 3, "validation_split": 0.25},
}


@pytest.fixture
def work(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(71, 8, 8, 1)).astype("float32")  # 53 training rows: a last batch of 5
    np.savez(tmp_path / "d.npz", x=x, y=rng.integers(0, 2, size=(71, 1)).astype("float32"))
    (tmp_path / "cnn.yaml").write_text(yaml.safe_dump(CNN))
    return tmp_path


# What a loaded machine can do to gloo's start-up (a peer not yet listening when the others
# connect): the group never formed. Such a run is started once more; any other failure, and a
# second one of these, fails the test.
START_UP = ("could not join the other processes", "connectFullMesh")


def netspec(cwd: Path, *args: str, check: bool = True, launcher: tuple[str, ...] = ()):
    command = [*launcher, "-m", "netspec", *args] if launcher else [
        sys.executable, "-m", "netspec", *args]  # fmt: skip
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
    if done.returncode and any(s in done.stderr for s in START_UP) and "--out" in args:
        shutil.rmtree(cwd / args[args.index("--out") + 1], ignore_errors=True)
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def same_run(a: Path, b: Path, tol: float = 1e-6) -> None:
    """Equal weights and history, up to float rounding (the sums over ranks)."""
    wa, wb = load_file(a / "weights.safetensors"), load_file(b / "weights.safetensors")
    assert wa.keys() == wb.keys()
    assert max(float(np.abs(wa[k] - wb[k]).max()) for k in wa) <= tol
    ha, hb = (json.loads((r / "history.json").read_text()) for r in (a, b))
    assert ha.keys() == hb.keys()
    for key in ha:
        np.testing.assert_allclose(ha[key], hb[key], rtol=tol, atol=tol, err_msg=key)


def test_nproc_2_equals_one_process(work):
    one = netspec(work, "train", "cnn.yaml", "--data", "d.npz", "--out", "one", "-q")
    two = netspec(work, "train", "cnn.yaml", "--data", "d.npz", "--out", "two", "-q",
                  "--nproc", "2")  # fmt: skip
    same_run(work / "one", work / "two")
    # rank 0 alone prints: each epoch's line once, and one "run saved" line
    assert two.stdout.count("Epoch 3/3") == 1 == one.stdout.count("Epoch 3/3")
    assert two.stdout.count("run saved to two") == 1
    assert sorted(p.name for p in work.iterdir() if p.is_dir()) == ["one", "two"]
    # the same seed gives the same run for a given number of processes
    netspec(work, "train", "cnn.yaml", "--data", "d.npz", "--out", "again", "-q", "--nproc", "2")
    same_run(work / "two", work / "again", tol=0.0)


def test_torchrun_equals_one_process(work):
    torchrun = shutil.which("torchrun") or pytest.fail("torchrun is not on PATH")
    netspec(work, "train", "cnn.yaml", "--data", "d.npz", "--out", "one", "-q")
    netspec(work, "train", "cnn.yaml", "--data", "d.npz", "--out", "tr", "-q",
            launcher=(torchrun, "--standalone", "--nproc-per-node", "2"))  # fmt: skip
    same_run(work / "one", work / "tr")


def test_default_run_folder_is_one(work):
    netspec(work, "train", "cnn.yaml", "--data", "d.npz", "-q", "--nproc", "2")
    runs = list((work / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "weights.safetensors").is_file()


def test_resume_across_process_counts(work):
    netspec(work, "train", "cnn.yaml", "--data", "d.npz", "--out", "full", "-q", "--epochs", "4")
    netspec(work, "train", "cnn.yaml", "--data", "d.npz", "--out", "part", "-q", "--nproc", "2",
            "--epochs", "2")  # fmt: skip
    netspec(work, "train", "--resume", "part", "-q", "--epochs", "3")  # one process
    netspec(work, "train", "--resume", "part", "-q", "--epochs", "4", "--nproc", "2")
    same_run(work / "full", work / "part")


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def kill_a_worker_once_checkpointed(work: Path, *args: str) -> subprocess.CompletedProcess:
    """Start a 2-process run, kill -9 one worker once the first checkpoint is written."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "netspec", "train", "cnn.yaml", "--data", "d.npz",
               "--out", "run", "-q", "--nproc", "2", "--epochs", "40", *args]  # fmt: skip
    proc = subprocess.Popen(command, cwd=work, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 300
    while not (work / "run" / "checkpoint.json").is_file():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    workers = children(proc.pid)
    assert len(workers) == 2, workers
    os.kill(workers[-1], signal.SIGKILL)
    try:
        out, err = proc.communicate(timeout=400)
    except subprocess.TimeoutExpired:  # a restarted group that never formed: say so
        proc.kill()
        out, err = proc.communicate()
        err += "\n(timed out)"
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


def test_a_killed_worker_stops_the_run_with_a_message(work):
    done = kill_a_worker_once_checkpointed(work)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "training stopped: rank 1 was killed by signal 9" in done.stderr
    assert "Traceback" not in done.stderr
    # the run keeps its checkpoint: it continues on one process
    netspec(work, "train", "--resume", "run", "-q", "--epochs", "41")
    history = json.loads((work / "run" / "history.json").read_text())
    assert len(history["loss"]) == 41


def test_torchrun_rendezvous_as_on_several_nodes(work):
    """README's multi-node command, with one node: torchrun's c10d rendezvous at an endpoint."""
    import socket

    torchrun = shutil.which("torchrun") or pytest.fail("torchrun is not on PATH")
    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    netspec(work, "train", "cnn.yaml", "--data", "d.npz", "--out", "one", "-q")
    netspec(work, "train", "cnn.yaml", "--data", "d.npz", "--out", "nodes", "-q",
            launcher=(torchrun, "--nnodes", "1", "--nproc-per-node", "2", "--rdzv-backend",
                      "c10d", "--rdzv-endpoint", f"localhost:{port}"))  # fmt: skip
    same_run(work / "one", work / "nodes")


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("### Several processes (data-parallel, torch.distributed)", 1)[1]
    block = section.split("```console\n", 1)[1].split("```", 1)[0]
    return [line[2:] for line in block.splitlines() if line.startswith("$ ")]


def test_readme_commands_run(tmp_path):
    """The section's commands, as shown, in a folder holding the example spec and data."""
    import shlex

    (tmp_path / "specs" / "data").mkdir(parents=True)
    shutil.copy(ROOT / "specs" / "digits_cnn.yaml", tmp_path / "specs")
    shutil.copy(ROOT / "specs" / "data" / "digits.npz", tmp_path / "specs" / "data")
    commands = readme_commands()
    assert any("--nproc 2" in c for c in commands) and any("torchrun" in c for c in commands)
    for command in commands:
        argv = shlex.split(command)
        if argv[0] == "torchrun":
            split = argv.index("-m")
            tool = shutil.which("torchrun") or pytest.fail("torchrun is not on PATH")
            netspec(tmp_path, *argv[split + 2 :], launcher=(tool, *argv[1:split]))
        else:
            netspec(tmp_path, *argv[1:])
    history = json.loads((tmp_path / "runs" / "digits-2p" / "history.json").read_text())
    assert len(history["loss"]) == 3
    assert (tmp_path / "runs" / "digits-torchrun" / "weights.safetensors").is_file()


def test_bad_input_is_reported_once_before_any_worker_starts(work):
    done = netspec(work, "train", "cnn.yaml", "--data", "missing.npz", "--nproc", "2",
                   check=False)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip() == "missing.npz: no such file or directory"
    (work / "bad.yaml").write_text("netspec: 1\ninput_shape: [4]\nlayers:\n  - {type: Dense}\n")
    done = netspec(work, "train", "bad.yaml", "--data", "d.npz", "--nproc", "2", check=False)
    assert done.returncode == 1
    assert done.stderr.count("bad.yaml:4:5: layers[0]: missing required key 'units'") == 1
    assert not (work / "runs").exists()


def gpus() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


@pytest.mark.skipif(gpus() < 2, reason="no GPU here (NCCL needs 2)")
def test_nccl_on_gpus_equals_one_gpu(work):
    """With GPUs, the workers take NCCL and one GPU each (cuda:LOCAL_RANK)."""
    n = str(gpus())
    netspec(work, "train", "cnn.yaml", "--data", "d.npz", "--out", "one", "-q", "--device", "cuda")
    netspec(work, "train", "cnn.yaml", "--data", "d.npz", "--out", "all", "-q", "--device",
            "cuda", "--nproc", n)  # fmt: skip
    same_run(work / "one", work / "all", tol=1e-5)  # cuDNN's sums differ in order
