"""An MLflow run of a training run, through MLflow's own client (imported when training
starts): the resolved spec as params, the logs as metrics per epoch, the run folder and the
final weights as artifacts when training ends."""

from __future__ import annotations

import time
from typing import Any

from ...errors import NetspecError
from ..engine.hooks import Callback

# MLflow's limits: params per log_batch call, characters of a param's value
_PER_BATCH, _VALUE_CHARS = 100, 6000


def flatten(data: Any, prefix: str = "") -> dict[str, str]:
    """Nested mappings and lists as dotted keys (`compile.optimizer.type`, `layers.0.units`)."""
    if isinstance(data, dict):
        items = list(data.items())
    elif isinstance(data, list):
        items = list(enumerate(data))
    else:
        return {prefix: str(data)[:_VALUE_CHARS]}
    out: dict[str, str] = {}
    for key, value in items:
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


class MLflowLogger(Callback):
    """One MLflow run per `fit` (a resumed run starts a new one, tagged with its epoch)."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.client: Any = None
        self.run_id = ""

    def on_train_begin(self, trainer: Any) -> None:
        from mlflow.entities import Param
        from mlflow.exceptions import MlflowException

        from ..output.runs import resolved_spec

        try:  # the store refused (a file store MLflow 3 wants opted into, a server down)
            experiment = self._experiment()
        except MlflowException as exc:
            raise NetspecError(f"train.loggers: MLflow: {exc.message}") from None
        cfg = self.cfg
        run_name = cfg.run_name or (trainer.run.name if trainer.run is not None else None)
        tags = {"netspec.spec": trainer.spec.name}
        if trainer.epoch:
            tags["netspec.resumed_at_epoch"] = str(trainer.epoch)
        if trainer.run is not None:
            tags["netspec.run"] = str(trainer.run)
        run = self.client.create_run(experiment, run_name=run_name, tags=tags)
        self.run_id = run.info.run_id
        params = [Param(k, v) for k, v in flatten(resolved_spec(trainer.spec.spec)).items()]
        for start in range(0, len(params), _PER_BATCH):
            self.client.log_batch(self.run_id, params=params[start : start + _PER_BATCH])

    def _experiment(self) -> str:
        """The experiment's id (created if missing) on a client of `tracking_uri`."""
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri=self.cfg.tracking_uri)
        name = self.cfg.experiment_name or "Default"
        found = self.client.get_experiment_by_name(name)
        return found.experiment_id if found else self.client.create_experiment(name)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
        from mlflow.entities import Metric

        stamp = int(time.time() * 1000)
        metrics = [Metric(k, float(v), stamp, epoch) for k, v in logs.items()]
        self.client.log_batch(self.run_id, metrics=metrics)

    def on_train_end(self, trainer: Any) -> None:
        """The run folder's files (the model's final weights as weights.safetensors, which
        the run writes after this), then the run ends as FINISHED."""
        import tempfile
        from pathlib import Path

        from ..output.runs import save_history, save_weights, spec_text

        with tempfile.TemporaryDirectory() as tmp:
            extra = Path(tmp)
            save_weights(extra / "weights.safetensors", trainer.model)
            if trainer.run is None:  # no run folder: what it would hold
                save_history(extra, trainer.history)
                (extra / "spec.yaml").write_text(spec_text(trainer.spec))
            else:
                for path in sorted(Path(trainer.run).iterdir()):
                    if path.name.startswith("."):  # the lock, a write's temporary file
                        continue
                    if path.is_dir():  # a logger's folder (TensorBoard's logs)
                        self.client.log_artifacts(self.run_id, str(path), path.name)
                    elif path.name != "weights.safetensors":  # a resumed run's last
                        self.client.log_artifact(self.run_id, str(path))
            for path in sorted(extra.iterdir()):
                self.client.log_artifact(self.run_id, str(path))
        self.client.set_terminated(self.run_id, "FINISHED")
