"""`netspec diff`: the network-level difference of two specs (layers added, removed, renamed,
changed, affected downstream; parameters per layer and in total; settings), as text, JSON and
Markdown; `git:REV:PATH`; exit 0 whatever differs, 1 with located errors; and the GitHub
Actions snippet of docs/review.md, run in a real git repository."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import yaml
from typer.testing import CliRunner

from netspec.cli import app

ROOT = Path(__file__).resolve().parent.parent
OLD = str(ROOT / "specs" / "digits_cnn.yaml")
NEW = str(ROOT / "docs" / "digits_cnn_wider.yaml")
runner = CliRunner()


def cli(*args: str):
    return runner.invoke(app, list(args))


def diff_json(old: str, new: str) -> dict:
    result = cli("diff", old, new, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_one_layer_widened_and_one_added_are_exactly_the_changes():
    doc = diff_json(OLD, NEW)
    by_status: dict[str, list[str]] = {}
    for entry in doc["layers"]:
        side = entry["new"] or entry["old"]
        by_status.setdefault(entry["status"], []).append(side["name"])
    assert by_status == {
        "changed": ["conv2d_1"],  # widened
        "downstream": ["flatten", "dropout"],  # its wider output flows through them
        "added": ["dense"],
        "renamed": ["dense_1"],  # the classifier: Keras's automatic name moved on
    }
    widened = doc["layers"][0]
    assert widened["changes"] == [{"key": "filters", "old": 64, "new": 96}]
    assert widened["old"]["output_shape"] == [4, 4, 64]
    assert widened["new"]["output_shape"] == [4, 4, 96]
    assert (widened["old"]["params"], widened["new"]["params"]) == (18_496, 27_744)  # 3*3*32*f+f
    added = doc["layers"][3]
    assert added["new"] == {
        "name": "dense",
        "type": "Dense",
        "output_shape": [32],
        "params": 49_184,
    }
    classifier = doc["layers"][4]
    assert classifier["old"]["name"] == "dense" and classifier["inputs"] is None
    assert (classifier["old"]["params"], classifier["new"]["params"]) == (10_250, 330)
    assert doc["old"]["total_params"] == 29_066 and doc["new"]["total_params"] == 77_578
    assert doc["settings"] == []
    assert doc["counts"] == {"added": 1, "removed": 0, "changed": 1, "renamed": 1, "downstream": 2}


def test_the_reverse_diff_removes_the_layer():
    doc = diff_json(NEW, OLD)
    assert [e["status"] for e in doc["layers"]].count("removed") == 1
    removed = next(e for e in doc["layers"] if e["status"] == "removed")
    assert removed["old"]["name"] == "dense" and removed["new"] is None


def test_named_layers_match_by_name_and_settings_are_compared(tmp_path):
    text = (ROOT / "specs" / "two_tower.yaml").read_text()
    changed = (
        text.replace(
            "{type: Dense, units: 16, name: item_vec}",
            "{type: Dense, units: 16, name: item_embedding}",
        )  # fmt: skip
        .replace("[user_vec, item_vec]", "[user_vec, item_embedding]")
        .replace(
            "units: 64, activation: relu, inputs: user",
            "units: 128, activation: relu, inputs: user",
        )
        + "compile:\n  optimizer: {type: SGD, learning_rate: 0.1}\n  loss: mse\n"
    )
    new = tmp_path / "two_tower.yaml"
    new.write_text(changed)
    result = cli("diff", str(ROOT / "specs" / "two_tower.yaml"), str(new))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1] == "layers: 1 changed, 1 renamed, 1 downstream"
    assert "  ~ user_hidden (Dense): units: 64 -> 128; output (None, 64) -> (None, 128); " \
        "params 2,112 -> 4,224 (+2,112)" in lines  # fmt: skip
    assert "  > user_vec (Dense): output (None, 16); params 1,040 -> 2,064 (+1,024)" in lines
    assert "  ~ item_embedding (Dense): renamed from item_vec; output (None, 16); params 1,040" \
        in lines  # fmt: skip
    assert "total params: 6,337 -> 9,473 (+3,136)" in lines
    settings = lines[lines.index("settings:") + 1 :]
    assert settings[:2] == ["  compile.optimizer.type: null -> SGD",
                            "  compile.optimizer.learning_rate: null -> 0.1"]  # fmt: skip


def test_no_difference_and_markdown_table():
    result = cli("diff", OLD, OLD)
    assert result.exit_code == 0
    assert result.stdout == f"{OLD} -> {OLD}\nno difference between the networks\n"
    result = cli("diff", OLD, NEW, "--markdown")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[2] == "| | Layer | Type | Change | Output shape | Params |"
    assert lines[3] == "|---|---|---|---|---|---|"
    assert lines[4] == (
        "| ~ | `conv2d_1` | Conv2D | filters: 64 → 96 | (None, 4, 4, 64) → (None, 4, 4, 96) "
        "| 18,496 → 27,744 (+9,248) |"
    )
    assert all(len(re.split(r"(?<!\\)\|", line)) == 8 for line in lines[2:])  # six cells a row
    assert lines[-1] == "| | **Total** | | | | 29,066 → 77,578 (+48,512) |"


def test_invalid_specs_exit_1_with_every_located_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("netspec: 1\ninput_shape: [4]\nlayers:\n  - {type: Dense, units: 0}\n")
    worse = tmp_path / "worse.yaml"
    worse.write_text("netspec: 1\ninput_shape: [4]\nlayers:\n  - {type: Dense, unit: 3}\n")
    result = cli("diff", str(bad), str(worse))
    assert result.exit_code == 1
    assert f"{bad}:4:26: layers[0].units: should be greater than 0" in result.stderr
    assert f"{worse}:4:" in result.stderr and "Traceback" not in result.output
    assert cli("diff", OLD, str(tmp_path / "missing.yaml")).exit_code == 1


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}  # fmt: skip
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def snippet_step(name: str) -> str:
    """The shell of one step of docs/review.md's workflow."""
    text = (ROOT / "docs" / "review.md").read_text()
    workflow = yaml.safe_load(text.split("```yaml\n", 1)[1].split("```", 1)[0])
    steps = workflow["jobs"]["diff"]["steps"]
    return next(s["run"] for s in steps if s.get("name") == name)


