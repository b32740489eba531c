"""Request validation against Google's discovery documents (``discovery/*.json``).

Bodies are checked recursively against the method's request schema (``$ref``, arrays,
``additionalProperties`` maps, enums, scalar types) the way Google's JSON front end does:

* an unknown field is ``Invalid JSON payload received. Unknown name "x" at 'requests[0].addSheet':
  Cannot find field.`` (at the top level: ``Unknown name "x": Cannot find field.``);
* a wrong type is ``Invalid value at 'data.values'
  (type.googleapis.com/google.protobuf.ListValue), "X"``;
* JSON ``null`` is accepted anywhere (it means "unset"); integers may be sent as strings,
  enums as their numbers, and field names in snake_case (proto names).

The validated body comes back normalised: camelCase names, integers as ints.
Query parameters are checked against the method's and the API's global parameters.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from . import errors

_DIR = Path(__file__).with_name("discovery")
_PROTO_PACKAGE = "type.googleapis.com/google.apps.sheets.v4."
_LIST_VALUE = "type.googleapis.com/google.protobuf.ListValue"
_INT_TYPES = {"int32": "TYPE_INT32", "uint32": "TYPE_UINT32", "int64": "TYPE_INT64",
              "uint64": "TYPE_UINT64"}
_INT_LIMITS = {"int32": (-2 ** 31, 2 ** 31 - 1), "uint32": (0, 2 ** 32 - 1),
               "int64": (-2 ** 63, 2 ** 63 - 1), "uint64": (0, 2 ** 64 - 1)}
_NUMERIC = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?Infinity|NaN")


@cache
def document(api: str) -> dict:
    """The discovery document of ``sheets.v4`` or ``drive.v3``."""
    return json.loads((_DIR / f"{api}.json").read_text(encoding="utf-8"))


def _method(method_id: str) -> dict:
    doc = document("sheets.v4")
    node: dict = doc
    for part in method_id.split(".")[1:-1]:
        node = node["resources"][part]
    return node["methods"][method_id.split(".")[-1]]


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


class _Checker:
    def __init__(self, schemas: dict):
        self.schemas = schemas
        self.violations: list[tuple[str, str]] = []

    def bad_value(self, path: str, schema: dict, value: Any) -> None:
        shown = json.dumps(value, ensure_ascii=False)
        message = f"Invalid value at '{path}' ({self.type_name(schema)}), {shown}"
        self.violations.append((path, message))

    def type_name(self, schema: dict) -> str:
        if "$ref" in schema:
            return _PROTO_PACKAGE + schema["$ref"]
        kind = schema.get("type")
        if kind == "array":
            items = schema.get("items", {})
            return _LIST_VALUE if items.get("type") in ("array", "any") else self.type_name(items)
        if kind == "string":
            if "enum" in schema:
                return "TYPE_ENUM"
            return _INT_TYPES.get(schema.get("format"), "TYPE_STRING")
        if kind == "integer":
            return _INT_TYPES.get(schema.get("format"), "TYPE_INT32")
        if kind == "number":
            return "TYPE_FLOAT" if schema.get("format") == "float" else "TYPE_DOUBLE"
        if kind == "boolean":
            return "TYPE_BOOL"
        return "type.googleapis.com/google.protobuf.Value"

    def check(self, value: Any, schema: dict, path: str) -> Any:
        if value is None:
            return None
        if "$ref" in schema:
            return self.check_message(value, schema, self.schemas[schema["$ref"]], path)
        kind = schema.get("type")
        if kind == "object":
            return self.check_message(value, schema, schema, path)
        if kind == "array":
            if not isinstance(value, list):
                self.bad_value(path, schema, value)
                return value
            return [self.check(item, schema.get("items", {}), f"{path}[{i}]")
                    for i, item in enumerate(value)]
        if kind == "any":
            return value
        return self.check_scalar(value, schema, path)

    def check_message(self, value: Any, schema: dict, target: dict, path: str) -> Any:
        if not isinstance(value, dict):
            self.bad_value(path, schema, value)
            return value
        if "additionalProperties" in target:
            return {k: self.check(v, target["additionalProperties"], f"{path}.{k}")
                    for k, v in value.items()}
        properties = target.get("properties", {})
        out = {}
        for key, item in value.items():
            name = key if key in properties else camel(key)
            if name not in properties:
                where = f" at '{path}'" if path else ""
                self.violations.append((path, f'Invalid JSON payload received. Unknown name '
                                              f'"{key}"{where}: Cannot find field.'))
                continue
            out[name] = self.check(item, properties[name], f"{path}.{name}" if path else name)
        return out

    def check_scalar(self, value: Any, schema: dict, path: str) -> Any:
        kind, fmt = schema.get("type"), schema.get("format")
        if "enum" in schema:
            if isinstance(value, int) and not isinstance(value, bool) \
                    and 0 <= value < len(schema["enum"]):
                return schema["enum"][value]
            if value in schema["enum"]:
                return value
        elif kind == "boolean":
            if isinstance(value, bool):
                return value
        elif kind == "integer" or (kind == "string" and fmt in _INT_LIMITS):
            number = _integer(value)
            low, high = _INT_LIMITS.get(fmt, _INT_LIMITS["int32"])
            if number is not None and low <= number <= high:
                return number if kind == "integer" else str(number)
        elif kind == "number":
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return value
            if isinstance(value, str) and _NUMERIC.fullmatch(value):
                return float(value)
        elif isinstance(value, str):
            return value
        self.bad_value(path, schema, value)
        return value


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value)
    return None


def validate_body(method_id: str, body: Any, prefix: str = "") -> Any:
    """Validate and normalise a Sheets request body; raise a Google-shaped 400."""
    method = _method(method_id)
    checker = _Checker(document("sheets.v4")["schemas"])
    normalised = checker.check(body, method["request"], prefix)
    if checker.violations:
        raise errors.invalid_argument(checker.violations)
    return normalised


def validate_query(method_id: str, query: dict[str, list[str]]) -> dict[str, list[str]]:
    """Check query parameter names and enum/boolean values; return camelCase names."""
    doc = document("sheets.v4")
    known = {**doc["parameters"], **_method(method_id).get("parameters", {})}
    out: dict[str, list[str]] = {}
    violations = []
    for key, values in query.items():
        name = key if key in known else camel(key)
        spec = known.get(name)
        if spec is None or spec.get("location") == "path":
            violations.append((key, f'Invalid JSON payload received. Unknown name "{key}": '
                                    f"Cannot bind query parameter. Field '{key}' could not be "
                                    f"found in request message."))
            continue
        for value in values:
            bad = ("enum" in spec and value not in spec["enum"]) or (
                spec.get("type") == "boolean" and value.lower() not in ("true", "false"))
            if bad:
                kind = "TYPE_ENUM" if "enum" in spec else "TYPE_BOOL"
                violations.append((snake(name), f"Invalid value at '{snake(name)}' ({kind}), "
                                                f'"{value}"'))
        out[name] = values
    if violations:
        raise errors.invalid_argument(violations)
    return out
