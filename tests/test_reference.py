"""docs/reference.md is generated and current; `netspec explain` prints the same for one name."""

from pathlib import Path
from typing import Literal

import pytest
from helpers import python_output
from pydantic import Field
from typer.testing import CliRunner

from netspec.catalog import BY_NAME, KINDS, all_registries, kinds, registries, training_registries
from netspec.cli import app
from netspec.layers import LAYERS, Layer
from netspec.reference import (
    UnknownReference,
    entries,
    explain_text,
    extra_entries,
    lookup,
    main,
    reference_text,
    section_models,
)
from netspec.spec import InputSpec, spec_model
from netspec.training.spec.sections import CompileSpec, EarlyStoppingSpec, TrainSpec

runner = CliRunner()
# Build the spec model now, so the tests that register a layer for a while (through
# monkeypatch) never leak it into it.
spec_model()
ENTRIES = [(kind, name) for kind, registry in all_registries().items() for name in registry.names()]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def reference() -> str:
    return reference_text()


def explain(*args: str):
    return runner.invoke(app, ["explain", *args])


def kind_section(text: str, kind: str) -> str:
    """The `## Title` section of registry `kind` (names repeat across registries: mse)."""
    return text.split(f"\n## {BY_NAME[kind].title}\n", 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize(("kind", "name"), ENTRIES, ids=[f"{k}.{n}" for k, n in ENTRIES])
def test_every_entry_and_argument_is_in_the_reference(kind, name, reference):
    text = kind_section(reference, kind)
    cls = all_registries()[kind].get(name)
    assert f"\n### {name}\n" in text
    section = text.split(f"\n### {name}\n", 1)[1].split("\n### ", 1)[0]
    skip = {"type", *(Layer.model_fields if kind == "layers" else ())}
    for field_name, field in cls.model_fields.items():
        if field_name in skip:
            continue
        assert f"| `{field.alias or field_name}` |" in section, field_name
        if field.description:
            cell = " ".join(field.description.split()).replace("|", "\\|")  # a table cell
            assert cell in section, field_name
    for alias, canonical in all_registries()[kind].aliases().items():
        if canonical == name:
            assert f"`{alias}`" in section


@pytest.mark.parametrize(("kind", "name"), ENTRIES, ids=[f"{k}.{n}" for k, n in ENTRIES])
def test_every_entry_and_argument_explains(kind, name):
    entry, arg, _ = lookup(f"{kind}.{name}")
    assert (entry.kind, entry.name, arg) == (kind, name, None)
    for a in entry.args:
        assert explain_text(f"{kind}.{name}.{a.name}").startswith(f"{name}.{a.name} (")


def test_common_layer_keys_and_spec_keys_are_in_the_reference():
    text = reference_text()
    common = text.split("## Common layer keys", 1)[1].split("\n## ", 1)[0]
    for key, field in Layer.model_fields.items():
        if key != "type":
            assert f"| `{key}` |" in common and " ".join(field.description.split()) in common
    top = text.split("## Spec keys", 1)[1].split("\n## ", 1)[0]
    for model in (spec_model(), InputSpec):
        for key in model.model_fields:
            assert f"| `{key}` |" in top


def test_compile_and_train_sections_are_in_the_reference():
    """Each nested section model (`compile`, `train`, `train.early_stopping`, ...) has its own
    table of keys with their descriptions, linked from the key that holds it."""
    paths = {cls: path for path, _, cls in section_models()}
    assert paths[InputSpec] == "inputs"
    assert (paths[CompileSpec], paths[TrainSpec]) == ("compile", "train")
    assert paths[EarlyStoppingSpec] == "train.early_stopping"
    text = reference_text()
    top = text.split("## Spec keys", 1)[1].split("\n## ", 1)[0]
    for path, _, cls in section_models():
        heading = "Model inputs" if cls is InputSpec else path
        section = top.split(f"\n### {heading}\n", 1)[1].split("\n### ", 1)[0]
        for key, field in cls.model_fields.items():
            assert f"| `{field.alias or key}` |" in section, (path, key)
            assert " ".join((field.description or "").split()) in section, (path, key)
    assert (
        "| `compile` | [{optimizer, loss, loss_weights, metrics, weighted_metrics}](#compile) "
        "or null |" in top
    )
    assert "| `optimizer` | [optimizer](#optimizers) (name or {type: ...}) | `rmsprop` |" in top
    assert "list of (accuracy or acc or [metric](#metrics) (name or {type: ...}))" in top
    assert "(#trainearly_stopping) or null |" in top


def test_reference_is_deterministic_and_ordered_as_the_registries():
    text = reference_text()
    assert text == reference_text()
    kinds = [text.index(f"\n## {BY_NAME[kind].title}\n") for kind in all_registries()]
    assert kinds == sorted(kinds)
    positions = [
        text.index(f"\n### {name}\n", text.index(f"\n## {BY_NAME[kind].title}\n"))
        for kind, name in ENTRIES
    ]
    assert positions == sorted(positions)
    # A name in two registries gets two anchors.
    assert "[MeanSquaredError](#meansquarederror-1)" in text


def test_model_vocabulary_and_training_vocabulary_stay_apart():
    """`registries()` (the schema, editor and vocabulary tests) is the model's vocabulary,
    `training_registries()` the `compile:` section's; list, explain and the reference take every
    kind, in the order of the one table of kinds (netspec.catalog.KINDS)."""
    assert list(registries()) == [k.name for k in kinds("model")]
    assert list(training_registries()) == [k.name for k in kinds("compile")]
    assert list(training_registries()) == ["optimizers", "schedules", "losses", "metrics"]
    assert {"layers", "initializers", "regularizers", "constraints", "activations"} <= set(
        registries()
    )
    assert list(all_registries()) == [k.name for k in KINDS] == list(BY_NAME)
    for kind in KINDS:
        assert all_registries()[kind.name] is kind.registry()
        assert kind.noun == kind.registry().kind


@pytest.mark.slow  # a fresh interpreter
def test_training_vocabulary_imports_no_torch():
    code = (
        "import sys, cli\n"
        "from netspec.catalog import all_registries\n"
        "from netspec.reference import explain_text, reference_text\n"
        "all_registries(); explain_text('Adam'); explain_text('mse'); reference_text()\n"
        "print('torch' in sys.modules)"
    )
    assert python_output(code) == "False"


def test_types_defaults_and_bounds_read_as_documented():
    dense = {a.name: a for a in next(e for e in entries() if e.name == "Dense").args}
    assert list(dense)[0] == "units"  # required first, as Keras's signature
    assert (dense["units"].type, dense["units"].default) == ("int in (0, 2147483647]", "required")
    assert dense["kernel_initializer"].type == "initializer (name or {type: ...})"
    assert dense["kernel_initializer"].default == "glorot_uniform"
    assert dense["kernel_constraint"].type == "constraint (name or {type: ...}) or null"
    text = reference_text()
    assert "| `rate` | float in [0, 1) | required |" in text
    assert "| `mode` | one of: fan_in, fan_out, fan_avg | `fan_in` |" in text
    assert "| `dims` | list of int (at least 1 entry) | required |" in text
    assert "| `axes` | int or list of int (exactly 2 entries) | required |" in text
    assert "[initializer](#initializers) (name or {type: ...})" in text
    assert "| `use_cudnn` | auto or bool | `auto` |" in text  # a Literal among other types


def test_optimizer_arguments_in_keras_order():
    """Keras's signatures: `Adam(learning_rate, beta_1, ..., weight_decay, clipnorm, ...)`,
    `AdamW(learning_rate, weight_decay, beta_1, ...)`, `SGD(learning_rate, momentum, ...)`."""
    args = {e.name: [a.name for a in e.args] for e in entries() if e.kind == "optimizers"}
    clip = ["clipnorm", "clipvalue", "global_clipnorm", "use_ema", "ema_momentum"]
    clip += ["ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps"]
    adam = ["beta_1", "beta_2", "epsilon", "amsgrad"]
    assert args["Adam"] == ["learning_rate", *adam, "weight_decay", *clip]
    assert args["AdamW"] == ["learning_rate", "weight_decay", *adam, *clip]
    assert args["SGD"] == ["learning_rate", "momentum", "nesterov", "weight_decay", *clip]
    assert all(names[0] == "learning_rate" for names in args.values())
    losses = {e.name: [a.name for a in e.args] for e in entries() if e.kind == "losses"}
    assert losses["BinaryCrossentropy"] == ["from_logits", "label_smoothing", "axis", "reduction"]


def test_explain_layer_shows_descriptions_and_defaults():
    result = explain("Dense")
    assert result.exit_code == 0, result.output
    assert "Dense (layer type)" in result.stdout
    assert "units: int in (0, 2147483647]; required" in result.stdout
    assert "Dimensionality of the output space." in result.stdout
    assert "kernel_initializer: initializer (name or {type: ...}); default glorot_uniform" in (
        result.stdout
    )


def test_explain_argument():
    result = explain("Dense.units")
    assert result.exit_code == 0, result.output
    assert "type:     int\n  bounds:   in (0, 2147483647]\n  default:  required" in result.stdout
    assert "Dimensionality of the output space." in result.stdout
    constraint = explain("Dense.kernel_constraint").stdout
    assert "default:  null" in constraint
    for name in registries()["constraints"].all_names():
        assert name in constraint
    assert "MaxNorm (max_norm), MinMaxNorm (min_max_norm)" in constraint
    assert "key of every layer" in explain("Dense.name").stdout


@pytest.mark.parametrize(
    ("query", "heading"),
    [
        ("he_uniform", "HeUniform (initializer)"),
        ("HeUniform", "HeUniform (initializer)"),
        ("relu", "relu (activation)"),
        ("MaxNorm", "MaxNorm (constraint)"),
        ("max_norm", "MaxNorm (constraint)"),
        ("orthogonal", "Orthogonal (initializer)"),
        ("orthogonal_regularizer", "OrthogonalRegularizer (regularizer)"),
        ("initializers.Orthogonal", "Orthogonal (initializer)"),
        ("initializer.orthogonal", "Orthogonal (initializer)"),
        ("l1_l2", "L1L2 (regularizer)"),
        ("layers.Dropout", "Dropout (layer type)"),
        ("initializers.VarianceScaling.mode", "VarianceScaling.mode (argument of initializer"),
        ("adam", "Adam (optimizer)"),
        ("Adam.epsilon", "Adam.epsilon (argument of optimizer Adam)"),
        ("optimizer.rmsprop", "RMSprop (optimizer)"),
        ("cosine_decay", "CosineDecay (learning rate schedule)"),
        ("schedule.ExponentialDecay.decay_rate", "ExponentialDecay.decay_rate (argument of"),
        ("huber", "Huber (loss)"),
        ("loss.Huber.delta", "Huber.delta (argument of loss Huber)"),
        ("losses.mse", "MeanSquaredError (loss)"),
        ("bce", "BinaryCrossentropy (loss)"),
        ("auc", "AUC (metric)"),
        ("metric.mse", "MeanSquaredError (metric)"),
        ("metrics.MeanSquaredError", "MeanSquaredError (metric)"),
        ("TopKCategoricalAccuracy.k", "TopKCategoricalAccuracy.k (argument of metric"),
        ("accuracy", "accuracy (metric)"),
        ("metrics.acc", "accuracy (metric)"),
    ],
)
def test_explain_resolves_names_and_aliases(query, heading):
    result = explain(query)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(heading)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("Dens", "unknown name 'Dens'"),
        ("Dense.unit", "unknown argument 'unit' of layer type Dense; did you mean 'units'?"),
        ("rleu", "did you mean 'relu'"),
        ("initializers.relu", "unknown initializer 'relu'"),
        ("NonNeg.axis", "unknown argument 'axis' of constraint NonNeg; it takes no arguments"),
        ("Dense.units.x", "cannot read 'Dense.units.x'"),
        ("Dense.", "cannot read 'Dense.'"),
        ("adma", "did you mean 'adamax' or 'adam'?"),
        ("Adam.eps", "unknown argument 'eps' of optimizer Adam; did you mean 'epsilon'?"),
        ("optimizers.mse", "unknown optimizer 'mse'"),
        ("metrics.acuracy", "unknown metric 'acuracy'; did you mean 'accuracy'"),
        ("accuracy.threshold", "unknown argument 'threshold' of metric accuracy; it takes no"),
    ],
)
def test_explain_unknown_is_a_user_error(query, message):
    result = explain(query)
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
    with pytest.raises(UnknownReference):
        lookup(query)


