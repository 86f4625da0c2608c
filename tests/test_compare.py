"""`netspec compare`: three real runs of the digits example at different learning rates (made
by README's commands): the table's epochs, final and best values, the settings that differ,
the JSON, the overlay picture; errors. README's "Seeing and reviewing models" section: every
command it shows runs, and the diff it shows is what `netspec diff` prints."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from netspec.cli import app
from netspec.review.compare import read_runs
from netspec.review.compare_plot import _figure

ROOT = Path(__file__).resolve().parent.parent
TITLE = "## Seeing and reviewing models"
runner = CliRunner()
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")


def cli(*args: str):
    return runner.invoke(app, list(args))


def section() -> str:
    text = (ROOT / "README.md").read_text()
    return text.split(TITLE, 1)[1].split("\n## ", 1)[0]


def blocks(kind: str) -> list[str]:
    return [b.split("```", 1)[0] for b in section().split(f"```{kind}\n")[1:]]


def commands(block: str) -> list[list[str]]:
    lines = [line.removeprefix("$ ") for line in block.splitlines()]
    found = [shlex.split(line) for line in lines if line.startswith("netspec ")]
    assert found and all(argv[0] == "netspec" for argv in found)
    return [argv[1:] for argv in found]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """README's training commands, run in a folder that has the specs: the run folders."""
    folder = tmp_path_factory.mktemp("compare")
    (folder / "specs").symlink_to(ROOT / "specs")
    trains = [argv for argv in commands(blocks("bash")[0]) if argv[0] == "train"]
    assert len(trains) == 3
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        for argv in trains:
            result = cli(*argv)
            assert result.exit_code == 0, result.output
    return folder, [folder / argv[argv.index("--out") + 1] for argv in trains]


@pytest.mark.slow
def test_table_of_final_and_best_values_and_differing_settings(runs):
    _, paths = runs
    result = cli("compare", *map(str, paths), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    rates = {}
    for run, path in zip(doc["runs"], paths, strict=True):
        history = json.loads((path / "history.json").read_text())
        assert run["run"] == path.name and run["epochs"] == 3
        assert run["wall_time_s"] >= 0
        assert set(run["metrics"]) == {"loss", "val_loss", "accuracy", "val_accuracy"}
        for key, values in history.items():
            found = run["metrics"][key]
            assert found["final"] == values[-1]
            best = (max if "accuracy" in key else min)(values)  # Keras's mode: auto
            assert found["best"] == best and values[found["best_epoch"] - 1] == best
        rates[path.name] = run
    assert doc["settings"] == [
        {"key": "compile.optimizer.learning_rate", "values": [0.01, 0.003, 0.001]}
    ]
    text = cli("compare", *map(str, paths))
    assert text.exit_code == 0
    lines = text.stdout.splitlines()
    rows = {line.split("│")[1].strip() for line in lines if line.startswith("│")}
    assert rows >= {"epochs", "wall time", "loss", "val_loss", "accuracy", "val_accuracy",
                    "compile.optimizer.learning_rate"}  # fmt: skip
    header = next(line for line in lines if line.startswith("┃"))
    assert [c.strip() for c in header.split("┃")[2:-1]] == [p.name for p in paths]


@pytest.mark.slow
def test_overlay_has_a_panel_per_metric_and_a_line_per_run_and_split(runs, tmp_path):
    _, paths = runs
    found = read_runs(paths)
    fig = _figure(found, None)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["loss", "accuracy"]
    for ax, name in zip(panels, ("loss", "accuracy"), strict=True):
        lines = ax.get_lines()
        assert len(lines) == 6  # three runs, training and validation
        for line, (run, key) in zip(
            lines, [(r, k) for r in found for k in (name, f"val_{name}")], strict=True
        ):
            assert list(line.get_ydata()) == run.history[key]
            assert line.get_linestyle() == ("--" if key.startswith("val_") else "-")
    out = tmp_path / "compare.png"
    result = cli("compare", *map(str, paths), "-o", str(out))
    assert result.exit_code == 0 and result.stdout.endswith(f"wrote {out}\n")
    with Image.open(out) as png:
        assert png.format == "PNG" and png.size[0] == 1000


def test_errors_exit_1(tmp_path):
    result = cli("compare", str(tmp_path / "nope"))
    assert result.exit_code == 1 and result.stderr == f"{tmp_path / 'nope'}: no such run folder\n"
    result = cli("compare", str(tmp_path))
    assert result.exit_code == 1
    assert result.stderr == f"{tmp_path}: no history.json: the run has no epoch yet\n"


@pytest.mark.slow
def test_readme_section_commands_run_as_shown(runs, tmp_path, monkeypatch):
    folder, _ = runs
    (folder / "docs").mkdir(exist_ok=True)
    (folder / "docs" / "digits_cnn_wider.yaml").write_text(
        (ROOT / "docs" / "digits_cnn_wider.yaml").read_text()
    )
    monkeypatch.chdir(folder)
    shown = blocks("console")
    assert len(shown) == 2
    for block in shown:  # each command with its output, as printed
        parts = block.split("$ ")[1:]
        for part in parts:
            line, _, output = part.partition("\n")
            result = cli(*shlex.split(line)[1:])
            assert result.exit_code == 0, result.output
            assert result.stdout == output
    for argv in commands(blocks("bash")[0]):
        if argv[0] == "compare":
            result = cli(*argv)
            assert result.exit_code == 0, result.output
            assert (folder / argv[argv.index("-o") + 1]).is_file()
    text = (ROOT / "README.md").read_text()
    assert "docs/review.md" in section() and "](docs/resnet_blocks.svg)" in section()
    assert text.index("## Exporting") < text.index(TITLE)
