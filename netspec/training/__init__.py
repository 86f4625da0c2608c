"""Training, in three layers that import downwards only: `spec` (the `compile:`/`train:`
vocabulary, validated with the model), `engine` (what runs: trainer, batches, checkpoints, data)
and `output` (what writes: the run folder, plots, progress). `spec` imports neither of the
others and `output` does not import `engine`."""
