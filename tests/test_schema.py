"""The generated JSON Schema: every example spec conforms to it, it refuses what the validator
refuses, and it documents each registry entry under its own kind (tests/test_generated.py checks
that the committed file is current)."""

from pathlib import Path

import jsonschema
import pytest
import yaml

from netspec.catalog import KINDS
from netspec.schema import json_schema

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))


@pytest.mark.parametrize("spec", SPECS, ids=[p.stem for p in SPECS])
def test_example_specs_conform_and_point_at_the_schema(spec, schema):
    text = spec.read_text()
    assert text.startswith("# yaml-language-server: $schema=../schemas/netspec.schema.json\n")
    jsonschema.Draft202012Validator(schema).validate(yaml.safe_load(text))


def test_schema_rejects_what_the_validator_rejects(schema):
    validator = jsonschema.Draft202012Validator(schema)
    good = {"netspec": 1, "input_shape": [4], "layers": [{"type": "Dense", "units": 3}]}
    assert validator.is_valid(good)
    for bad in (
        {**good, "extra": 1},
        {**good, "layers": [{"type": "Dense", "units": -3}]},
        {**good, "layers": [{"type": "Dense", "units": 3, "activation": "rleu"}]},
        {**good, "layers": [{"type": "Dens", "units": 3}]},
        {**good, "layers": [{"type": "Dense", "units": 3, "filters": 2}]},
    ):
        assert not validator.is_valid(bad), bad


@pytest.fixture(scope="module")
def schema() -> dict:
    return json_schema()


def first_words(text: str, n: int = 4) -> str:
    return " ".join(text.split()[:n])


def test_every_entry_has_a_definition_of_its_kind(schema):
    """Definitions are keyed by kind (`Initializer.Identity`, `Layer.Identity`): two classes of
    one name in two registries are documented each as its own."""
    defs = schema["$defs"]
    for kind in KINDS:
        for name, cls in kind.registry().items():
            entry = defs[f"{kind.schema}.{name}"]
            tag = entry["properties"]["type"]
            assert tag.get("const", (tag.get("enum") or [None])[0]) == name
            assert entry["required"][0] == "type" and "default" not in tag
            assert first_words(cls.__doc__).replace("\\", "") in tag["description"], (kind, name)
            keys = {field.alias or key for key, field in cls.model_fields.items()}
            if kind.name == "layers":  # every entry may be conditional or repeated (blocks)
                keys |= {"if", "repeat", "as"}
            assert set(entry["properties"]) == keys, (kind.name, name)


def test_same_class_name_in_two_registries(schema):
    defs = schema["$defs"]
    layer, initializer = defs["Layer.Identity"], defs["Initializer.Identity"]
    assert "Keras: keras.layers.Identity." in layer["properties"]["type"]["description"]
    gain = initializer["properties"]["gain"]["markdownDescription"]
    assert "Keras: `keras.initializers.Identity(gain=...)`" in gain
    assert "gain" not in layer["properties"] and "name" not in initializer["properties"]
    loss, metric = defs["Loss.MeanSquaredError"], defs["Metric.MeanSquaredError"]
    assert "Keras: keras.losses.MeanSquaredError." in loss["properties"]["type"]["description"]
    assert "Keras: keras.metrics.MeanSquaredError." in metric["properties"]["type"]["description"]
    union = defs["InitializerObject"]["discriminator"]["mapping"]
    assert union["Identity"] == "#/$defs/Initializer.Identity"
    assert defs["InitializerName"]["markdownEnumDescriptions"][
        defs["InitializerName"]["enum"].index("identity")
    ].startswith("`Identity`: ")


def test_validator_and_schema_agree_on_an_identity_initializer(schema):
    validator = jsonschema.Draft202012Validator(schema)
    dense = {"type": "Dense", "units": 4, "kernel_initializer": {"type": "Identity", "gain": 2}}
    spec = {"netspec": 1, "input_shape": [4], "layers": [dense, {"type": "Identity"}]}
    assert validator.is_valid(spec)
    dense["kernel_initializer"] = {"type": "Identity", "name": "x"}  # a layer key
    assert not validator.is_valid(spec)
