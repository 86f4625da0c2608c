"""Golden error messages: each tests/golden/NAME.yaml must produce exactly NAME.err.

Regenerate after an intended change with
`NETSPEC_UPDATE_GOLDEN=1 pytest tests/test_golden_errors.py`
and review the diff.
"""

import os
from pathlib import Path

import pytest

from netspec.errors import SpecError
from netspec.loader import load

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = sorted((ROOT / "tests" / "golden").glob("*.yaml"))


@pytest.mark.parametrize("spec", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_golden_errors(spec, monkeypatch):
    monkeypatch.chdir(ROOT)
    relative = spec.relative_to(ROOT)
    with pytest.raises(SpecError) as info:
        load(relative)
    got = str(info.value) + "\n"
    expected = spec.with_suffix(".err")
    if os.environ.get("NETSPEC_UPDATE_GOLDEN"):
        expected.write_text(got)
    assert got == expected.read_text()


def test_every_diagnostic_has_a_real_position():
    for spec in GOLDEN:
        lines = spec.read_text().splitlines()
        try:
            load(spec)
        except SpecError as exc:
            for d in exc.diagnostics:
                assert 1 <= d.line <= max(len(lines), 1), d
                assert 1 <= d.col <= len(lines[d.line - 1]) + 1, d


SECTIONS = [p for p in GOLDEN if p.stem.startswith("sections")]


@pytest.mark.parametrize("spec", SECTIONS, ids=[p.stem for p in SECTIONS])
def test_train_reports_the_same_located_problems_before_reading_data(spec, monkeypatch, capsys):
    """What `netspec validate` reports of the compile/train sections, `netspec train` reports
    word for word, before it looks at the data (here a file that does not exist)."""
    from netspec.cli import main

    monkeypatch.chdir(ROOT)
    relative = spec.relative_to(ROOT)
    expected = spec.with_suffix(".err").read_text()
    for argv in (["validate", str(relative)], ["train", str(relative), "--data", "nowhere.npz"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 1
        assert capsys.readouterr().err == expected, argv
