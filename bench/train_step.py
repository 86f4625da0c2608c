"""Training-step time of netspec-built models vs the same networks hand-written in PyTorch and
vs Keras 3 (torch backend).

Two networks, on deterministic synthetic data (`bench/data.py`):

- CNN: `specs/mnist_cnn.yaml` (Conv2D 32 3x3 relu, MaxPooling2D, Conv2D 64, MaxPooling2D,
  Flatten, Dropout 0.5, Dense 128 relu, Dense 10 softmax), batch 64 of 28x28x1 channels_last
  images, loss: cross-entropy of the softmax output (NLL of its log).
- LSTM: input (32, 50, 16) -> LSTM(64) -> Dense(1), loss: mean squared error.

A step is `zero_grad(set_to_none=True)`, forward (training mode: Dropout active), loss,
`backward()`, `torch.optim.SGD(lr=0.01).step()`. Contenders:

- netspec: `netspec.build(spec)`;
- hand-written PyTorch, netspec's weights copied in, outputs and input gradients checked equal
  first (inference mode): the CNN with `nn.Conv2d` on NCHW tensors (contiguous) and on the same
  data in channels_last memory format (the model converted too: what netspec runs); the LSTM
  with `nn.LSTM(batch_first=True)` + `nn.Linear`;
- Keras 3 on the torch backend (same architecture, netspec's weights set, outputs checked
  equal): `model.train_on_batch` (compiled with SGD(0.01) and the same loss), and a manual step
  (`model(x, training=True)`, the Keras loss, `backward()`, `torch.optim.SGD` on
  `model.parameters()`). Keras is far slower, so it runs in a second, shorter alternation
  against netspec.

Goal: netspec/hand-written <= 1.05 (against the hand-written network in the same memory
format). Layers not registered yet are reported as skipped.

    python bench/train_step.py [--quick] [--device cuda] [--no-keras]
"""

from __future__ import annotations

import os
import sys

import common  # noqa: F401  (puts the repository root on sys.path)
from train_worker import keras_layers  # the networks of bench/train.py, in Keras

GOAL = 1.05
LR = 0.01
CNN_SPEC = common.ROOT / "specs" / "mnist_cnn.yaml"
LSTM_SPEC = """\
netspec: 1
name: lstm_regressor
input_shape: [50, 16]
layers:
  - {type: LSTM, units: 64}
  - {type: Dense, units: 1}
"""


