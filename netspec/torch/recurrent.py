"""Torch module of the recurrent layers (SimpleRNN, LSTM, GRU, and RNN's cells), with Keras's
semantics.

Weights are stored in the layout of PyTorch's fused kernels (`torch.lstm`, `torch.gru`,
`torch.rnn_tanh`, `torch.rnn_relu`, what nn.LSTM/nn.GRU/nn.RNN call): kernels (gates * units,
in), gates in PyTorch's order (GRU r, z, n; LSTM i, f, g, o is Keras's i, f, c, o), so the fused
kernel takes them as they are; initializers, regularizers and constraints see Keras's layout
through `KerasWeight` (a transpose, plus a gate reorder for GRU). Keras's LSTM and SimpleRNN have
one bias where PyTorch has two: the second is a zero buffer, not a parameter.

Masks: a masked step leaves the state as it is and repeats the previous output (zeros with
`zero_output_for_mask`, which Bidirectional sets with return_sequences; then the last output too,
without return_sequences), as Keras's RNN loop does. Since masked steps change nothing, the fused
path packs each sequence's valid steps to the front (a stable gather), runs the fused kernel on
the packed sequences and spreads the outputs back: exact for padding anywhere, not only at the
end.

Arguments the fused kernels cannot express (other activations, recurrent_dropout, GRU with
reset_after false) run a step loop with the input projection of all steps computed at once.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from .activations import activation_fn
from .rnn_base import (
    RecurrentLoop,
    RecurrentProjection,
    cudnn_can_flatten,
    fused_call,
    identity,
)
from .weights import GateLayout, create_weight

GRU_GATES = GateLayout((1, 0, 2))  # Keras z, r, h -> torch r, z, n; (in, 3u) -> (3u, in)
GRU_BIAS = GateLayout((1, 0, 2), transpose=False)

FUSED_OPS = {
    "LSTM": torch.lstm,
    "GRU": torch.gru,
    "tanh": torch.rnn_tanh,
    "relu": torch.rnn_relu,
}


class RecurrentModule(RecurrentLoop):
    """Keras's RNN loop of a SimpleRNN, LSTM or GRU cell (`spec`: the layer, or RNN's cell) over
    (batch, timesteps, features) inputs. `fused` says whether it runs PyTorch's fused kernel
    (`fused_op`) or the step loop."""

    def __init__(
        self,
        spec,
        weights,
        ctx,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
    ):
        super().__init__(spec, return_sequences, return_state, go_backwards)
        self.kind = spec.kind
        self.units = spec.units
        self.gates = spec.gates
        gru = self.kind == "GRU"
        kernel_layout = GRU_GATES if gru else None
        perm = None if gru else (1, 0)
        create_weight(self, weights[0], ctx, perm=perm, layout=kernel_layout)
        create_weight(self, weights[1], ctx, perm=perm, layout=kernel_layout)
        self.use_bias = spec.use_bias
        if spec.use_bias:
            create_weight(self, weights[2], ctx, layout=GRU_BIAS if gru else None)
        else:
            self.register_parameter("bias", None)
        self.reset_after = bool(getattr(spec, "reset_after", True))
        # GRU with reset_after has Keras's (2, 3u) bias, split in two for the fused kernel
        # (without a bias there is nothing to split: two weights only)
        self.two_biases = gru and self.reset_after and spec.use_bias
        # Keras's single bias: PyTorch's recurrent bias stays zero (not a parameter, not saved).
        if spec.use_bias and not self.two_biases:
            self.register_buffer("bias_hh", torch.zeros(self.gates * self.units), persistent=False)
        self.fused = spec.fused()
        op = self.kind if self.kind != "SimpleRNN" else (spec.activation.type)
        self.fused_op = FUSED_OPS[op] if self.fused else None
        self.act = activation_fn(spec.activation) or identity
        self.rec_act = activation_fn(getattr(spec, "recurrent_activation", None)) or identity
        # Keras's cells draw one mask per gate when recurrent_dropout is on ("implementation
        # 1"), else one input mask shared by the gates; SimpleRNN has one of each.
        self.mask_count = self.gates if self.recurrent_dropout and self.gates > 1 else 1

    # ------------------------------------------------------------------- cuDNN weight layout

    def _apply(self, fn, recurse=True):
        out = super()._apply(fn, recurse)
        self.flatten_parameters()  # as nn.LSTM does after .to()/.cuda()
        return out

    @torch.no_grad()
    def flatten_parameters(self) -> None:
        """On CUDA with cuDNN, put the fused kernel's weights in one contiguous buffer (what
        nn.RNNBase.flatten_parameters does), so cuDNN does not copy them at every call; the
        parameters stay the same objects, with the same values. A no-op elsewhere."""
        if not self.fused:
            return
        weights = self._flat_weights()
        if not cudnn_can_flatten(weights):
            return
        if self.two_biases:  # GRU's (2, 3u) bias: its rows are set into the buffer separately
            weights = [*weights[:2], weights[2].clone(), weights[3].clone()]
        if not self._cudnn_flatten(weights):
            return
        if self.two_biases:
            self._bias_from_rows(weights[2], weights[3])

    def _cudnn_mode(self) -> str:
        """cuDNN's name of the fused kernel (the `mode` of nn.RNNBase)."""
        return {"LSTM": "LSTM", "GRU": "GRU"}.get(self.kind) or (
            "RNN_RELU" if self.fused_op is torch.rnn_relu else "RNN_TANH"
        )

    def _cudnn_flatten(self, weights: list[torch.Tensor]) -> bool:
        """Moves `weights` into one cuDNN buffer, as nn.RNNBase.flatten_parameters does (one
        layer, unidirectional, no projection); False where cuDNN refused."""
        from torch.backends.cudnn import rnn as cudnn_rnn

        first = weights[0]
        try:
            with torch.cuda.device_of(first):
                torch._cudnn_rnn_flatten_weight(
                    weights,
                    len(weights),
                    first.shape[1],
                    cudnn_rnn.get_cudnn_mode(self._cudnn_mode()),
                    self.units,
                    0,
                    1,
                    True,
                    False,
                )
        except RuntimeError:  # pragma: no cover - cuDNN refused: it copies at each call instead
            return False
        return True

    def _bias_from_rows(self, b_ih: torch.Tensor, b_hh: torch.Tensor) -> None:
        """GRU's (2, 3u) bias as a view of its two rows (the clones that cuDNN moved into its
        buffer), so the parameter keeps sharing the buffer."""
        size = b_ih.numel()
        if b_hh.data_ptr() == b_ih.data_ptr() + size * b_ih.element_size():
            self.bias.data = b_ih.new_empty(0).set_(
                b_ih.untyped_storage(), b_ih.storage_offset(), (2, size), (size, 1)
            )
        else:  # pragma: no cover - another buffer layout: keep the bias as it was
            self.bias.data = torch.stack([b_ih, b_hh])

    # ---------------------------------------------------------------------------- forward

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None):
        x = x.to(self.kernel.dtype)
        if self.go_backwards:
            x = x.flip(1)
            mask = mask.flip(1) if mask is not None else None
        if mask is not None:
            mask = mask.to(device=x.device, dtype=torch.bool)
        if self.fused:
            if self.training and self.dropout:
                keep = self.dropout_masks(x, self.dropout, (x.shape[0], x.shape[-1]), 1)[0]
                x = x * keep.unsqueeze(1)
            outputs, states = self._fused(x, mask)
        else:
            outputs, states = self._loop(x, mask)
        if self.zero_output_for_mask and mask is not None and not self.return_sequences:
            # Keras's last output is the last step's, zeros when that step is masked
            outputs = outputs * mask[:, -1:].to(outputs.dtype)
        if self.return_state:
            return (outputs, *states)
        return outputs

    def _flat_weights(self) -> list[torch.Tensor]:
        if not self.use_bias:
            return [self.kernel, self.recurrent_kernel]
        if self.two_biases:
            return [self.kernel, self.recurrent_kernel, self.bias[0], self.bias[1]]
        return [self.kernel, self.recurrent_kernel, self.bias, self.bias_hh]

    def _fused(self, x: torch.Tensor, mask: torch.Tensor | None):
        batch, steps = x.shape[0], x.shape[1]
        h0 = x.new_zeros(1, batch, self.units)
        hx = (h0, h0) if self.kind == "LSTM" else h0
        args = (self._flat_weights(), self.use_bias, 1, 0.0, torch.is_grad_enabled(), False)
        if mask is None:
            out, *states = fused_call(self.fused_op, x, hx, *args, True)
            states = [s[0] for s in states]
            return (out if self.return_sequences else states[0]), states
        # Valid steps to the front (stable), one packed run, outputs spread back.
        order = torch.sort((~mask).to(torch.uint8), dim=1, stable=True).indices
        packed_x = x.gather(1, order.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
        counts = mask.sum(1)
        packed = pack_padded_sequence(
            packed_x, counts.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
        )
        data, *states = fused_call(self.fused_op, packed.data, packed.batch_sizes, hx, *args)
        some = (counts > 0).unsqueeze(-1).to(x.dtype)  # fully masked sequences: zero states
        states = [s[0].index_select(0, packed.unsorted_indices) * some for s in states]
        if not self.return_sequences:
            return states[0], states
        out_seq = PackedSequence(
            data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices
        )
        packed_out, _ = pad_packed_sequence(out_seq, batch_first=True, total_length=steps)
        # Step t carries the output of the last valid step at or before it.
        position = mask.cumsum(1) - 1
        valid = position >= 0
        if self.zero_output_for_mask:
            valid = valid & mask
        index = position.clamp(min=0).unsqueeze(-1).expand(-1, -1, self.units)
        out = packed_out.gather(1, index)
        return out * valid.unsqueeze(-1).to(out.dtype), states

    # ------------------------------------------------------------------------- step loop

    def _loop(self, x: torch.Tensor, mask: torch.Tensor | None):
        batch, steps, _ = x.shape
        bias_in, bias_rec = self._loop_biases()
        x_proj = self._input_projection(x, bias_in)
        rec_masks = (
            self.dropout_masks(x, self.recurrent_dropout, (batch, self.units), self.mask_count)
            if self.training and self.recurrent_dropout
            else None
        )
        recurrent = RecurrentProjection(self.recurrent_kernel, bias_rec, self.gates, rec_masks)
        h = x.new_zeros(batch, self.units)
        c = x.new_zeros(batch, self.units) if self.kind == "LSTM" else None
        outputs = []
        for t in range(steps):
            h_new, c_new = self._cell(x_proj[:, t], h, c, recurrent)
            m = mask[:, t].unsqueeze(-1) if mask is not None else None
            h, c, out = self._masked_update(m, h, c, h_new, c_new)
            if self.return_sequences:
                outputs.append(out)
        states = [h, c] if c is not None else [h]
        if not self.return_sequences:
            return h, states
        if not outputs:
            return x.new_zeros(batch, 0, self.units), states
        return torch.stack(outputs, 1), states

    def _loop_biases(self) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The input and the recurrent bias: GRU with reset_after has one of each (Keras's
        (2, 3u) bias), the others one input bias only."""
        if not self.use_bias:
            return None, None
        if self.kind == "GRU" and self.reset_after:
            return self.bias[0], self.bias[1]
        return self.bias, None

    def _input_projection(self, x: torch.Tensor, bias_in: torch.Tensor | None) -> torch.Tensor:
        """Input projections of every step at once, after Keras's input dropout (per gate when
        each gate has its own mask)."""
        in_masks = (
            self.dropout_masks(x, self.dropout, (x.shape[0], x.shape[-1]), self.mask_count)
            if self.training and self.dropout
            else None
        )
        if in_masks is None:
            return F.linear(x, self.kernel, bias_in)
        if len(in_masks) == 1:
            return F.linear(x * in_masks[0].unsqueeze(1), self.kernel, bias_in)
        gates = self.gates
        kernels = self.kernel.chunk(gates, 0)
        biases = bias_in.chunk(gates, 0) if bias_in is not None else [None] * gates
        return torch.cat(
            [
                F.linear(x * m.unsqueeze(1), k, b)
                for m, k, b in zip(in_masks, kernels, biases, strict=True)
            ],
            dim=-1,
        )

    def _cell(
        self,
        xt: torch.Tensor,
        h: torch.Tensor,
        c: torch.Tensor | None,
        recurrent: RecurrentProjection,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One step of Keras's cell on the projected input `xt`: the new h (and c for LSTM)."""
        if self.kind == "LSTM":
            i, f, g, o = (xt + recurrent(h)).chunk(4, -1)
            c_new = self.rec_act(f) * c + self.rec_act(i) * self.act(g)
            return self.rec_act(o) * self.act(c_new), c_new
        if self.kind == "GRU":
            return self._gru_cell(xt, h, recurrent), None
        return self.act(xt + recurrent(h)), None

    def _gru_cell(
        self, xt: torch.Tensor, h: torch.Tensor, recurrent: RecurrentProjection
    ) -> torch.Tensor:
        """Keras's GRUCell: the reset gate after the recurrent transformation (reset_after) or
        before it, on h."""
        x_r, x_z, x_n = xt.chunk(3, -1)
        if self.reset_after:
            h_r, h_z, h_n = recurrent(h).chunk(3, -1)
            r = self.rec_act(x_r + h_r)
            z = self.rec_act(x_z + h_z)
            n = self.act(x_n + r * h_n)
        else:
            h_r, h_z = recurrent(h, slice(0, 2)).chunk(2, -1)
            r = self.rec_act(x_r + h_r)
            z = self.rec_act(x_z + h_z)
            n = self.act(x_n + recurrent.reset_before(h, r))
        return z * h + (1 - z) * n

    def _masked_update(
        self,
        m: torch.Tensor | None,
        h: torch.Tensor,
        c: torch.Tensor | None,
        h_new: torch.Tensor,
        c_new: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """The states after a step and its output: a masked step (`m` false) keeps the states
        and repeats the previous output, or zeros with zero_output_for_mask (Keras's RNN)."""
        if m is None:
            return h_new, c_new, h_new
        h = torch.where(m, h_new, h)
        c = torch.where(m, c_new, c) if c is not None else None
        out = h if not self.zero_output_for_mask else h * m.to(h.dtype)
        return h, c, out

    def extra_repr(self) -> str:
        path = "fused" if self.fused else "step loop"
        return f"{self.kind}, units={self.units}, {path}"
