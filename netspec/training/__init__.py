"""Training: the `compile:` and `train:` sections of a spec (optimizers, losses, metrics)."""