def _args():
    parser = common.parser(__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (synchronized per step)")
    parser.add_argument("--no-keras", action="store_true", help="leave Keras out")
    return parser.parse_args()


ARGS = _args() if __name__ == "__main__" else None
if ARGS is not None:
    # Keras's torch backend puts its variables on this device (default: cuda when present).
    os.environ.setdefault("KERAS_BACKEND", "torch")
    os.environ.setdefault("KERAS_TORCH_DEVICE", ARGS.device)

import data  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import netspec  # noqa: E402
from netspec.layers import LAYERS  # noqa: E402
from netspec.spec import spec_model  # noqa: E402


def missing_layers(types: list[str]) -> list[str]:
    spec_model()  # plugins too
    return [t for t in types if t not in LAYERS]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ------------------------------------------------------------------------ hand-written models


class HandCNN(nn.Module):
    """The mnist_cnn network as one writes it in PyTorch: NCHW convolutions; `channels_last`
    flattens in Keras's (height, width, channels) order (a free view in channels_last memory
    format), else in PyTorch's usual (channels, height, width) order."""

    def __init__(self, channels_last: bool):
        super().__init__()
        self.channels_last = channels_last
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.drop = nn.Dropout(0.5)
        self.fc1 = nn.Linear(5 * 5 * 64, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.permute(0, 2, 3, 1).flatten(1) if self.channels_last else x.flatten(1)
        x = F.relu(self.fc1(self.drop(x)))
        return F.softmax(self.fc2(x), dim=-1)


class HandLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(16, 64, batch_first=True)
        self.fc = nn.Linear(64, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.lstm(x)
        return self.fc(h[-1])


@torch.no_grad()
def copy_cnn(ns: nn.Module, hand: HandCNN) -> None:
    """netspec's Conv2D kernels are torch's (out, in, kh, kw); Dense kernels (units, in) with
    `in` in Keras's flatten order (h, w, c), reordered to (c, h, w) for the NCHW flatten."""
    layers = ns.layers
    for conv, name in ((hand.conv1, "conv2d"), (hand.conv2, "conv2d_1")):
        conv.weight.copy_(layers[name].kernel)
        conv.bias.copy_(layers[name].bias)
    kernel = layers["dense"].kernel
    if not hand.channels_last:
        kernel = kernel.view(128, 5, 5, 64).permute(0, 3, 1, 2).reshape(128, -1)
    hand.fc1.weight.copy_(kernel)
    hand.fc1.bias.copy_(layers["dense"].bias)
    hand.fc2.weight.copy_(layers["dense_1"].kernel)
    hand.fc2.bias.copy_(layers["dense_1"].bias)


@torch.no_grad()
def copy_lstm(ns: nn.Module, hand: HandLSTM) -> None:
    """netspec's LSTM weights are in torch's fused layout and gate order (Keras i, f, c, o is
    torch's i, f, g, o); Keras's single bias is torch's bias_ih, with bias_hh zero."""
    rnn, dense = ns.layers["lstm"], ns.layers["dense"]
    hand.lstm.weight_ih_l0.copy_(rnn.kernel)
    hand.lstm.weight_hh_l0.copy_(rnn.recurrent_kernel)
    hand.lstm.bias_ih_l0.copy_(rnn.bias)
    hand.lstm.bias_hh_l0.zero_()
    hand.fc.weight.copy_(dense.kernel)
    hand.fc.bias.copy_(dense.bias)


# ------------------------------------------------------------------------------- Keras models


def keras_cnn(keras):
    return keras.Sequential([keras.Input((28, 28, 1)), *keras_layers(keras, "cnn")])


def keras_lstm(keras):
    return keras.Sequential([keras.Input((50, 16)), *keras_layers(keras, "lstm")])


def set_keras_weights(kmodel, ns: nn.Module) -> None:
    """netspec's weights in Keras layout, layer by layer in order."""
    per_layer: dict[str, list] = {}
    for key, param, info in ns.keras_weights():
        layer = key.split(".")[1]
        per_layer.setdefault(layer, []).append(info.keras_view(param).detach().cpu().numpy())
    weighted = [layer for layer in kmodel.layers if layer.weights]
    assert len(weighted) == len(per_layer), (len(weighted), list(per_layer))
    for layer, arrays in zip(weighted, per_layer.values(), strict=True):
        layer.set_weights(arrays)


# ---------------------------------------------------------------------------------- steps


def torch_step(model: nn.Module, x, y, loss_fn, device):
    opt = torch.optim.SGD(model.parameters(), lr=LR)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()
        _sync(device)

    return step


def keras_steps(keras, kmodel, x, y, keras_loss, device) -> dict:
    kmodel.compile(optimizer=keras.optimizers.SGD(LR), loss=keras_loss)
    opt = torch.optim.SGD(kmodel.parameters(), lr=LR)

    def train_on_batch() -> None:
        kmodel.train_on_batch(x, y)
        _sync(device)

    def manual() -> None:
        opt.zero_grad(set_to_none=True)
        keras_loss(y, kmodel(x, training=True)).backward()
        opt.step()
        _sync(device)

    return {"keras train_on_batch": train_on_batch, "keras manual step": manual}


def nll_of_probs(probs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.nll_loss(torch.log(probs), labels)


def tolerance(device: torch.device) -> tuple[float, float]:
    """(rtol, atol) of the equality checks: float32 on the CPU; on CUDA, cuDNN convolutions and
    matmuls may use TF32 (10-bit mantissa) and pick other kernels per memory format."""
    return (1e-4, 1e-5) if device.type == "cpu" else (1e-2, 2e-3)


def check_same(models: dict, inputs: dict, tol: tuple[float, float]) -> None:
    """Same outputs and same gradients with respect to the input (the whole backward path) for
    every model, Dropout off (cuDNN's RNN backward wants training mode, so the rest stays in
    it); `inputs[name]` is a model's input and the map of its gradient to the first's layout."""
    ref = None
    for name, model in models.items():
        model.train()
        for module in model.modules():
            if isinstance(module, nn.Dropout) or type(module).__name__ == "DropoutModule":
                module.eval()
        x, to_ref = inputs[name]
        x = x.detach().clone().requires_grad_()
        out = model(x)
        out.square().sum().backward()
        got = (out.detach(), to_ref(x.grad))
        model.train()
        if ref is None:
            ref = (name, *got)
            continue
        for what, a, b in (("output", got[0], ref[1]), ("input gradient", got[1], ref[2])):
            assert torch.allclose(a, b, rtol=tol[0], atol=tol[1]), (
                f"{name} {what} differs from {ref[0]}: max {(a - b).abs().max():.3g}"
            )


def check_keras(keras, kmodel, ns: nn.Module, x: torch.Tensor, tol: tuple[float, float]) -> None:
    ns.eval()
    with torch.no_grad():
        want = ns(x)
    got = kmodel(x, training=False)
    ns.train()
    got = torch.as_tensor(keras.ops.convert_to_numpy(got)).to(want.device)
    assert torch.allclose(got, want, rtol=tol[0], atol=tol[1]), (got - want).abs().max()


# ----------------------------------------------------------------------------------- cases


def run_case(label, contenders, keras_fns, baseline, rounds, number, keras_rounds) -> dict:
    """Time `contenders` (step functions) in one alternation, then netspec against the Keras
    steps in a shorter one. Returns paired ratios: netspec / each hand-written contender
    (`"netspec/NAME"`), each Keras contender / netspec (`NAME`), and the medians."""
    result = common.alternate(contenders, rounds=rounds, number=number, warmup=max(3, number))
    common.report(result, baseline, f"{label} -- train step ({number} steps per round)")
    out = {"baseline": baseline, "netspec_time": result.median("netspec")}
    for name in contenders:
        if name != "netspec":
            out[f"netspec/{name}"] = result.paired_ratio("netspec", name)
    if keras_fns:
        fns = {"netspec": contenders["netspec"], **keras_fns}
        kres = common.alternate(fns, rounds=keras_rounds, number=1, warmup=2)
        common.report(kres, "netspec", f"{label} -- vs Keras 3, torch backend (1 step per round)")
        for name in keras_fns:
            out[name] = kres.paired_ratio(name, "netspec")
    return out


def cnn_case(args, device, keras, rounds, keras_rounds):
    missing = missing_layers(["Conv2D", "MaxPooling2D", "Flatten", "Dropout", "Dense"])
    if missing:
        print(f"\n== CNN: skipped: layer {', '.join(missing)} not registered yet")
        return None
    images, labels = data.digits(64, seed=0)
    x_nhwc, y = images.to(device), labels.to(device)
    x_nchw = x_nhwc.permute(0, 3, 1, 2).contiguous()
    x_cl = x_nhwc.permute(0, 3, 1, 2)  # a view: channels_last memory format
    assert x_cl.is_contiguous(memory_format=torch.channels_last)

    ns = netspec.build(CNN_SPEC, seed=0).to(device)
    hand_nchw, hand_cl = HandCNN(channels_last=False), HandCNN(channels_last=True)
    copy_cnn(ns, hand_nchw)
    copy_cnn(ns, hand_cl)
    hand_nchw.to(device)
    hand_cl.to(device, memory_format=torch.channels_last)
    nhwc = lambda g: g  # noqa: E731
    to_nhwc = lambda g: g.permute(0, 2, 3, 1)  # noqa: E731
    models = {"netspec": ns, "hand channels_last": hand_cl, "hand NCHW": hand_nchw}
    inputs = {
        "netspec": (x_nhwc, nhwc),
        "hand channels_last": (x_cl, to_nhwc),
        "hand NCHW": (x_nchw, to_nhwc),
    }
    check_same(models, inputs, tolerance(device))
    print("\n== CNN (mnist_cnn), batch 64: outputs and input gradients equal (netspec, hand)")
    contenders = {
        "hand channels_last": torch_step(hand_cl, x_cl, y, nll_of_probs, device),
        "netspec": torch_step(ns, x_nhwc, y, nll_of_probs, device),
        "hand NCHW": torch_step(hand_nchw, x_nchw, y, nll_of_probs, device),
    }
    keras_fns = {}
    if keras is not None:
        kmodel = keras_cnn(keras)
        set_keras_weights(kmodel, ns)
        check_keras(keras, kmodel, ns, x_nhwc, tolerance(device))
        print("   Keras 3 model: same weights, outputs equal")
        keras_fns = keras_steps(
            keras, kmodel, x_nhwc, y, keras.losses.SparseCategoricalCrossentropy(), device
        )
    return run_case(
        "CNN mnist_cnn, batch 64",
        contenders,
        keras_fns,
        "hand channels_last",
        rounds,
        2 if args.quick else 5,
        keras_rounds,
    )


def lstm_case(args, device, keras, rounds, keras_rounds):
    missing = missing_layers(["LSTM", "Dense"])
    if missing:
        print(f"\n== LSTM: skipped: layer {', '.join(missing)} not registered yet")
        return None
    x, y = (t.to(device) for t in data.series(32, 50, 16, seed=0))
    ns = netspec.build(netspec.loads(LSTM_SPEC), seed=0).to(device)
    hand = HandLSTM()
    copy_lstm(ns, hand)
    hand.to(device)
    same = lambda g: g  # noqa: E731
    check_same(
        {"netspec": ns, "hand nn.LSTM": hand},
        {"netspec": (x, same), "hand nn.LSTM": (x, same)},
        tolerance(device),
    )
    print("\n== LSTM(64) -> Dense(1), input (32, 50, 16): outputs and input gradients equal")
    contenders = {
        "hand nn.LSTM": torch_step(hand, x, y, F.mse_loss, device),
        "netspec": torch_step(ns, x, y, F.mse_loss, device),
    }
    keras_fns = {}
    if keras is not None:
        kmodel = keras_lstm(keras)
        set_keras_weights(kmodel, ns)
        check_keras(keras, kmodel, ns, x, tolerance(device))
        print("   Keras 3 model: same weights, outputs equal")
        keras_fns = keras_steps(keras, kmodel, x, y, keras.losses.MeanSquaredError(), device)
    return run_case(
        "LSTM(64), batch 32 x 50 steps",
        contenders,
        keras_fns,
        "hand nn.LSTM",
        rounds,
        3 if args.quick else 10,
        keras_rounds,
    )


def _load_keras(args):
    if args.no_keras:
        return None
    try:
        import keras
    except ImportError as exc:  # keras is a test dependency, not a runtime one
        print(f"Keras: skipped ({exc})")
        return None
    if keras.backend.backend() != "torch":
        print(f"Keras: skipped (backend {keras.backend.backend()}, not torch)")
        return None
    return keras


def main() -> None:
    args = ARGS
    device = torch.device(args.device)
    rounds = 6 if args.quick else 30
    keras_rounds = 3 if args.quick else 8
    keras = _load_keras(args)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(
        f"train_step: {common.machine()}, device {where}; rounds={rounds}, Keras rounds="
        f"{keras_rounds if keras else 0}{' (quick)' if args.quick else ''}"
    )
    cnn = cnn_case(args, device, keras, rounds, keras_rounds)
    lstm = lstm_case(args, device, keras, rounds, keras_rounds)

    parts, worst = [], []
    print()
    for label, res in (("CNN mnist_cnn b64", cnn), ("LSTM(64) 32x50x16", lstm)):
        if res is None:
            parts.append(f"{label} skipped")
            continue
        worst.append(res[f"netspec/{res['baseline']}"])
        text = f"{label}: netspec {common.fmt_time(res['netspec_time'])}, " + ", ".join(
            f"{key} {value:.2f}x" for key, value in res.items() if key.startswith("netspec/")
        )
        keras_parts = [f"{k} {v:.1f}x netspec" for k, v in res.items() if k.startswith("keras")]
        if keras_parts:
            text += "; " + ", ".join(keras_parts)
        parts.append(text)
    verdict = common.goal(max(worst), GOAL) if worst else "n/a"
    print(
        f"SUMMARY train_step: {common.machine()}, device {where}: "
        + "; ".join(parts)
        + f" (goal netspec/hand <= {GOAL}, same memory format: {verdict})"
    )


if __name__ == "__main__":
    sys.exit(main())
