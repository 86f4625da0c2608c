"""What the keys of blocks, block uses and nested-model uses mean: one table that the JSON
Schema (netspec.schema_blocks) and docs/reference.md both read."""

from __future__ import annotations

from ..expr.scalar import FUNCTIONS

BLOCK_KEYS = {
    "args": "Arguments and their defaults (`{filters: required, stride: 1}`); a default may "
    "use the arguments before it (`${4 * filters}`); `required`: every use must give it.",
    "inputs": "Names of the block's inputs, in order. Default: `[x]`.",
    "outputs": "The layer (inside the block) whose output the block returns. Default: the "
    "last one.",
    "layers": "The block's entries, as in `layers:` (layers, block uses, nested models).",
    "description": "Free text, for people.",
}
ENTRY_KEYS = {
    "if": "Keep the entry only when true (`${conv_shortcut}`). A left-out entry passes its "
    "input through: its name then means its input (Keras's `shortcut = x`).",
    "as": "A name to refer to the entry by within its block (or spec) while the layer keeps "
    "Keras's automatic name (`max_pooling2d_1`): Keras's helpers that leave a layer unnamed.",
    "repeat": "Repeat the entry n times, each copy taking the previous one's output; the index "
    "`i` (1..n) is usable in `${...}`; `{count: n, index: j}` names it.",
}
USE_KEYS = {
    "block": "The block's name (in `blocks:`). Other keys are its arguments.",
    "name": "Instance name: a layer named `n` inside becomes `NAME_n` (Keras's "
    "`name + '_1_conv'`); a name that uses `${name}` is taken as written; in an unnamed "
    "instance, literal names give Keras's automatic names and made names (`conv_dw_${i}`) "
    "stay as made.",
    "inputs": "The values the block takes, as a layer's `inputs`. Default: the previous entry.",
}
MODEL_KEYS = {
    "model": "A spec path relative to this spec, or a zoo name (`mobilenetv2`: "
    "specs/applications/NAME.yaml). Other keys set its `args:` (include_top, pooling, "
    "classes, input_shape, weights).",
    "name": "Instance name (for summaries). Its layers keep their own names, as in Keras.",
    "inputs": "The values the model takes. Default: the previous entry; as the first entry of "
    "a spec without input_shape, the model's input becomes the spec's.",
    "trainable": "false freezes every layer of the model (its BatchNormalization layers then "
    "run in inference mode, as in Keras).",
    "trainable_from": "Freeze the layers before this one (fine-tuning the top of a base "
    "model; `--set layers.0.trainable_from=NAME`).",
}


def reference_lines() -> list[str]:
    """The 'Blocks and nested models' section of docs/reference.md."""

    def table(keys: dict[str, str]) -> list[str]:
        return ["| key | meaning |", "|---|---|"] + [f"| `{k}` | {v} |" for k, v in keys.items()]

    functions = ", ".join(f"`{f}`" for f in FUNCTIONS)
    return [
        "",
        "## Blocks and nested models",
        "",
        "A spec's `args:` are its arguments with their defaults, `blocks:` its reusable "
        "blocks. `${expression}` in any value of a layer (or of the spec's top-level keys) "
        "uses the arguments: a string that is one `${...}` becomes the value, any other string "
        "with `${...}` is a template (`block${i}`). Expressions take numbers, strings, true, "
        "false, null, lists, `+ - * / // % **`, comparisons, `and or not`, `a if c else b`, "
        f"indexing and the functions {functions}; nothing is run by Python. Blocks are "
        "expanded before validation: every problem inside a block is reported at its line "
        "and at each use site. `netspec build --depth N` folds instances in the summary.",
        "",
        "### Block definitions (`blocks: {NAME: ...}`)",
        "",
        *table(BLOCK_KEYS),
        "",
        "### Keys of every entry",
        "",
        *table(ENTRY_KEYS),
        "",
        "### Block uses (`{block: NAME, ...}`)",
        "",
        *table(USE_KEYS),
        "",
        "### Nested models (`{model: SPEC, ...}`)",
        "",
        *table(MODEL_KEYS),
    ]
