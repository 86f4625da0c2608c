"""The spec's `data:` section: how `--data` reads a table (CSV, Parquet) or an image folder
(no torch import). A .npz file or a directory of .npy files ignores it: their arrays are named
by key (netspec.training.engine.data)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ...vocab.bounds import Seed, Size

# one or more column (or class folder) names
Columns = Annotated[list[str], Field(min_length=1)]


class DataSpec(BaseModel):
    """Columns of a table and Keras's `image_dataset_from_directory` arguments."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    target: str | Columns | None = Field(
        None,
        description="Table: the label column (a list: several columns, one label vector). "
        "Needed to train and evaluate; predict reads the features only.",
    )
    features: Columns | None = Field(
        None,
        description="Table: the input columns, in this order (default: every column but the "
        "target and sample_weight ones, in the file's order).",
    )
    sample_weight: str | None = Field(
        None, description="Table: a column of per-sample weights (Keras's sample_weight)."
    )
    label_mode: Literal["int", "categorical", "binary"] = Field(
        "int",
        description="Image folder: labels as integer class indices (for the sparse losses), "
        "one-hot float vectors (categorical) or 0./1. floats for two classes (binary), "
        "as Keras's image_dataset_from_directory.",
    )
    class_names: Columns | None = Field(
        None,
        description="Image folder: the subfolders to read, in label order (default: every "
        "subfolder, sorted by name, as Keras).",
    )
    color_mode: Literal["grayscale", "rgb", "rgba"] | None = Field(
        None,
        description="Image folder: 1, 3 or 4 channels (default: from the model input's last "
        "axis; Keras's default is rgb).",
    )
    image_size: list[Size] | None = Field(
        None,
        min_length=2,
        max_length=2,
        description="Image folder: [height, width] every image is resized to (default: the "
        "model input's; Keras's default is [256, 256]).",
    )
    interpolation: Literal["bilinear", "nearest"] = Field(
        "bilinear", description="Image folder: the resizing method (Keras's default bilinear)."
    )
    shuffle: bool = Field(
        True,
        description="Image folder: shuffle the file list with `seed` before the validation "
        "split (as Keras; false: sorted by class, then path).",
    )
    validation_split: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="Image folder: the fraction of the (shuffled) files held out for "
        "validation, as Keras's validation_split with subset='both'.",
    )
    seed: Seed | None = Field(
        None,
        description="Image folder: seed of the file shuffle (default: train.seed, else 0; "
        "Keras draws one at random).",
    )

    def targets(self) -> list[str]:
        """The target columns, as a list (empty: none)."""
        if self.target is None:
            return []
        return [self.target] if isinstance(self.target, str) else list(self.target)


__all__ = ["DataSpec"]
