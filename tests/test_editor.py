"""What an editor user gets from schemas/netspec.schema.json, measured with the real
yaml-language-server (tests/editor, pinned; the engine of VS Code's YAML extension and of Neovim's
and other LSP editors' YAML support), driven over LSP by tests/lsp.py.

Documents are opened under specs/ (never written to disk) with the modeline the example specs
use, so the server finds the committed schema the way a user's editor does; the golden error
files are associated through the `yaml.schemas` setting instead (the other way editors do it).
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
from pathlib import Path

import pytest
from lsp import LspClient

from netspec.catalog import registries
from netspec.layers import LAYERS, Layer
from netspec.schema import SCHEMA_PATH

pytestmark = pytest.mark.slow  # the language server (node)
ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "tests" / "editor" / "node_modules" / ".bin" / "yaml-language-server"
MODELINE = "# yaml-language-server: $schema=../schemas/netspec.schema.json\n"
HEAD = "netspec: 1\ninput_shape: [4]\nlayers:\n"
CURSOR = "‸"
SPECS = sorted((ROOT / "specs").glob("**/*.yaml")) + sorted((ROOT / "tests/blocks").glob("*.yaml"))
# golden files whose every error is one the schema can express
GOLDEN = ["typos", "toplevel", "blocks"]
VOCAB_FIELDS = {  # a Dense key that takes each vocabulary
    "activations": "activation",
    "initializers": "kernel_initializer",
    "regularizers": "kernel_regularizer",
    "constraints": "kernel_constraint",
}


def test_the_language_server_is_installed():
    """The editor tests need the real server: README's test command installs it."""
    assert shutil.which("node"), "node is not on PATH"
    assert SERVER.exists(), "yaml-language-server is missing: npm ci --prefix tests/editor"


class Editor:
    """Open documents in the server and ask it what an editor would."""

    def __init__(self, client: LspClient):
        self.client = client
        self.count = itertools.count()

    def open(self, text: str, modeline: str = MODELINE) -> tuple[str, int, int]:
        """Open `modeline + text` as a new document: its URI and the (line, character) of the
        cursor mark in `text` (the mark is removed)."""
        text = modeline + text
        offset = text.find(CURSOR)
        text = text.replace(CURSOR, "")
        uri = (ROOT / "specs" / f"_editor_test_{next(self.count)}.yaml").as_uri()
        self.client.open(uri, text)
        before = text[: max(offset, 0)]
        return uri, before.count("\n"), len(before) - (before.rfind("\n") + 1)

    def completion(self, text: str) -> list[dict]:
        uri, line, char = self.open(text)
        try:
            return self.client.completion(uri, line, char)
        finally:
            self.client.close(uri)

    def keys(self, text: str) -> set[str]:
        return {i["label"] for i in self.completion(text) if i.get("kind") == 10}  # Property

    def values(self, text: str) -> set[str]:
        return {i["label"] for i in self.completion(text) if i.get("kind") == 12}  # Value

    def hover(self, text: str) -> str:
        return self.hovers(text.replace(CURSOR, ""), [text.find(CURSOR)])[0]

    def hovers(self, text: str, offsets: list[int]) -> list[str]:
        """Hover at each offset of `text`, in one document."""
        uri, _, _ = self.open(text)
        text = MODELINE + text
        out = []
        for offset in offsets:
            before = text[: len(MODELINE) + offset]
            line, char = before.count("\n"), len(before) - (before.rfind("\n") + 1)
            out.append(self.client.hover(uri, line, char) or "")
        self.client.close(uri)
        return out

    def diagnostics(self, text: str, modeline: str = MODELINE) -> list[tuple[int, str]]:
        """(line in `text`, message) of every diagnostic."""
        uri, _, _ = self.open(text, modeline)
        skip = modeline.count("\n")
        found = self.client.diagnostics(uri)
        return sorted((d["range"]["start"]["line"] - skip, d["message"]) for d in found)


