"""A small validator for Swagger 2.0 definitions: enough to check SP-API bodies.

It knows what ordersV0.json uses: `$ref`, `type`, `properties`, `required`, `items`,
`enum`, `minItems`/`maxItems`, `additionalProperties` (as a schema or a boolean).
Unknown keywords are ignored. Returns the problems as readable paths, empty when valid.
"""

from __future__ import annotations

from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["definitions"][name]
    return schema


def validate(instance: Any, schema: dict[str, Any], spec: dict[str, Any], path: str = "$") -> list[str]:
    schema = resolve(schema, spec)
    problems: list[str] = []
    kind = schema.get("type")
    if kind is None and "properties" in schema:
        kind = "object"
    if kind is not None:
        expected = _TYPES[kind]
        if not isinstance(instance, expected) or (kind in ("integer", "number") and isinstance(instance, bool)):
            return [f"{path}: expected {kind}, got {type(instance).__name__}"]
    if "enum" in schema and instance not in schema["enum"]:
        problems.append(f"{path}: {instance!r} not one of {schema['enum']}")
    if isinstance(instance, dict):
        for name in schema.get("required", []):
            if name not in instance:
                problems.append(f"{path}.{name}: required")
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for name, value in instance.items():
            if name in properties:
                problems += validate(value, properties[name], spec, f"{path}.{name}")
            elif extra is False:
                problems.append(f"{path}.{name}: not allowed")
            elif isinstance(extra, dict):
                problems += validate(value, extra, spec, f"{path}.{name}")
    if isinstance(instance, list):
        if len(instance) < schema.get("minItems", 0):
            problems.append(f"{path}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(instance) > schema["maxItems"]:
            problems.append(f"{path}: more than {schema['maxItems']} items")
        if "items" in schema:
            for index, value in enumerate(instance):
                problems += validate(value, schema["items"], spec, f"{path}[{index}]")
    return problems


def definition(spec: dict[str, Any], name: str) -> dict[str, Any]:
    return {"$ref": f"#/definitions/{name}"}
