"""The pre-commit hook, run by the real pre-commit tool on a temporary repository.

The hook is taken from `.pre-commit-hooks.yaml` as published, with `language: system` instead
of `python` so that pre-commit uses this environment's netspec rather than installing netspec
and torch again (README shows both ways).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow  # the pre-commit tool, git
ROOT = Path(__file__).resolve().parent.parent
GOOD = (ROOT / "specs" / "mnist_mlp.yaml").read_text()
BAD = "netspec: 1\ninput_shape: [4]\nlayers:\n  - {type: Dense, unit: 3}\n"


@pytest.fixture
def repo(tmp_path):
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    local = {**hook, "language": "system"}
    config = {"repos": [{"repo": "local", "hooks": [local]}]}
    (tmp_path / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "specs").mkdir()
    env = {
        **os.environ,
        # the console script `netspec` of this environment, first on PATH
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
        "PRE_COMMIT_HOME": str(tmp_path / ".cache"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    git = shutil.which("git")
    subprocess.run([git, "init", "-q"], cwd=tmp_path, check=True, env=env)
    return tmp_path, env


def pre_commit(repo_dir: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=repo_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_hook_passes_good_specs_and_fails_bad_ones_with_located_errors(repo):
    path, env = repo
    assert shutil.which("netspec", path=env["PATH"]), "install netspec first (pip install -e .)"
    (path / "specs" / "good.yaml").write_text(GOOD)
    (path / "notes.yaml").write_text("not: a spec\n")  # outside specs/: not checked
    subprocess.run(["git", "add", "-A"], cwd=path, check=True, env=env)
    ok = pre_commit(path, env, "run", "--all-files")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "netspec validate" in ok.stdout and "Passed" in ok.stdout

    (path / "specs" / "bad.yaml").write_text(BAD)
    subprocess.run(["git", "add", "-A"], cwd=path, check=True, env=env)
    bad = pre_commit(path, env, "run", "--all-files")
    assert bad.returncode == 1
    assert "Failed" in bad.stdout
    assert (
        "specs/bad.yaml:4:19: layers[0].unit: unknown key 'unit'; did you mean 'units'?"
        in bad.stdout
    )


def add_and_commit(path: Path, env: dict, message: str) -> subprocess.CompletedProcess:
    """`git add -A` then `git commit` (which runs the installed hook)."""
    subprocess.run(["git", "add", "-A"], cwd=path, check=True, env=env)
    return subprocess.run(
        ["git", "commit", "-qm", message],
        cwd=path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_installed_hook_blocks_a_commit_of_a_bad_spec(repo):
    path, env = repo
    assert pre_commit(path, env, "install").returncode == 0
    (path / "specs" / "bad.yaml").write_text(BAD)
    commit = add_and_commit(path, env, "bad")
    assert commit.returncode != 0
    assert "layers[0].unit" in commit.stdout + commit.stderr
    (path / "specs" / "bad.yaml").write_text(GOOD)
    commit = add_and_commit(path, env, "good")
    assert commit.returncode == 0, commit.stdout + commit.stderr
