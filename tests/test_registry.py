"""The one way entries get into registries (`Registry.register`), the one table of kinds
(`netspec.catalog.KINDS`), and the "did you mean" hints that read it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel

from netspec import loads
from netspec.catalog import KINDS
from netspec.errors import SpecError
from netspec.layers import LAYERS, register_layer
from netspec.registry import Registry, UnknownName

ROOT = Path(__file__).resolve().parent.parent


class Model(BaseModel):
    type: str


def test_the_canonical_name_comes_from_the_type_literal():
    registry: Registry = Registry("thing")

    @registry.register("zeros", "zero")
    class Zeros(Model):
        type: Literal["Zeros"] = "Zeros"

    @registry.register()
    class MaxPooling2D(Model):  # a layer's extra Literal values are aliases
        type: Literal["MaxPooling2D", "MaxPool2D"]

    assert registry.names() == ["Zeros", "MaxPooling2D"]
    assert registry.aliases() == {"zeros": "Zeros", "zero": "Zeros", "MaxPool2D": "MaxPooling2D"}
    assert registry.get("zero") is Zeros and registry.get("MaxPool2D") is MaxPooling2D
    assert registry.name_of(MaxPooling2D) == "MaxPooling2D" and registry.name_of(Model) is None


def test_a_function_registers_under_its_name():
    registry: Registry = Registry("function")

    @registry.register("identity")
    def linear(x):
        return x

    assert registry.get("identity") is linear and registry.names() == ["linear"]


def test_taken_names_and_bad_entries_are_refused():
    registry: Registry = Registry("thing")

    @registry.register("a")
    class A(Model):
        type: Literal["A"] = "A"

    assert registry.register()(A) is A  # the same class again: nothing changes

    class Other(Model):
        type: Literal["A"] = "A"

    with pytest.raises(ValueError, match="thing 'A' is already registered"):
        registry.register()(Other)

    class B(Model):
        type: Literal["B"] = "B"

    with pytest.raises(ValueError, match="thing alias 'a' is already taken"):
        registry.register("a")(B)
    with pytest.raises(ValueError, match="thing alias 'A' is already taken"):
        registry.register("A")(B)
    with pytest.raises(TypeError, match="aliases are names"):
        registry.register(B)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="type should be a Literal"):
        registry.register()(Model)
    assert registry.names() == ["A"]
    with pytest.raises(UnknownName, match="unknown thing 'B'; one of: A"):
        registry.get("B")


def test_a_loader_runs_once_before_the_first_read():
    registry: Registry = Registry("thing")
    calls = []

    def load() -> None:
        calls.append(1)

        @registry.register()
        class Late(Model):
            type: Literal["Late"] = "Late"

    registry.add_loader(load)
    assert calls == []
    assert "Late" in registry and registry.names() == ["Late"] and calls == [1]


def test_lazy_entries_keep_their_place():
    registry: Registry = Registry("thing")
    registry.register_lazy("First", ("first",), lambda: registry.register("first")(First))

    @registry.register()
    class Second(Model):
        type: Literal["Second"] = "Second"

    class First(Model):
        type: Literal["First"] = "First"

    assert registry.names() == ["First", "Second"]
    assert registry.get("first") is First and registry.names() == ["First", "Second"]


def test_register_layer_is_the_layers_registrys_decorator(monkeypatch):
    from netspec.layers import Layer

    monkeypatch.setattr(LAYERS, "_entries", dict(LAYERS._entries))
    monkeypatch.setattr(LAYERS, "_aliases", dict(LAYERS._aliases))

    @register_layer
    class Twice(Layer):
        type: Literal["Twice", "Double"]

    assert LAYERS.get("Double") is Twice and LAYERS.name_of(Twice) == "Twice"


def test_the_table_of_kinds():
    assert [k.name for k in KINDS][:1] == ["layers"]
    for kind in KINDS:
        registry = kind.registry()
        assert len(registry) > 0, kind.name
        assert kind.section in ("model", "compile", "train") and kind.description.endswith(".")
        assert kind.keras.startswith("keras.") and kind.title
        name, cls = registry.items()[0]
        assert registry.name_of(cls) == name and kind.noun == registry.kind


@pytest.mark.slow  # a fresh interpreter
def test_the_table_imports_no_model():
    """`netspec --help` and `netspec validate` read the table: it imports neither pydantic nor
    a vocabulary."""
    code = (
        "import sys, netspec.catalog, netspec.cli\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'netspec')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(
        [
            "netspec",
            "netspec.catalog",
            "netspec.cli",
            "netspec.cli_options",
            "netspec.cli_review",
            "netspec.cli_train",
        ]
    )


def error_of(text: str) -> str:
    with pytest.raises(SpecError) as exc:
        loads(text)
    return str(exc.value)


def test_a_tag_names_the_class_its_key_takes():
    """`Identity` is a layer and an initializer, `MeanSquaredError` a loss and a metric: a
    mistyped key is hinted from the class the key holding the object takes."""
    message = error_of(
        "netspec: 1\ninput_shape: [4]\nlayers:\n"
        "  - {type: Dense, units: 4, kernel_initializer: {type: Identity, gian: 2}}\n"
        "  - {type: Identity, nmae: x}\n"
        "compile:\n  optimizer: adam\n  loss: mse\n"
        "  metrics: [{type: MeanSquaredError, nme: x}]\n"
    )
    assert "layers[0].kernel_initializer.gian: unknown key 'gian'; did you mean 'gain'?" in message
    assert "layers[1].nmae: unknown key 'nmae'; did you mean 'name'?" in message
    assert "compile.metrics[0].nme: unknown key 'nme'; did you mean 'name'?" in message
