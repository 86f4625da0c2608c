"""What runs: the trainer, its batches and checkpoints, the data and its checks, and the
train / evaluate / predict commands (torch imported when they run)."""