@pytest.fixture(scope="module")
def editor():
    client = LspClient([str(SERVER), "--stdio"], cwd=ROOT)
    golden = {SCHEMA_PATH.as_uri(): ["**/tests/golden/*.yaml"]}
    settings = {"validate": True, "hover": True, "completion": True, "schemas": golden}
    client.initialize(ROOT, {"yaml": settings})
    yield Editor(client)
    client.shutdown()


def layer_keys(cls) -> set[str]:
    """A layer's keys in the editor: its fields, and `if`/`repeat`/`as` (netspec/blocks)."""
    return {field.alias or name for name, field in cls.model_fields.items()} - {"type"} | {
        "if",
        "repeat",
        "as",
    }


def first_words(text: str, n: int = 4) -> str:
    return " ".join(text.split()[:n])


# Completion ---------------------------------------------------------------------------------


def test_every_layer_type_is_offered_with_its_documentation(editor):
    items = editor.completion(HEAD + f"  - type: {CURSOR}\n")
    offered = {i["label"]: i for i in items if i.get("kind") == 12}
    assert set(offered) == set(LAYERS.all_names())
    for name in LAYERS.names():
        doc = offered[name]["documentation"]["value"]
        assert f"`{name}`" in doc, doc
        assert first_words(LAYERS.get(name).__doc__, 2) in doc.replace("\\", ""), doc


@pytest.mark.parametrize("name", LAYERS.all_names())
def test_a_layer_offers_its_own_keys_only(editor, name):
    """After `type: NAME` (a name or an alias), that layer's keys and no other layer's."""
    cls = LAYERS.get(name)
    keys = editor.keys(HEAD + f"  - type: {name}\n    {CURSOR}\n")
    longer = {LAYERS.get(n) for n in LAYERS.all_names() if n.startswith(name)} - {cls}
    required = [f.alias or k for k, f in cls.model_fields.items() if f.is_required()]
    if longer and required:
        # yaml-language-server, while completing, also takes `Conv1D` for `Conv1DTranspose`
        # (a value for any it begins); the schema's exact pattern on the longer name only wins
        # once the required keys are there (see netspec/schema.py).
        assert layer_keys(cls) <= keys <= layer_keys(cls).union(*map(layer_keys, longer))
        example = cls.examples[0]["args"]
        filled = "".join(f"    {k}: {flow(example[k])}\n" for k in required)
        keys = editor.keys(HEAD + f"  - type: {name}\n{filled}    {CURSOR}\n")
        assert keys == layer_keys(cls) - set(required)
    else:
        assert keys == layer_keys(cls)


def test_a_prefix_of_another_type_narrows_exactly(editor):
    """`Average` begins `AveragePooling1D`, `L1` begins `L1L2`: each offers its own keys only."""
    assert editor.keys(HEAD + f"  - type: Average\n    {CURSOR}\n") == layer_keys(
        LAYERS.get("Average")
    )
    text = (
        f"  - type: Dense\n    units: 2\n    kernel_regularizer:\n      type: L1\n      {CURSOR}\n"
    )
    assert editor.keys(HEAD + text) == {"l1"}


def test_dense_keys(editor):
    keys = editor.keys(HEAD + f"  - type: Dense\n    {CURSOR}\n")
    weights = {f"{w}_{k}" for w in ("kernel", "bias") for k in ("initializer", "regularizer")}
    expected = {"units", "activation", "use_bias", "activity_regularizer", "name", "inputs"}
    expected |= weights | {"kernel_constraint", "bias_constraint", "trainable", "input_shape"}
    expected |= {"if", "repeat", "as"}
    assert keys == expected
    assert not keys & {"filters", "rate", "type"}


def test_keys_in_flow_style_once_a_key_is_started(editor):
    keys = editor.keys(HEAD + f"  - {{type: Dropout, r{CURSOR}}}\n")
    assert keys == layer_keys(LAYERS.get("Dropout"))


