"""Parse + validate + build time of a 200-layer spec, in-process, after the imports.

The spec is 200 Dense(64) with relu on a 64-wide input (written to a temporary file). Contenders,
timed in alternating rounds (medians):

  netspec load+build   netspec.build(netspec.load(path), seed=0): read, YAML, pydantic, graph
                       with shapes, weights sampled, torch module
  netspec load         netspec.load(path) only: validation, no torch work
  nn.Sequential        nn.Sequential of the same 200 nn.Linear(64, 64) + nn.ReLU (the baseline)
  keras from_config    keras.Sequential.from_config of the same model's config (--keras only:
                       importing Keras and building 200 layers takes seconds)

The first call in the process (pydantic schema assembly, lazy torch-side imports) is reported
apart. Goal: netspec load+build under 25 ms. `--profile` prints cProfile's top functions of
load+build instead.

    python bench/build_time.py [--quick] [--keras] [--profile] [--layers N]
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import common

GOAL_MS = 25.0


def keras_contender(layers: int, width: int):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    start = time.perf_counter()
    import keras

    print(f"keras {keras.__version__} imported in {time.perf_counter() - start:.2f} s "
          f"(backend {keras.backend.backend()})")
    model = keras.Sequential([keras.Input((width,))]
                             + [keras.layers.Dense(width, activation="relu")
                                for _ in range(layers)])
    config = model.get_config()

    def from_config():
        return keras.Sequential.from_config(config)

    return from_config


def profile(build, top: int = 25) -> None:
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    for _ in range(20):
        build()
    prof.disable()
    stats = pstats.Stats(prof)
    print(f"\ncProfile of 20 x load+build, top {top} by cumulative time:")
    stats.sort_stats("cumulative").print_stats(top)
    print(f"top {top} by own (tottime) time:")
    stats.sort_stats("tottime").print_stats(top)


def main() -> None:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--keras", action="store_true", help="also time keras from_config (slow)")
    p.add_argument("--profile", action="store_true", help="cProfile load+build and exit")
    p.add_argument("--layers", type=int, default=200, help="Dense layers in the spec (200)")
    args = p.parse_args()
    layers, width = args.layers, 64

    t0 = time.perf_counter()
    import torch
    t1 = time.perf_counter()
    from torch import nn

    import netspec
    t2 = time.perf_counter()
    print(f"build_time: {common.machine()}; import torch {t1 - t0:.2f} s, "
          f"then import netspec {(t2 - t1) * 1e3:.1f} ms")

    tmp = tempfile.TemporaryDirectory()
    path = Path(tmp.name) / "deep.yaml"
    path.write_text(common.dense_spec(width, [width] * layers), encoding="utf-8")

    def load():
        return netspec.load(path)

    def load_build():
        return netspec.build(netspec.load(path), seed=0)

    def sequential():
        parts = []
        for _ in range(layers):
            parts += [nn.Linear(width, width), nn.ReLU()]
        return nn.Sequential(*parts)

    start = time.perf_counter()
    spec = load()
    first_load = time.perf_counter() - start
    start = time.perf_counter()
    model = netspec.build(spec, seed=0)
    first_build = time.perf_counter() - start
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params == sum(p.numel() for p in sequential().parameters())
    assert torch.equal(load_build()(torch.ones(2, width)), load_build()(torch.ones(2, width)))
    print(f"spec: {layers} x Dense({width}, relu), {n_params:,} parameters, "
          f"{len(path.read_bytes()):,} bytes of YAML")
    print(f"first call in the process: load {first_load * 1e3:.1f} ms, "
          f"then build {first_build * 1e3:.1f} ms")

    if args.profile:
        profile(load_build)
        return

    contenders = {"nn.Sequential": sequential, "netspec load+build": load_build,
                  "netspec load": load}
    if args.keras:
        contenders["keras from_config"] = keras_contender(layers, width)
    rounds = (5 if args.keras else 8) if args.quick else (15 if args.keras else 40)
    result = common.alternate(contenders, rounds=rounds, number=1, warmup=2)
    common.report(result, "nn.Sequential", f"{layers}-layer model, one construction per round")

    build_ms = result.median("netspec load+build") * 1e3
    load_ms = result.median("netspec load") * 1e3
    ratio = result.paired_ratio("netspec load+build", "nn.Sequential")
    keras_part = ""
    if args.keras:
        keras_part = (f"; keras Sequential.from_config "
                      f"{common.fmt_time(result.median('keras from_config'))} "
                      f"({result.paired_ratio('keras from_config', 'netspec load+build'):.0f}x "
                      "netspec)")
    print(f"\nnetspec load+build {build_ms:.1f} ms (goal < {GOAL_MS:.0f} ms: "
          f"{'met' if build_ms < GOAL_MS else 'MISSED'}), {ratio:.2f}x nn.Sequential")
    print(f"SUMMARY build_time: {layers} x Dense(64) spec, {common.machine()}: "
          f"netspec load+validate+build {build_ms:.1f} ms "
          f"(goal < {GOAL_MS:.0f} ms: {'met' if build_ms < GOAL_MS else 'MISSED'}), "
          f"validate only {load_ms:.1f} ms, nn.Sequential "
          f"{common.fmt_time(result.median('nn.Sequential'))} "
          f"(netspec/nn.Sequential {ratio:.2f}x){keras_part}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