def test_explain_training_names():
    epsilon = explain("Adam.epsilon")
    assert epsilon.exit_code == 0, epsilon.output
    assert "type:     float\n  bounds:   >= 0\n  default:  1e-07" in epsilon.stdout
    assert "Small constant for numerical stability." in epsilon.stdout
    adam = explain("adam").stdout
    assert "also accepted as: adam" in adam
    assert "learning_rate: float > 0 or learning rate schedule (name or {type: ...}); " in adam
    # A number or a schedule: the schedules are listed, as for any vocabulary argument.
    rate = explain("Adam.learning_rate").stdout
    assert "default:  0.001" in rate
    assert "Accepted schedules (name, aliases in parentheses):" in rate
    assert "CosineDecay (cosine_decay)" in rate
    # A name in two registries: the loss comes first (registry order), the metric is named.
    mse = explain("mse").stdout
    assert mse.startswith("MeanSquaredError (loss)\nalso accepted as: mean_squared_error, mse")
    assert "Also a name in: metrics.MeanSquaredError" in mse
    accuracy = explain("acc").stdout
    assert "also accepted as: acc" in accuracy and "SparseCategoricalAccuracy" in accuracy
    (extra,) = extra_entries()
    assert extra.name not in all_registries()["metrics"]  # netspec's pseudo-entry, by design
    assert f"\n### {extra.name}\n" in kind_section(reference_text(), "metrics")


