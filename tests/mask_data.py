"""Padded token sequences for the mask tests (test_masking.py, test_rnn_cells.py): an Embedding
with `mask_zero` makes the timestep mask of TOKENS."""

from __future__ import annotations

import torch

# Padding (index 0) at the end, in the middle, at the start, everywhere, nowhere.
TOKENS = torch.tensor(
    [
        [1, 2, 3, 0, 0, 0, 0],
        [4, 0, 5, 6, 0, 1, 0],
        [0, 0, 3, 4, 5, 6, 7],
        [0, 0, 0, 0, 0, 0, 0],
        [1, 2, 3, 4, 5, 6, 7],
        [7, 0, 0, 0, 0, 0, 2],
    ]
)

EMBED = {
    "type": "Embedding",
    "input_dim": 9,
    "output_dim": 4,
    "mask_zero": True,
    "embeddings_initializer": {"type": "RandomNormal", "stddev": 1.0},
}
