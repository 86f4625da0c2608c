"""The fuzzer's CI tier (issue 10, "Nothing lost, no traceback"): 2,000 seeded cases through the
command line in process, split in four tests so that `-n 2` spreads them. Every case must exit
0 or 1 with no traceback, every error located in the file; a spec that builds runs a forward
pass whose output shapes are the static ones. tests/fuzz.py has the strategies, the oracle and
the long run (`python -m tests.fuzz --cases 100000 --seed 1 --jobs 2`).

Forward passes are run for every built spec here (cheap: small models, batch 2)."""

from __future__ import annotations

import pytest
from fuzz import check_case, structured_cases, text_cases
from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hseed

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]

SETTINGS = settings(
    max_examples=500,
    deadline=None,
    derandomize=False,  # a fixed seed per test instead: each test gets its own cases
    database=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)


def _check(case, folder) -> None:
    data, what = case
    outcome = check_case(data, str(folder))
    assert outcome.kind != "failure", (
        f"{what}\n--- input ---\n{data.decode('utf-8', 'backslashreplace')}\n"
        f"--- problems ---\n" + "\n".join(outcome.problems) + f"\n--- output ---\n{outcome.output}"
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@pytest.mark.parametrize("part", [1, 2])
def test_structured_specs(part, folder):
    """Specs composed of valid layer configurations, maybe mutated (500 cases each)."""

    @hseed(1000 + part)
    @SETTINGS
    @given(structured_cases())
    def run(case):
        _check(case, folder)

    run()


@pytest.mark.parametrize("part", [1, 2])
def test_mutated_spec_files(part, folder):
    """Byte- and YAML-level mutations of the bundled specs (500 cases each)."""

    @hseed(2000 + part)
    @SETTINGS
    @given(text_cases())
    def run(case):
        _check(case, folder)

    run()


def test_the_long_run_command(tmp_path):
    """README's long-run command, on few cases: it prints the counts and exits 0."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run(
        [sys.executable, "-m", "tests.fuzz", "--cases", "40", "--seed", "3", "--jobs", "2",
         "--save", str(tmp_path / "failures")],
        cwd=root, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("40 cases, ")
    assert proc.stdout.splitlines()[0].endswith(", 0 failures")
