"""The run folder under concurrency, spec changes on --resume and file-system errors: one writer
per folder, unique default folders, spec.yaml never rewritten, and a write that fails (full
disk, read-only file system, a file or a dangling link in the way) is one line naming the path,
exit 1, with every file written before it whole and the run resumable."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from netspec.cli import app
from netspec.training.engine.session import train
from netspec.training.output.lock import acquire, create_default

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()

SPEC = """netspec: 1
name: small
input_shape: [4]
layers:
  - {type: Dense, units: UNITS, activation: relu}
  - {type: Dense, units: 3, activation: softmax}
compile:
  optimizer: {type: Adam, learning_rate: 0.01}
  loss: sparse_categorical_crossentropy
train: {epochs: 2, batch_size: 8, seed: 0}
"""


@pytest.fixture()
def files(tmp_path):
    """(spec, data): a 2-epoch MLP on 32 samples."""
    spec = tmp_path / "small.yaml"
    spec.write_text(SPEC.replace("UNITS", "8"))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    data = tmp_path / "d.npz"
    np.savez(data, x=x, y=(x[:, 0] > 0).astype("int64"))
    return spec, data


def quiet(*args, **kwargs):
    return train(*args, echo=lambda line: None, **kwargs)


def cli(*args: str, cwd=None, preexec_fn=None) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("NETSPEC_TEST_KILL_AT", None)
    return subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), *args], cwd=cwd, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=preexec_fn,
    )  # fmt: skip


def invoke(*args: str):
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert "Traceback" not in result.output
    return result


def one_line_error(result, *needles: str) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# -- one writer per folder ------------------------------------------------------------------


@pytest.mark.slow  # CLI processes
def test_a_second_writer_is_refused_at_once_naming_the_holder(tmp_path, files):
    spec, data = files
    run = tmp_path / "run"
    run.mkdir()
    lock = acquire(run, "wait")  # this test process holds the folder
    try:
        proc = cli("train", str(spec), "--data", str(data), "--out", str(run), "-q")
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 1, err
        assert f"{run}: in use by another netspec process (pid {os.getpid()} on " in err
        assert "Traceback" not in err and not (run / "run.json").exists()
    finally:
        lock.release()
    quiet(spec, data, out=run)  # free again
    lock = acquire(run, "wait")
    try:
        result = invoke("train", "--resume", str(run), "--epochs", "3")
    finally:
        lock.release()
    one_line_error(result, "in use by another netspec process")


@pytest.mark.slow  # CLI processes
def test_concurrent_trainings_into_one_folder(tmp_path, files):
    """Three processes, one --out: exactly one trains; the others are refused (while it
    trains, or after: the folder then holds its run), none with a traceback."""
    spec, data = files
    run = tmp_path / "run"
    args = ("train", str(spec), "--data", str(data), "--out", str(run), "-q")
    procs = [cli(*args) for _ in range(3)]
    results = [(p.wait(timeout=600), *p.communicate()) for p in procs]
    winners = [r for r in results if r[0] == 0]
    assert len(winners) == 1, results
    assert winners[0][1].count("run saved to") == 1
    for code, out, err in results:
        if code != 0:
            assert code == 1 and "run saved" not in out, (out, err)
            assert "in use by another netspec process" in err or "already holds a run" in err
            assert "Traceback" not in err
    load_file(str(run / "weights.safetensors"))


@pytest.mark.slow  # CLI processes
def test_default_folders_are_unique(tmp_path, files):
    spec, data = files
    first, second = create_default(tmp_path / "runs", "x"), create_default(tmp_path / "runs", "x")
    assert first != second and first.is_dir() and second.is_dir()
    procs = [cli("train", str(spec), "--data", str(data), "-q", cwd=tmp_path) for _ in range(3)]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    made = [f for f in (tmp_path / "runs").iterdir() if f.name.startswith("small-")]
    assert len(made) == 3
    for run in made:
        load_file(str(run / "weights.safetensors"))


# -- --resume and the spec ------------------------------------------------------------------


@pytest.mark.slow  # training runs
def test_resume_may_change_only_epochs_callbacks_and_learning_rate(tmp_path, files):
    spec, data = files
    run, _ = quiet(spec, data, out=tmp_path / "run")
    original = (run / "spec.yaml").read_bytes()
    for args in (["--set", "layers.0.units=16"], ["--batch-size", "4"], ["--seed", "3"]):
        result = invoke("train", "--resume", str(run), "--epochs", "4", *args)
        one_line_error(result, "--resume may change only train.epochs")
    lr = "compile.optimizer.learning_rate=0.5"
    result = invoke("train", "--resume", str(run), "--epochs", "4", "--set", lr, "-q")
    assert result.exit_code == 0, result.output
    assert (run / "spec.yaml").read_bytes() == original  # still the first epochs' spec
    info = json.loads((run / "run.json").read_text())
    assert info["resumes"][-1]["from_epoch"] == 2 and info["final_epoch"] == 4
    assert sorted(info["resumes"][-1]["set"]) == sorted([lr, "train.epochs=4"])
    assert json.loads((run / "checkpoint.json").read_text())["optimizer"]["lr"] == [0.5]
    assert len(json.loads((run / "history.json").read_text())["loss"]) == 4
    # the recorded changes belong to the run: a plain --resume sees 4 epochs, all done
    one_line_error(invoke("train", "--resume", str(run)), "finished after 4 epochs")


@pytest.mark.slow  # training runs
def test_a_run_stopped_before_its_first_checkpoint_restarts(tmp_path, files):
    """What a Ctrl-C or a failure in epoch 1 leaves (run.json, spec.yaml, no checkpoint)
    resumes by training again from epoch 0, to the uninterrupted run's weights."""
    spec, data = files
    whole, _ = quiet(spec, data, out=tmp_path / "whole")
    run, _ = quiet(spec, data, out=tmp_path / "run")
    for name in ("checkpoint.safetensors", "checkpoint.json", "weights.safetensors",
                 "history.json", "history.csv", "curves.png"):  # fmt: skip
        (run / name).unlink()
    info = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({k: v for k, v in info.items() if k != "final_epoch"}))
    (run / ".weights.safetensors.abc123.tmp").write_bytes(b"half a file")
    result = invoke("train", "--resume", str(run), "-q")
    assert result.exit_code == 0, result.output
    assert "training again from epoch 1" in result.stdout
    assert not (run / ".weights.safetensors.abc123.tmp").exists()  # a kill's leftover
    a, b = (
        load_file(str(whole / "weights.safetensors")),
        load_file(str(run / "weights.safetensors")),
    )
    assert all(torch.equal(a[k], b[k]) for k in a)


