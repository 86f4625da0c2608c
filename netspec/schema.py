"""The JSON Schema of spec files, generated from the same pydantic models that validate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .spec import spec_model

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "netspec.schema.json"


def json_schema() -> dict[str, Any]:
    """The schema (2020-12 dialect: tuple items and discriminated unions are checked)."""
    schema = spec_model().model_json_schema()
    return {
        "$schema": DIALECT,
        "$id": "https://netspec.dev/schemas/netspec.schema.json",
        "title": "netspec model spec",
        **schema,
    }


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=False) + "\n"