@pytest.mark.parametrize("kind", VOCAB_FIELDS)
def test_names_are_offered(editor, kind):
    registry = registries()[kind]
    key = VOCAB_FIELDS[kind]
    items = editor.completion(HEAD + f"  - type: Dense\n    units: 2\n    {key}: {CURSOR}\n")
    values = {i["label"]: i for i in items if i.get("kind") == 12}
    optional = key != "kernel_initializer"
    assert set(values) == set(registry.all_names()) | ({"null"} if optional else set())
    for name in registry.all_names():  # each with what it computes
        doc = values[name]["documentation"]["value"].replace("\\", "")
        assert first_words(registry.get(name).__doc__, 2) in doc, (name, doc)


def vocab_classes(with_arguments: bool = False):
    for kind, registry in registries().items():
        if kind in VOCAB_FIELDS:  # the vocabularies of a Dense argument
            for name, cls in registry.items():
                if len(cls.model_fields) > 1 or not with_arguments:
                    yield pytest.param(kind, name, cls, id=f"{kind}-{name}")


@pytest.mark.parametrize("kind,name,cls", vocab_classes())
def test_an_object_offers_its_own_arguments_only(editor, kind, name, cls):
    text = f"  - type: Dense\n    units: 2\n    {VOCAB_FIELDS[kind]}:\n      type: {name}\n"
    keys = editor.keys(HEAD + text + f"      {CURSOR}\n")
    assert keys == set(cls.model_fields) - {"type"}


def test_variance_scaling_arguments(editor):
    text = "  - type: Dense\n    units: 2\n    kernel_initializer:\n      type: VarianceScaling\n"
    assert editor.keys(HEAD + text + f"      {CURSOR}\n") == {
        "scale",
        "mode",
        "distribution",
        "seed",
    }
    assert editor.values(HEAD + text + f"      mode: {CURSOR}\n") == {
        "fan_in",
        "fan_out",
        "fan_avg",
    }


def test_object_form_offers_class_names_only(editor):
    text = f"  - type: Dense\n    units: 2\n    kernel_constraint:\n      type: {CURSOR}\n"
    assert editor.values(HEAD + text) == set(registries()["constraints"].names())


def test_top_level_keys(editor):
    keys = editor.keys(f"netspec: 1\n{CURSOR}\n")
    assert keys == {"name", "description", "data_format", "input_shape", "input_dtype"} | {
        "inputs",
        "outputs",
        "layers",
        "compile",
        "train",
        "args",
        "blocks",
        "weights",
        "data",
    }


BLOCK = "blocks:\n  b:\n    args: {n: 2}\n    layers:\n"


def test_keys_are_completed_inside_blocks(editor):
    text = "netspec: 1\ninput_shape: [4]\n" + BLOCK + f"      - type: Dense\n        {CURSOR}\n"
    assert editor.keys(text) == layer_keys(LAYERS.get("Dense"))
    text = "netspec: 1\ninput_shape: [4]\n" + BLOCK + f"      - {CURSOR}\n"
    assert {"type", "block", "model"} <= editor.keys(text)


def test_zoo_names_are_offered_for_nested_models(editor):
    values = editor.values(HEAD + f"  - model: {CURSOR}\n")
    assert {"resnet50", "mobilenetv2"} <= values


def test_blocks_expressions_and_nested_models_have_no_diagnostics(editor):
    text = (
        "netspec: 1\ninput_shape: [4]\nargs: {k: 3}\n"
        + BLOCK
        + (
            "      - {type: Dense, units: '${4 * n}', activation: '${\"relu\"}', name: d}\n"
            "      - {type: Dropout, rate: 0.1, if: '${n > 1}', name: '${name}_drop'}\n"
            "layers:\n"
            "  - {block: b, n: 3, name: first, repeat: 2}\n"
            "  - {block: b, n: '${k}', repeat: {count: 2, index: j}, name: 'b${j}'}\n"
            "  - {type: Dense, units: '${k}', if: true}\n"
        )
    )
    assert editor.diagnostics(text) == []
    nested = HEAD + "  - {model: mobilenetv2, include_top: false, trainable: false}\n"
    assert editor.diagnostics(nested) == []
    assert editor.diagnostics(HEAD + "  - {type: Dense, units: 'x${'}\n") != []