# -- file-system errors ---------------------------------------------------------------------


def test_out_below_a_file_or_a_dangling_link(tmp_path, files):
    spec, data = files
    (tmp_path / "somefile").write_text("mine")
    result = invoke(
        "train", str(spec), "--data", str(data), "--out", str(tmp_path / "somefile/run")
    )
    one_line_error(result, f"{tmp_path / 'somefile/run'}: cannot create the run folder: Not a")
    (tmp_path / "link").symlink_to(tmp_path / "missing")
    result = invoke("train", str(spec), "--data", str(data), "--out", str(tmp_path / "link"))
    one_line_error(result, f"{tmp_path / 'link'}: a symbolic link to a missing folder")
    assert (tmp_path / "somefile").read_text() == "mine" and not (tmp_path / "missing").exists()


@pytest.fixture()
def mount(tmp_path):
    """mount(name, options): a tmpfs at tmp_path/name, unmounted afterwards. The project's
    machines (developers' and CI's) run as root and may mount: a failure to mount fails the
    test rather than hiding it."""
    mounted = []

    def make(name: str, options: str) -> Path:
        path = tmp_path / name
        path.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                              capture_output=True, text=True)  # fmt: skip
        assert done.returncode == 0, f"cannot mount a tmpfs here: {done.stderr.strip()}"
        mounted.append(path)
        return path

    yield make
    for path in mounted:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.mark.slow  # a tmpfs mount, a training run
