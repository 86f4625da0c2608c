"""Wall time of `netspec validate SPEC` as a whole process vs a Python that imports yaml+pydantic.

What a user waits for when validating a spec from the shell (or a pre-commit hook): interpreter
start, imports, read, validate, print. Contenders, one process per round each, alternating
(medians):

  import yaml, pydantic     python -c "import yaml, pydantic" (the baseline)
  cli.py validate           python cli.py validate SPEC (from the repository root)
  netspec validate          the `netspec` console script, when it is on PATH
  + pydantic.BaseModel      python -c "import yaml; from pydantic import BaseModel" (reference:
                            `import pydantic` alone is lazy and imports little)

Then, once each: whether torch got imported by validate (`-X importtime`, and in-process through
the CLI and through netspec.load), and the heaviest imports of the validate process.
Goal: cli.py validate / baseline <= 3, and no torch.

    python bench/validate_process.py [--quick] [--rounds N] [--layers N] [--top N]
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import common

GOAL = 3.0
# The validate path, run in-process: through the CLI (typer), and through the library.
CLI_SNIPPET = """
import runpy, sys
sys.argv = ["cli.py", "validate", "--quiet", {spec!r}]
try:
    runpy.run_path("cli.py", run_name="__main__")
except SystemExit as exc:
    assert not exc.code, exc.code
print("torch" in sys.modules)
"""
# Where the time of a validate process goes, after interpreter start-up (one child process).
PHASES_SNIPPET = """
import time
t0 = time.perf_counter()
import typer
t1 = time.perf_counter()
import pydantic.main
t2 = time.perf_counter()
import netspec.loader
t3 = time.perf_counter()
netspec.loader.load({spec!r})
t4 = time.perf_counter()
netspec.loader.load({spec!r})
t5 = time.perf_counter()
print(f"import typer {{(t1 - t0) * 1e3:.1f}} ms, then pydantic.main {{(t2 - t1) * 1e3:.1f}} ms, "
      f"then netspec {{(t3 - t2) * 1e3:.1f}} ms; first load {{(t4 - t3) * 1e3:.1f}} ms "
      f"(layer union, plugins), second load {{(t5 - t4) * 1e3:.1f}} ms")
