"""What validates: the `compile:` and `train:` sections' vocabulary (optimizers, schedules,
losses, metrics, the callbacks' monitors, `--set`); no torch import."""
