"""Safe YAML reading: no object construction, duplicate keys refused, bounded aliases, marks."""

import os
import time

import pytest

from netspec.errors import SpecError
from netspec.yamlio import load_yaml


def one_error(text: str) -> str:
    with pytest.raises(SpecError) as info:
        load_yaml(text, "t.yaml")
    assert len(info.value.diagnostics) == 1
    return str(info.value.diagnostics[0])


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:os.system ['touch /tmp/netspec_pwned']",
        "!!python/object:os.system {}",
        "!!python/name:os.system",
        "!!python/module:os",
        "!!binary aGVsbG8=",
        "!custom 3",
    ],
)
def test_object_tags_are_refused_and_nothing_runs(tag, tmp_path):
    marker = "/tmp/netspec_pwned"
    if os.path.exists(marker):
        os.remove(marker)
    message = one_error(f"netspec: 1\nname: {tag}\n")
    assert message.startswith("t.yaml:2:7: YAML tag")
    assert "not allowed" in message
    assert not os.path.exists(marker)


def test_duplicate_key_is_an_error_at_the_second_key():
    message = one_error("netspec: 1\nlayers:\n  - type: Dense\n    units: 3\n    units: 4\n")
    assert message == "t.yaml:5:5: duplicate key 'units' (first at line 4)"


def test_alias_bomb_is_refused_quickly():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    names = "abcdefghij"
    for prev, cur in zip(names, names[1:], strict=False):
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    start = time.perf_counter()
    message = one_error("\n".join(lines))
    assert time.perf_counter() - start < 1.0
    assert "too large" in message


def test_recursive_alias_is_refused():
    assert "too large or too deeply nested" in one_error("a: &a [*a]\n")


def test_marks_are_one_based_and_point_at_values_and_keys():
    doc = load_yaml("netspec: 1\nlayers:\n  - {type: Dense, units: 3}\n", "t.yaml")
    assert doc.marks[("layers", 0, "units")] == (3, 26)
    assert doc.key_marks[("layers", 0, "units")] == (3, 19)
    assert doc.marks[("layers", 0)] == (3, 5)


def test_merge_keys_and_plain_types():
    doc = load_yaml(
        "base: &b {units: 3, activation: relu}\nx:\n  <<: *b\n  units: 4\n"
        "y: [1, 2.5, true, null, 2020-01-01]\n"
    )
    assert doc.data["x"] == {"units": 4, "activation": "relu"}
    assert doc.data["y"] == [1, 2.5, True, None, "2020-01-01"]


def test_syntax_error_is_located():
    assert one_error("netspec: 1\nlayers: [1, 2\n").startswith("t.yaml:3:1: invalid YAML")


def test_uses_libyaml_when_present():
    import yaml

    from netspec import yamlio

    if yaml.__with_libyaml__:
        assert yamlio._Loader is yaml.CSafeLoader