# Hover --------------------------------------------------------------------------------------


def flow(value) -> str:
    return json.dumps(value)  # JSON is YAML flow style


@pytest.mark.parametrize("name", LAYERS.names())
def test_hover_on_every_layer_key(editor, name):
    """Every key says what it does, its default (or that it is required) and, where the layer
    is Keras's, the Keras argument it is."""
    cls = LAYERS.get(name)
    args = dict(cls.examples[0]["args"]) if cls.examples else {}
    lines = [f"  - type: {name}"]
    for key, field in cls.model_fields.items():
        shown = field.alias or key
        if shown == "type":
            continue
        if shown in args:
            value = args[shown]
        elif field.is_required():
            value = "x"
        else:
            value = field.get_default(call_default_factory=True)
            value = getattr(value, "type", value)  # a vocabulary object by its name
        lines.append(f"    {shown}: {flow(value)}")
    text = HEAD + "\n".join(lines) + "\n"
    keys = [(field.alias or key, field) for key, field in cls.model_fields.items()]
    keys = [(shown, field) for shown, field in keys if shown != "type"]
    hovers = editor.hovers(text, [text.index(f"\n    {shown}:") + 5 for shown, _ in keys])
    for (shown, field), hover in zip(keys, hovers, strict=True):
        plain = hover.replace("\\", "")
        assert first_words(field.description or "<no description>") in plain, (shown, hover)
        assert "default" in hover.lower() or "Required" in hover, (shown, hover)
        if cls.keras_parity and shown != "inputs":
            base = Layer.model_fields.get(shown)
            common = base and base.description == field.description  # every layer's argument
            keras = "keras.layers.Layer" if common else f"keras.layers.{name}"
            assert f"Keras: `{keras}({shown}=...)`" in hover, (shown, hover)


def test_hover_examples(editor):
    units = editor.hover(HEAD + f"  - type: Dense\n    {CURSOR}units: 3\n")
    assert "Dimensionality of the output space." in units
    assert "Required" in units and "`keras.layers.Dense(units=...)`" in units
    text = f"  - type: Dense\n    units: 3\n    {CURSOR}activation: relu\n"
    activation = editor.hover(HEAD + text)
    assert "Activation applied to the output" in activation and "Default: none" in activation
    assert "* `relu`: max(x, 0)" in activation  # the value, first, with what it computes
    text = f"  - type: Dense\n    units: 3\n    {CURSOR}kernel_initializer: {{type: HeNormal}}\n"
    initializer = editor.hover(HEAD + text)
    assert "Initializer of the kernel." in initializer
    assert "Default: `glorot_uniform`" in initializer


def test_hover_on_a_type_shows_the_class(editor):
    hover = editor.hover(HEAD + f"  - type: Dro{CURSOR}pout\n    rate: 0.5\n")
    assert "`Dropout`: Randomly sets input units to 0" in hover
    assert "Keras: `keras.layers.Dropout`" in hover
    text = "  - type: Dense\n    units: 3\n    kernel_initializer:\n"
    text += f"      type: Var{CURSOR}ianceScaling\n"
    hover = editor.hover(HEAD + text)
    assert "`VarianceScaling`: Samples with variance" in hover
    assert "Keras: `keras.initializers.VarianceScaling`" in hover


@pytest.mark.parametrize("kind,name,cls", vocab_classes(with_arguments=True))
def test_hover_on_every_argument(editor, kind, name, cls):
    args = {k: f.get_default() for k, f in cls.model_fields.items() if not f.is_required()}
    args.update({k: 0.5 for k, f in cls.model_fields.items() if f.is_required()})
    args["type"] = name
    keras = {"activations": f"keras.activations.{name}(x, "}.get(kind, f"keras.{kind}.{name}(")
    body = ", ".join(f"{k}: {flow(v)}" for k, v in args.items())
    text = HEAD + f"  - type: Dense\n    units: 3\n    {VOCAB_FIELDS[kind]}: {{{body}}}\n"
    keys = [key for key in cls.model_fields if key != "type"]
    hovers = editor.hovers(text, [text.index(f" {key}: ") + 1 for key in keys])
    for key, hover in zip(keys, hovers, strict=True):
        description = cls.model_fields[key].description
        assert first_words(description) in hover.replace("\\", ""), (key, hover)
        assert "default" in hover.lower() or "Required" in hover, (key, hover)
        assert f"Keras: `{keras}{key}=...)`" in hover, (key, hover)


