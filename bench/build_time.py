"""Parse + validate + build time of a 200-layer spec and of ResNet50, in-process, after imports.

The spec is 200 Dense(64) with relu on a 64-wide input (written to a temporary file). Contenders,
timed in alternating rounds (medians):

  netspec load+build   netspec.build(netspec.load(path), seed=0): read, YAML, pydantic, graph
                       with shapes, weights sampled, torch module
  netspec load         netspec.load(path) only: validation, no torch work
  nn.Sequential        nn.Sequential of the same 200 nn.Linear(64, 64) + nn.ReLU (the baseline)

With --keras, Keras 3 (torch backend) rebuilds the same model from its config, in a second,
shorter alternation against netspec (importing Keras and building 200 layers takes seconds):
keras.Model.from_config of the functional model, and keras.Sequential.from_config (which adds
the layers one by one and grows superlinearly with depth: seconds at 200 layers).

Then ResNet50, a big model (25.6M weights), in a second alternation:

  plain PyTorch ResNet-50   the hand-written torch.nn ResNet-50 of bench/build_resnet50.py (the
                            same layers and parameter count, torch's default initialisation;
                            the baseline)
  netspec load+build        netspec.build(netspec.load("specs/applications/resnet50.yaml"),
                            seed=0): blocks expanded, validated, Keras initialisers, modules
  netspec build             netspec.build of the already validated spec

The first call in the process (pydantic schema assembly, lazy torch-side imports) is reported
apart. Goals: netspec load+build of the 200 layers under 25 ms; of ResNet50 <= 1.5x the plain
PyTorch ResNet-50 (issue 16). `--profile` prints the time of each stage (YAML, pydantic, graph,
build) and cProfile's top functions of load+build instead; `--no-resnet` leaves ResNet50 out.

    python bench/build_time.py [--quick] [--keras] [--profile] [--no-resnet] [--layers N]
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import common

GOAL_MS = 25.0
RESNET_GOAL = 1.5  # netspec load+build / plain PyTorch ResNet-50


def resnet50(rounds: int) -> str:
    """Alternate the zoo's ResNet50 (load+build, build alone) with a plain PyTorch ResNet-50;
    print the report and return the SUMMARY's part."""
    from build_resnet50 import SPEC, torch_resnet50

    import netspec

    valid = netspec.load(SPEC)

    def count(model) -> int:  # Keras counts BatchNorm's moving statistics, torch's buffers
        tensors = [*model.parameters(), *model.buffers()]
        return sum(t.numel() for t in tensors if t.is_floating_point())

    n_ours = count(netspec.build(valid, seed=0))
    assert n_ours == count(torch_resnet50()), n_ours
    contenders = {
        "plain PyTorch ResNet-50": torch_resnet50,
        "netspec load+build": lambda: netspec.build(netspec.load(SPEC), seed=0),
        "netspec build": lambda: netspec.build(valid, seed=0),
    }
    result = common.alternate(contenders, rounds=rounds, number=1, warmup=1)
    base = "plain PyTorch ResNet-50"
    common.report(result, base, f"ResNet50 ({n_ours:,} parameters), one build per round")
    ratio = result.paired_ratio("netspec load+build", base)
    print(
        f"\nnetspec ResNet50 load+build {common.fmt_time(result.median('netspec load+build'))} "
        f"= {ratio:.2f}x plain PyTorch (goal <= {RESNET_GOAL}x: {common.goal(ratio, RESNET_GOAL)})"
    )
    return (
        f"; ResNet50 load+build {common.fmt_time(result.median('netspec load+build'))} "
        f"(build alone {common.fmt_time(result.median('netspec build'))}), plain PyTorch "
        f"ResNet-50 {common.fmt_time(result.median(base))} (netspec/plain {ratio:.2f}x, goal "
        f"<= {RESNET_GOAL}x: {common.goal(ratio, RESNET_GOAL)})"
    )


def keras_contenders(layers: int, width: int, calls: int) -> dict:
    """keras.Sequential.from_config and keras.Model.from_config (functional) of the same model.
    from_config may consume its config, so each call gets its own deep copy, made beforehand."""
    import copy

    os.environ.setdefault("KERAS_BACKEND", "torch")
    start = time.perf_counter()
    import keras

    print(
        f"keras {keras.__version__} imported in {time.perf_counter() - start:.2f} s "
        f"(backend {keras.backend.backend()})"
    )
    seq = keras.Sequential(
        [keras.Input((width,))]
        + [keras.layers.Dense(width, activation="relu") for _ in range(layers)]
    )
    x = inputs = keras.Input((width,))
    for _ in range(layers):
        x = keras.layers.Dense(width, activation="relu")(x)
    functional = keras.Model(inputs, x)
    assert seq.count_params() == functional.count_params()

    def contender(cls, config):
        copies = [copy.deepcopy(config) for _ in range(calls)]

        def from_config():
            return cls.from_config(copies.pop())

        return from_config

    return {
        "keras Sequential.from_config": contender(keras.Sequential, seq.get_config()),
        "keras Model.from_config": contender(keras.Model, functional.get_config()),
    }


