"""The generated JSON Schema: committed and current, and every example spec conforms to it."""

from pathlib import Path

import jsonschema
import pytest
import yaml

from netspec.schema import SCHEMA_PATH, json_schema, schema_text

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))


def test_committed_schema_is_current():
    assert SCHEMA_PATH.read_text() == schema_text(), "run: netspec schema -o " + str(SCHEMA_PATH)


@pytest.mark.parametrize("spec", SPECS, ids=[p.stem for p in SPECS])
def test_example_specs_conform_and_point_at_the_schema(spec):
    text = spec.read_text()
    assert text.startswith("# yaml-language-server: $schema=../schemas/netspec.schema.json\n")
    jsonschema.Draft202012Validator(json_schema()).validate(yaml.safe_load(text))


def test_schema_rejects_what_the_validator_rejects():
    validator = jsonschema.Draft202012Validator(json_schema())
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