def test_a_read_only_file_system(tmp_path, files, mount):
    spec, data = files
    ro = mount("ro", "ro,size=1m")
    result = invoke("train", str(spec), "--data", str(data), "--out", str(ro / "run"))
    one_line_error(result, f"{ro / 'run'}: cannot create the run folder: Read-only file system")
    run, _ = quiet(spec, data, out=tmp_path / "run")
    result = invoke("predict", str(spec), "--weights", str(run / "weights.safetensors"),
                    "--data", str(data), "-o", str(ro / "p.npz"))  # fmt: skip
    one_line_error(result, f"{ro / 'p.npz'}: cannot write predictions: Read-only file system")


@pytest.mark.slow  # a tmpfs mount, training runs
def test_a_full_disk_keeps_the_last_checkpoint(tmp_path, files, mount):
    """The second checkpoint does not fit: one line naming it, the first one whole, and once
    there is room the run resumes to the uninterrupted run's weights."""
    spec, data = files
    spec.write_text(SPEC.replace("UNITS", "1024"))  # a checkpoint of about 100 KB
    whole, _ = quiet(spec, data, out=tmp_path / "whole")
    disk = mount("disk", "size=180k")
    result = invoke("train", str(spec), "--data", str(data), "--out", str(disk / "run"), "-q")
    one_line_error(result, f"{disk / 'run'}/checkpoint.safetensors: cannot write: No space left")
    assert json.loads((disk / "run/checkpoint.json").read_text())["epoch"] == 1
    load_file(str(disk / "run/checkpoint.safetensors"))
    assert not [f for f in (disk / "run").iterdir() if f.name.endswith(".tmp")]
    subprocess.run(["mount", "-o", "remount,size=4m", str(disk)], check=True)
    result = invoke("train", "--resume", str(disk / "run"), "-q")
    assert result.exit_code == 0, result.output
    a = load_file(str(whole / "weights.safetensors"))
    b = load_file(str(disk / "run/weights.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def _file_size_limit() -> None:
    # a write past 64 KiB fails with EFBIG (Python ignores SIGXFSZ): a full disk without mount
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))


@pytest.mark.slow  # training runs
def test_a_write_that_fails_is_one_line_and_loses_nothing(tmp_path, files):
    spec, data = files
    spec.write_text(SPEC.replace("UNITS", "1024"))  # the checkpoint is over the limit
    run = tmp_path / "run"
    proc = cli("train", str(spec), "--data", str(data), "--out", str(run), "-q",
               preexec_fn=_file_size_limit)  # fmt: skip
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 1, err
    assert err.strip() == (
        f"{run}/checkpoint.safetensors: cannot write: File too large; the files written before "
        f"are intact (continue with `netspec train --resume {run}` once it can be written)"
    )
    assert {f.name for f in run.iterdir()} == {".lock", "run.json", "spec.yaml", "history.json",
                                               "history.csv"}  # fmt: skip
    result = invoke("train", "--resume", str(run), "-q")  # no limit here: trained again
    assert result.exit_code == 0, result.output


@pytest.fixture()
def immutable(tmp_path):
    """A folder no one may write into, root included (`chattr +i`, as root cannot be refused
    by file modes); the test fails where the file system has no such attribute."""
    path = tmp_path / "locked"
    path.mkdir()
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, f"cannot make a folder immutable here: {done.stderr.strip()}"
    yield path
    subprocess.run(["chattr", "-i", str(path)], check=False)


@pytest.mark.slow  # training runs
def test_permission_denied_is_one_line(tmp_path, files, immutable):
    spec, data = files
    result = invoke("train", str(spec), "--data", str(data), "--out", str(immutable / "run"))
    one_line_error(result, f"{immutable / 'run'}: cannot create the run folder: ", "not permitted")
    result = invoke("train", str(spec), "--data", str(data), "--out", str(immutable))
    one_line_error(result, str(immutable), "not permitted")
    run, _ = quiet(spec, data, out=tmp_path / "run")
    result = invoke("predict", str(spec), "--weights", str(run / "weights.safetensors"),
                    "--data", str(data), "-o", str(immutable / "p.npz"))  # fmt: skip
    one_line_error(result, f"{immutable / 'p.npz'}: cannot write predictions: ", "not permitted")
    assert not list(immutable.iterdir())
