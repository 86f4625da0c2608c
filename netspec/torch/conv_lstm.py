"""Torch module of ConvLSTM1D/2D/3D, with Keras's semantics (keras/src/layers/rnn/conv_lstm.py).

Kernels are stored in torch's convolution layout, (4 * filters, in, *window), gates i, f, c, o
in Keras's order. The input convolution of every step runs at once, over (batch * timesteps)
feature maps; the loop then adds the recurrent convolution of h (`same` padding, stride 1, as
Keras's `recurrent_conv`). Work is channels-first inside; a channels_last layer permutes its
input and outputs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .activations import activation_fn
from .conv import conv_perm
from .rnn_base import RecurrentLoop, identity
from .same_padding import flat_pads, same_padding
from .weights import create_weight

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
GATES = 4


class ConvLSTMModule(RecurrentLoop):
    """Keras's ConvLSTM over (batch, timesteps, *spatial, channels) inputs (channels after the
    timesteps with channels_first). `spatial` is the input's spatial sizes (all known)."""

    def __init__(self, spec, spatial: tuple[int, ...], weights, ctx):
        super().__init__(spec, spec.return_sequences, spec.return_state, spec.go_backwards)
        rank = self.rank = spec.rank
        for weight in weights:
            create_weight(
                self, weight, ctx, perm=conv_perm(rank) if weight.name != "bias" else None
            )
        if not spec.use_bias:
            self.register_parameter("bias", None)
        self.filters = spec.filters
        self.conv = CONV[rank]
        windows = spec.windows()
        self.stride = tuple(s for _, s, _ in windows)
        self.dilation = tuple(d for _, _, d in windows)
        # Keras pads `same` with the extra zero of an odd total at the end: an F.pad then.
        pairs = [(0, 0)] * rank
        if spec.padding == "same":
            pairs = [same_padding(n, *w) for n, w in zip(spatial, windows, strict=True)]
        self.in_pads = flat_pads(pairs) if any(map(any, pairs)) else None
        kernel = spec.tup("kernel_size")
        rec = [same_padding(1, k, 1) for k in kernel]  # stride 1: k - 1 in all, for any size
        self.rec_pads = flat_pads(rec) if any(map(any, rec)) else None
        self.channels_last = not spec.channels_first(ctx)
        self.act = activation_fn(spec.activation) or identity
        self.rec_act = activation_fn(spec.recurrent_activation) or identity

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None):
        x = x.to(self.kernel.dtype)
        if self.channels_last:  # (batch, steps, *spatial, channels) -> channels after steps
            x = x.movedim(-1, 2)
        if self.go_backwards:
            x = x.flip(1)
        in_masks = rec_masks = None
        if self.training and self.dropout:
            # Keras's ConvLSTMCell: 4 masks (one per gate) of the step input's shape
            in_masks = self.dropout_masks(x, self.dropout, (x.shape[0], *x.shape[2:]), GATES)
        projected = self._input_conv(x, in_masks)
        batch, steps = x.shape[:2]
        h = projected.new_zeros(batch, self.filters, *projected.shape[3:])
        c = torch.zeros_like(h)
        if self.training and self.recurrent_dropout:
            rec_masks = self.dropout_masks(x, self.recurrent_dropout, tuple(h.shape), GATES)
            if self.rec_pads is not None:  # padded as h is: zeros stay zeros
                rec_masks = [F.pad(m, self.rec_pads) for m in rec_masks]
        outputs = []
        for t in range(steps):
            h, c = self._step(projected[:, t], h, c, rec_masks)
            if self.return_sequences:
                outputs.append(h)
        out = h
        if self.return_sequences:
            out = (
                torch.stack(outputs, 1) if outputs else projected.new_zeros(batch, 0, *h.shape[1:])
            )
        if self.channels_last:
            out, h, c = out.movedim(-self.rank - 1, -1), h.movedim(1, -1), c.movedim(1, -1)
        return (out, h, c) if self.return_state else out

    def _input_conv(self, x: torch.Tensor, masks: list[torch.Tensor] | None) -> torch.Tensor:
        """conv(x_t, kernel) + bias for every step t, (batch, steps, 4 * filters, *spatial);
        with dropout each gate's block convolves the input times that gate's mask."""
        batch, steps = x.shape[:2]
        flat = x.reshape(batch * steps, *x.shape[2:])
        if masks is None:
            y = self._conv(flat, self.kernel, self.bias)
        else:
            biases = self.bias.chunk(GATES) if self.bias is not None else [None] * GATES
            blocks = zip(masks, self.kernel.chunk(GATES), biases, strict=True)
            y = torch.cat(
                [self._conv((x * m.unsqueeze(1)).reshape(flat.shape), k, b) for m, k, b in blocks],
                1,
            )
        return y.reshape(batch, steps, *y.shape[1:])

    def _conv(self, x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None):
        if self.in_pads is not None:
            x = F.pad(x, self.in_pads)
        return self.conv(x, kernel, bias, self.stride, 0, self.dilation)

    def _step(
        self,
        xt: torch.Tensor,
        h: torch.Tensor,
        c: torch.Tensor,
        masks: list[torch.Tensor] | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One step of Keras's ConvLSTMCell on the convolved input `xt`: the new h and c."""
        h_in = F.pad(h, self.rec_pads) if self.rec_pads is not None else h
        if masks is None:
            z = xt + self.conv(h_in, self.recurrent_kernel)
        else:
            kernels = self.recurrent_kernel.chunk(GATES)
            blocks = zip(masks, kernels, strict=True)
            z = xt + torch.cat([self.conv(h_in * m, k) for m, k in blocks], 1)
        i, f, g, o = z.chunk(GATES, 1)
        c = self.rec_act(f) * c + self.rec_act(i) * self.act(g)
        return self.rec_act(o) * self.act(c), c

    def extra_repr(self) -> str:
        return f"ConvLSTM{self.rank}D, filters={self.filters}"