# Diagnostics --------------------------------------------------------------------------------


def test_invalid_values_are_diagnostics_on_their_line(editor):
    text = HEAD + (
        "  - type: Dense\n"  # 3
        "    units: -3\n"  # 4
        "    filters: 2\n"  # 5
        "    activation: rleu\n"  # 6
        "    kernel_initializer: {type: VarianceScaling, stdev: 1}\n"  # 7
        "  - {type: Dense, units: 2, kernel_regularizer: l3}\n"  # 8
        "  - {units: 2}\n"  # 9
    )
    found = editor.diagnostics(text)
    assert [line for line, _ in found] == [4, 5, 6, 7, 8, 9], found
    messages = dict(found)
    assert "exclusive minimum of 0" in messages[4]
    assert messages[5] == "Property filters is not allowed."
    assert messages[6].startswith("Value is not accepted. Valid values: ")
    assert '"relu"' in messages[6]
    assert messages[7] == "Property stdev is not allowed."
    assert '"l2"' in messages[8]
    assert messages[9] == 'Missing property "type".'


@pytest.mark.parametrize("spec", SPECS, ids=[p.stem for p in SPECS])
def test_example_specs_have_no_diagnostics(editor, spec):
    editor.client.open(spec.as_uri(), spec.read_text())
    assert editor.client.diagnostics(spec.as_uri()) == []


@pytest.mark.parametrize("name", GOLDEN)
def test_the_editor_flags_the_lines_netspec_validate_flags(editor, name):
    """A golden file, associated by the `yaml.schemas` setting: every line `netspec validate`
    reports (tests/golden/NAME.err) has a diagnostic, and no other line has one."""
    spec = ROOT / "tests" / "golden" / f"{name}.yaml"
    text = spec.with_suffix(".err").read_text()  # the line each diagnostic begins with
    expected = {int(m) - 1 for m in re.findall(r"^[^\s:]+\.yaml:(\d+):", text, re.MULTILINE)}
    editor.client.open(spec.as_uri(), spec.read_text())
    found = {d["range"]["start"]["line"] for d in editor.client.diagnostics(spec.as_uri())}
    assert found == expected


def test_a_layer_alias_narrows_like_its_name(editor):
    """A layer with aliases (`MaxPool2D` for `MaxPooling2D`) has an `enum` type, not a `const`;
    the server narrows by it as well: completion (above) and diagnostics."""
    alias, name = next(iter(LAYERS.aliases().items()))
    cls = LAYERS.get(name)
    args = dict(cls.examples[0]["args"]) if cls.examples else {}
    body = "".join(f"    {k}: {flow(v)}\n" for k, v in args.items())
    found = editor.diagnostics(HEAD + f"  - type: {alias}\n{body}    not_a_key: 1\n")
    assert found == [(4 + len(args), "Property not_a_key is not allowed.")]


def test_imported_specs_have_no_diagnostics(editor, tmp_path):
    """`netspec import` round-trips: what it writes (blocks, repeats, Shared, as:, drops_mask,
    data_format) gets no diagnostic in the editor."""
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    from test_keras_import import MODELS

    from netspec.keras_import import import_model

    for kind, make in MODELS.items():
        keras.utils.set_random_seed(0)
        make().save(tmp_path / f"{kind}.keras")
        import_model(tmp_path / f"{kind}.keras", tmp_path / f"{kind}.yaml")
        text = (tmp_path / f"{kind}.yaml").read_text()
        body = text.split("\n", 1)[1]  # after the modeline: opened with the test's own
        assert editor.diagnostics(body) == [], kind
