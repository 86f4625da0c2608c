"""Safe YAML reading: no object construction, duplicate keys refused, bounded aliases, marks."""

import os
import sys
from itertools import pairwise

import pytest

from netspec import yamlio
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


# A billion laughs: 10 anchors, each 9 aliases of the one before (9**10 values once expanded).
ALIAS_BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [
        f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]"
        for prev, cur in pairwise("abcdefghij")
    ]
)


def _values_built(text: str) -> int:
    """How many YAML values `load_yaml` constructs before it returns or refuses `text`: the
    calls of the builder's `value`, counted by a profile hook (the work, not the time)."""
    code = yamlio._Builder.value.__code__
    calls = 0

    def count(frame, event, arg) -> None:
        nonlocal calls
        calls += event == "call" and frame.f_code is code

    previous = sys.getprofile()
    sys.setprofile(count)
    try:
        load_yaml(text, "t.yaml")
    except SpecError:
        pass
    finally:
        sys.setprofile(previous)
    return calls


def test_alias_bomb_is_refused():
    message = one_error(ALIAS_BOMB)
    assert f"too large or too deeply nested (limit {yamlio.MAX_NODES} values" in message


def test_alias_bomb_expansion_stops_at_the_limit(monkeypatch):
    """The work is bounded by MAX_NODES whatever the document expands to: the value past the
    limit is the last one built (a lower limit keeps the profiled count quick)."""
    monkeypatch.setattr(yamlio, "MAX_NODES", 1_000)
    assert _values_built(ALIAS_BOMB) == 1_001
    assert "limit 1000 values" in one_error(ALIAS_BOMB)
    # the count is of values: the mapping, a, the list, 1, 2, the inner mapping, b, 3
    assert _values_built("a: [1, 2, {b: 3}]\n") == 8


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


@pytest.mark.parametrize(
    "text, value",
    [
        ("1e-3", 0.001),
        ("1E4", 10000.0),
        ("-.5", -0.5),
        ("+12", 12),
        ("017", 17),  # YAML 1.2: decimal, not octal
        ("0o17", 15),
        ("0x1F", 31),
        ("1:30", "1:30"),  # YAML 1.1 read base 60: 90
        ("1_000", "1_000"),
        ("0b101", "0b101"),
        ("yes", "yes"),
        ("on", "on"),
        ("True", True),
        ("FALSE", False),
        ("~", None),
        ("Null", None),
        ("'1e-3'", "1e-3"),
        ("!!str 3", "3"),
        ("!!float 3", 3.0),
        ("2020-01-01", "2020-01-01"),
    ],
)
def test_plain_scalars_follow_yaml_1_2_core_schema(text, value):
    assert load_yaml(f"v: {text}\n").data == {"v": value}


def test_infinities_and_nan_are_floats():
    data = load_yaml("a: .inf\nb: -.Inf\nc: .NaN\n").data
    assert data["a"] == float("inf") and data["b"] == float("-inf")
    assert data["c"] != data["c"]


def test_yaml_1_1_quirks_are_refused_by_the_strict_types():
    from netspec.loader import loads

    with pytest.raises(SpecError) as info:
        loads("netspec: 1\ninput_shape: [4]\nlayers:\n  - {type: Dense, units: 1:30}\n", "t.yaml")
    assert str(info.value) == "t.yaml:4:26: layers[0].units: should be a valid integer (got '1:30')"


def test_scientific_learning_rate_is_a_number():
    from netspec.loader import loads

    spec = loads(
        "netspec: 1\ninput_shape: [4]\nlayers:\n  - {type: Dense, units: 1}\n"
        "compile: {optimizer: {type: Adam, learning_rate: 1e-3}, loss: mse}\n"
    )
    assert spec.compile.optimizer.learning_rate == 0.001


def test_tagged_scalars_that_are_not_their_type_are_all_located():
    with pytest.raises(SpecError) as info:
        load_yaml("a: !!int abc\nb: !!bool maybe\nc: !!float x\nd: !!null 3\n", "t.yaml")
    assert [str(d) for d in info.value.diagnostics] == [
        "t.yaml:1:4: 'abc' is not a YAML 1.2 int (!!int)",
        "t.yaml:2:4: 'maybe' is not a YAML 1.2 bool (!!bool)",
        "t.yaml:3:4: 'x' is not a YAML 1.2 float (!!float)",
        "t.yaml:4:4: '3' is not a YAML 1.2 null (!!null)",
    ]


def test_integer_past_pythons_digit_limit_is_located():
    message = one_error("netspec: 1\nunits: " + "7" * 5000 + "\n")
    assert message.startswith("t.yaml:2:8: integer '7777")
    assert "too long (5000 digits)" in message


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b"])
def test_control_characters_are_located_where_they_are(char):
    message = one_error(f"netspec: 1\nnamé: ab{char}c\n")
    assert message.startswith(f"t.yaml:2:9: invalid YAML: unacceptable character #x{ord(char):04x}")


def test_override_values_use_the_same_reader():
    from netspec.errors import NetspecError
    from netspec.training.spec.overrides import parse_override

    assert parse_override("compile.optimizer.learning_rate=1e-4")[1] == 0.0001
    assert parse_override("layers.0.units=1:30")[1] == "1:30"
    assert parse_override("x.y=017")[1] == 17
    for bad in ["!!int abc", "!!bool maybe", "9" * 5000, "a\x00"]:
        with pytest.raises(NetspecError, match="the value is not YAML"):
            parse_override(f"layers.0.units={bad}")


def _spec_readers():
    from netspec.loader import load
    from netspec.training.spec.overrides import load_with_overrides

    return [load, load_with_overrides]


@pytest.mark.parametrize("reader", _spec_readers())
def test_a_path_that_is_not_a_regular_file_is_refused_before_reading(reader, tmp_path):
    from netspec.errors import NetspecError

    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    for path in (fifo, "/dev/zero", tmp_path):
        with pytest.raises(NetspecError) as info:
            reader(path)
        assert str(info.value) == f"{path}: not a regular file"


@pytest.mark.parametrize("reader", _spec_readers())
def test_a_file_over_the_size_limit_is_refused(reader, tmp_path):
    from netspec.errors import NetspecError
    from netspec.yamlio import MAX_FILE_BYTES

    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(NetspecError, match=r"too large for a spec \(limit 16 MiB\)"):
        reader(big)


@pytest.mark.slow  # a fresh interpreter
def test_cli_refuses_dev_zero():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "cli.py", "validate", "/dev/zero"],
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "/dev/zero: not a regular file" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
