"""README's fine-tuning commands (specs/finetune_mobilenetv2.yaml), as written: the first run
trains the head over a frozen MobileNetV2 base (its weights and BatchNormalization statistics
untouched), the second starts from the first run's weights and trains the base from
block_13_expand on, the layers before it unchanged."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import netspec
from tests.test_readme_blocks import commands

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "finetune_mobilenetv2.yaml"


def layer_of(key: str) -> str:
    return key.split(".")[1]


@pytest.mark.slow
def test_readme_finetuning_commands(tmp_path):
    shown = [c for c, _ in commands() if "finetune_mobilenetv2" in c]
    assert len(shown) == 2
    (tmp_path / "specs").symlink_to(ROOT / "specs")
    for command in shown:
        argv = shlex.split(command)
        done = subprocess.run([sys.executable, "-m", "netspec", *argv[1:]], cwd=tmp_path,
                              capture_output=True, text=True)  # fmt: skip
        assert done.returncode == 0, done.stderr
    valid = netspec.load(SPEC)
    start = netspec.build(valid, seed=0).state_dict()
    head = load_file(tmp_path / "runs/head/weights.safetensors")
    fine = load_file(tmp_path / "runs/fine/weights.safetensors")
    base = {n.name for n in valid.graph.nodes[3:-2]}  # the nested model's layers
    names = [n.name for n in valid.graph.nodes]
    top = set(names[names.index("block_13_expand") : -2])
    assert base >= top and "Conv1" in base
    for key, value in start.items():
        layer = layer_of(key)
        if layer in base:  # frozen in the first run: weights and BN statistics as built
            assert torch.equal(head[key], value), key
        if layer in base - top:  # frozen in both runs
            assert torch.equal(fine[key], head[key]), key
    changed = {layer_of(k) for k in head if not torch.equal(fine[k], head[k])}
    assert "predictions" in changed and "block_13_expand" in changed and "Conv_1" in changed
    assert changed <= top | {"predictions"}
    assert not torch.equal(head["layers.predictions.kernel"], start["layers.predictions.kernel"])