def test_git_revisions_and_the_ci_snippet(tmp_path, monkeypatch):
    """In a fresh repository: a spec committed, then changed on a branch; `git:REV:PATH` reads
    the committed one; the workflow's diff step writes the Markdown comment for it."""
    repo = tmp_path / "repo"
    (repo / "specs").mkdir(parents=True)
    spec = repo / "specs" / "digits_cnn.yaml"
    spec.write_text(Path(OLD).read_text())
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "base")
    base = git(repo, "rev-parse", "HEAD")
    spec.write_text(Path(NEW).read_text())
    git(repo, "commit", "-q", "-am", "wider")
    monkeypatch.chdir(repo)
    result = cli("diff", f"git:{base}:specs/digits_cnn.yaml", "specs/digits_cnn.yaml")
    assert result.exit_code == 0, result.output
    assert "  + dense (Dense): output (None, 32); params 49,184" in result.stdout
    result = cli("diff", "git:nope:specs/digits_cnn.yaml", "specs/digits_cnn.yaml")
    assert result.exit_code == 1 and result.stderr.startswith("git:nope:specs/digits_cnn.yaml: ")
    script = snippet_step("Diff the changed specs").replace(
        "${{ github.event.pull_request.base.sha }}", base
    )
    done = subprocess.run(["bash", "-e", "-c", script], cwd=repo, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    comment = (repo / "diff.md").read_text()
    assert comment.startswith(f"### netspec diff: `git:{base}:specs/digits_cnn.yaml` → ")
    assert "| + | `dense` | Dense | added | (None, 32) | 49,184 |" in comment