def test_list_training_kinds():
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0, result.output
    for kind in KINDS:  # each with its description, from the one table of kinds
        assert f"\n{kind.name}: {kind.description}\n" in "\n" + result.stdout
    only = runner.invoke(app, ["list", "optimizers"]).stdout
    assert only.startswith(f"optimizers: {BY_NAME['optimizers'].description}\n  SGD  (also: sgd)\n")
    assert "  AdamW  (also: adamw, adam_w)" in only and "Dense" not in only
    losses = runner.invoke(app, ["list", "losses"]).stdout
    assert "  MeanSquaredError  (also: mean_squared_error, mse, MSE)" in losses
    assert "BinaryAccuracy" in runner.invoke(app, ["list", "metrics"]).stdout


def test_explain_did_you_mean_for_a_layer_type():
    assert "did you mean 'Dense'?" in explain("Dens").stderr


def test_explain_usage_errors_exit_2():
    assert explain().exit_code == 2
    assert explain("Dense", "extra").exit_code == 2


def test_same_name_in_two_registries_prefers_canonical_then_registry_order(monkeypatch):
    """A layer named like an initializer (Keras has both an `Identity` layer and initializer):
    the layer comes first (registry order), the other is pointed at; KIND.NAME picks it."""

    class Identity(Layer):
        """Returns its input (test double)."""

        type: Literal["Identity"] = "Identity"

    monkeypatch.setitem(LAYERS._entries, "Identity", Identity)
    text = explain_text("Identity")
    assert text.startswith("Identity (layer type)")
    assert "Also a name in: initializers.Identity" in text
    assert explain_text("initializers.Identity").startswith("Identity (initializer)")
    # An alias never beats a canonical name: `identity` is only the initializer's alias.
    assert explain_text("identity").startswith("Identity (initializer)")
    # Headings are unique anchors even when names repeat.
    assert "[Identity](#identity-1)" in reference_text()


def test_plugin_layers_are_documented_and_explained(monkeypatch):
    class Gain(Layer):
        """Multiplies its input by a constant (test plugin)."""

        type: Literal["Gain"] = "Gain"
        gain: float = Field(2.0, gt=0, description="The factor.")

    monkeypatch.setitem(LAYERS._entries, "Gain", Gain)
    text = reference_text()
    assert "\n### Gain\n" in text and "Plugin layer, from `test_reference`." in text
    assert "| `gain` | float > 0 | `2.0` | The factor. |" in text
    assert "### Gain" not in reference_text(plugins=False)
    assert "plugin layer, from test_reference" in explain_text("Gain")


@pytest.mark.slow  # renders the whole reference twice
def test_python_m_entry_point(tmp_path, capsys):
    assert main(["--builtin"]) == 0
    assert capsys.readouterr().out == reference_text(plugins=False)
    out = tmp_path / "reference.md"
    assert main(["--builtin", "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == reference_text(plugins=False)