def stages(text: str, rounds: int) -> None:
    """Median time of each stage of load+build (netspec internals; skipped if they moved)."""
    try:
        import netspec
        from netspec.graph import resolve
        from netspec.spec import spec_model
        from netspec.yamlio import load_yaml
    except ImportError as exc:
        print(f"(stage breakdown skipped: {exc})")
        return
    doc = load_yaml(text, "<bench>")
    spec = spec_model().model_validate(doc.data)
    validated = netspec.loads(text)
    steps = {
        "YAML with marks (yamlio.load_yaml)": lambda: load_yaml(text, "<bench>"),
        "pydantic (Spec.model_validate)": lambda: spec_model().model_validate(doc.data),
        "graph + shapes (graph.resolve)": lambda: resolve(spec, doc.data["layers"]),
        "all of netspec.loads": lambda: netspec.loads(text),
        "build of a validated spec": lambda: netspec.build(validated, seed=0),
    }
    result = common.alternate(steps, rounds=rounds, number=1, warmup=2)
    print("\nstages (medians; alternating rounds):")
    for name in steps:
        print(f"  {name:<36} {common.fmt_time(result.median(name)):>10}")


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
    p.add_argument("--no-resnet", action="store_true", help="leave ResNet50 out")
    args = p.parse_args()
    layers, width = args.layers, 64

    t0 = time.perf_counter()
    import torch

    t1 = time.perf_counter()
    from torch import nn

    import netspec

    t2 = time.perf_counter()
    print(
        f"build_time: {common.machine()}; import torch {t1 - t0:.2f} s, "
        f"then import netspec {(t2 - t1) * 1e3:.1f} ms"
    )

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
    print(
        f"spec: {layers} x Dense({width}, relu), {n_params:,} parameters, "
        f"{len(path.read_bytes()):,} bytes of YAML"
    )
    print(
        f"first call in the process: load {first_load * 1e3:.1f} ms, "
        f"then build {first_build * 1e3:.1f} ms"
    )

    if args.profile:
        stages(path.read_text(encoding="utf-8"), rounds=8 if args.quick else 30)
        profile(load_build)
        return

    contenders = {
        "nn.Sequential": sequential,
        "netspec load+build": load_build,
        "netspec load": load,
    }
    rounds = 8 if args.quick else 40
    result = common.alternate(contenders, rounds=rounds, number=1, warmup=2)
    common.report(result, "nn.Sequential", f"{layers}-layer model, one construction per round")

    build_ms = result.median("netspec load+build") * 1e3
    load_ms = result.median("netspec load") * 1e3
    ratio = result.paired_ratio("netspec load+build", "nn.Sequential")
    keras_part = ""
    if args.keras:
        # Keras takes seconds per model: a separate, shorter alternation against netspec.
        k_rounds = 3 if args.quick else 7
        kc = {
            "netspec load+build": load_build,
            **keras_contenders(layers, width, calls=k_rounds + 1),
        }
        kres = common.alternate(kc, rounds=k_rounds, number=1, warmup=1)
        common.report(
            kres,
            "netspec load+build",
            "Keras 3 from_config of the same model (ratios against netspec)",
        )
        seq_k, fun_k = "keras Sequential.from_config", "keras Model.from_config"
        keras_part = (
            f"; Keras 3 Model.from_config (functional) "
            f"{common.fmt_time(kres.median(fun_k))} "
            f"({kres.paired_ratio(fun_k, 'netspec load+build'):.0f}x netspec), "
            f"Sequential.from_config {common.fmt_time(kres.median(seq_k))} "
            f"({kres.paired_ratio(seq_k, 'netspec load+build'):.0f}x)"
        )
    print(
        f"\nnetspec load+build {build_ms:.1f} ms (goal < {GOAL_MS:.0f} ms: "
        f"{'met' if build_ms < GOAL_MS else 'MISSED'}), {ratio:.2f}x nn.Sequential"
    )
    resnet_part = "" if args.no_resnet else resnet50(rounds=5 if args.quick else 15)
    print(
        f"SUMMARY build_time: {layers} x Dense(64) spec, {common.machine()}: "
        f"netspec load+validate+build {build_ms:.1f} ms "
        f"(goal < {GOAL_MS:.0f} ms: {'met' if build_ms < GOAL_MS else 'MISSED'}), "
        f"validate only {load_ms:.1f} ms, nn.Sequential "
        f"{common.fmt_time(result.median('nn.Sequential'))} "
        f"(netspec/nn.Sequential {ratio:.2f}x){resnet_part}{keras_part}"
    )
    tmp.cleanup()


if __name__ == "__main__":
    main()