"""
LIB_SNIPPET = """
import sys
import netspec
netspec.load({spec!r})
print("torch" in sys.modules)
"""


def runner(cmd: list[str]):
    def run() -> None:
        proc = subprocess.run(
            cmd, cwd=common.ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV
        )
        if proc.returncode != 0:
            raise SystemExit(
                f"{' '.join(cmd)} failed ({proc.returncode}):\n"
                f"{proc.stderr.decode(errors='replace')}"
            )

    return run


ENV = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}


def importtime(cmd: list[str]) -> list[tuple[int, int, str]]:
    """(self us, cumulative us, module with its nesting indent) of each import of `cmd`."""
    proc = subprocess.run(
        [cmd[0], "-X", "importtime", *cmd[1:]],
        cwd=common.ROOT,
        capture_output=True,
        text=True,
        env=ENV,
    )
    rows = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            rows.append((int(m.group(1)), int(m.group(2)), m.group(3)[1:] + m.group(4)))
    return rows


def python_out(code: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=common.ROOT, capture_output=True, text=True, env=ENV
    )
    if proc.returncode != 0:
        return f"error: {proc.stderr.strip().splitlines()[-1:]}"
    return proc.stdout.strip()


def main() -> None:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=None, help="processes per contender (15)")
    p.add_argument(
        "--layers", type=int, default=3, help="Dense layers in the spec (3: an MLP 784-512-512-10)"
    )
    p.add_argument("--top", type=int, default=15, help="heaviest imports to list")
    args = p.parse_args()
    common.byte_compile()  # as an installed package has it
    rounds = args.rounds or (5 if args.quick else 15)

    tmp = tempfile.TemporaryDirectory()
    spec = Path(tmp.name) / "mlp.yaml"
    widths = [512] * (args.layers - 1) + [10]
    spec.write_text(common.dense_spec(784, widths, last_activation="softmax"), encoding="utf-8")
    py = sys.executable
    contenders = {
        "import yaml, pydantic": runner([py, "-c", "import yaml, pydantic"]),
        "cli.py validate": runner([py, "cli.py", "validate", str(spec)]),
    }
    console = shutil.which("netspec")
    if console:
        contenders["netspec validate"] = runner([console, "validate", str(spec)])
    contenders["+ pydantic.BaseModel"] = runner(
        [py, "-c", "import yaml; from pydantic import BaseModel"]
    )

    print(
        f"validate_process: {common.machine()}; {rounds} processes per contender"
        f"{' (quick)' if args.quick else ''}; spec: {args.layers} Dense layers; "
        f"console script: {console or 'not on PATH'}"
    )
    result = common.alternate(contenders, rounds=rounds, number=1, warmup=1)
    common.report(
        result, "import yaml, pydantic", "whole-process wall time", unit_note="per process"
    )

    # Did validate import torch?
    rows = importtime([py, "cli.py", "validate", str(spec)])
    torch_rows = [r for r in rows if re.fullmatch(r"torch(\..*)?", r[2].strip())]
    torch_cli = python_out(CLI_SNIPPET.format(spec=str(spec)))
    torch_lib = python_out(LIB_SNIPPET.format(spec=str(spec)))
    print(
        "\ntorch imported during validate: "
        f"-X importtime cli.py validate: {'YES' if torch_rows else 'no'}"
        f"{f' ({torch_rows[0][1] / 1e3:.0f} ms)' if torch_rows else ''}; "
        f"in-process via CLI: {torch_cli}; via netspec.load: {torch_lib}"
    )

    print(
        f"\nphases of validate in a fresh process (one run, after interpreter start-up): "
        f"{python_out(PHASES_SNIPPET.format(spec=str(spec)))}"
    )
    top_level = sorted((r for r in rows if not r[2].startswith(" ")), key=lambda r: -r[1])
    print(
        "heaviest top-level imports of `cli.py validate` (-X importtime, one run; "
        "cumulative ms; the first importer of a shared module is charged for it):"
    )
    for _self_us, cum_us, name in top_level[: args.top]:
        print(f"  {cum_us / 1e3:7.1f}  {name}")
    print("heaviest imports at any depth (self ms, cumulative ms):")
    for self_us, cum_us, name in sorted(rows, key=lambda r: -r[0])[: args.top]:
        print(f"  {self_us / 1e3:7.1f} {cum_us / 1e3:7.1f}  {name.strip()}")

    ratio = result.paired_ratio("cli.py validate", "import yaml, pydantic")
    no_torch = not torch_rows and torch_cli == "False" and torch_lib == "False"
    ok = ratio <= GOAL and no_torch
    console_part = ""
    if console:
        console_part = (
            f", netspec console script "
            f"{result.paired_ratio('netspec validate', 'import yaml, pydantic'):.2f}x"
        )
    print(
        f"\ncli.py validate / import yaml, pydantic = {ratio:.2f} (goal <= {GOAL:.0f}), "
        f"torch imported: {'no' if no_torch else 'YES'} -> {common.goal(0 if ok else 1, 0)}"
    )
    print(
        f"SUMMARY validate_process: {common.machine()}: `python cli.py validate` "
        f"({args.layers}-layer spec) {common.fmt_time(result.median('cli.py validate'))} vs "
        f"`python -c 'import yaml, pydantic'` "
        f"{common.fmt_time(result.median('import yaml, pydantic'))} = {ratio:.2f}x"
        f"{console_part} (goal <= {GOAL:.0f}: {common.goal(ratio, GOAL)}); torch imported: "
        f"{'no' if no_torch else 'YES'}; yaml+BaseModel "
        f"{common.fmt_time(result.median('+ pydantic.BaseModel'))}"
    )
    tmp.cleanup()


if __name__ == "__main__":
    main()
