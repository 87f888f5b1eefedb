"""A small JSON-Schema validator (the keywords below, nothing else) and a schema for the part of the Compose
Specification deploy/docker-compose.yml uses, written for these tests.

Docker is not available where the tests run, so ``docker compose config`` cannot validate the file; this checks
its structure instead: known keys only (typos fail), value types, enums and required fields.
Keywords: type, properties, required, additionalProperties, patternProperties, items, enum, const, pattern,
minItems, uniqueItems, oneOf, anyOf, $ref (to #/definitions/...).
"""

from __future__ import annotations

import re
from typing import Any

Schema = dict[str, Any]

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def _is(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES[name])


def validate(value: Any, schema: Schema, root: Schema | None = None, path: str = "$") -> list[str]:
    """Every violation of ``schema`` by ``value``, as 'path: message' strings (empty: valid)."""
    root = root if root is not None else schema
    if "$ref" in schema:
        ref = schema["$ref"]
        assert ref.startswith("#/definitions/"), ref
        return validate(value, root["definitions"][ref.rsplit("/", 1)[1]], root, path)
    errors: list[str] = []
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is(value, t) for t in types):
            return [f"{path}: expected {' or '.join(types)}, got {type(value).__name__}"]
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: must be {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
    for key in ("oneOf", "anyOf"):
        if key in schema:
            matches = [not validate(value, s, root, path) for s in schema[key]]
            if (key == "oneOf" and sum(matches) != 1) or (key == "anyOf" and not any(matches)):
                detail = [e for s in schema[key] for e in validate(value, s, root, path)][:4]
                errors.append(f"{path}: matches {sum(matches)} of the {key} alternatives: {detail}")
    if isinstance(value, dict):
        errors += _object(value, schema, root, path)
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{path}: needs at least {schema['minItems']} items")
        if schema.get("uniqueItems") and len({repr(v) for v in value}) != len(value):
            errors.append(f"{path}: items must be unique")
        if "items" in schema:
            for i, item in enumerate(value):
                errors += validate(item, schema["items"], root, f"{path}[{i}]")
    return errors


def _object(value: dict[str, Any], schema: Schema, root: Schema, path: str) -> list[str]:
    errors = [f"{path}: missing required key {k!r}" for k in schema.get("required", []) if k not in value]
    props: Schema = schema.get("properties", {})
    patterns: Schema = schema.get("patternProperties", {})
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        where = f"{path}.{key}"
        if not isinstance(key, str):
            errors.append(f"{where}: keys must be strings")
            continue
        matched = False
        if key in props:
            errors += validate(item, props[key], root, where)
            matched = True
        for pattern, sub in patterns.items():
            if re.search(pattern, key):
                errors += validate(item, sub, root, where)
                matched = True
        if not matched:
            if extra is False:
                errors.append(f"{where}: unknown key")
            elif isinstance(extra, dict):
                errors += validate(item, extra, root, where)
    return errors


_STR = {"type": "string"}
_STR_LIST = {"type": "array", "items": _STR}
_STR_OR_LIST = {"oneOf": [_STR, _STR_LIST]}
_DURATION = {"type": "string", "pattern": r"^(\d+(\.\d+)?(us|ms|s|m|h))+$"}
_X: Schema = {"^x-": {}}  # extension fields are allowed anywhere

COMPOSE_SCHEMA: Schema = {
    "type": "object",
    "required": ["services"],
    "additionalProperties": False,
    "patternProperties": _X,
    "properties": {
        "name": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9_-]*$"},
        "services": {
            "type": "object",
            "additionalProperties": False,
            "patternProperties": {r"^[a-zA-Z0-9._-]+$": {"$ref": "#/definitions/service"}},
        },
        "volumes": {
            "type": "object",
            "additionalProperties": False,
            "patternProperties": {r"^[a-zA-Z0-9._-]+$": {"type": ["object", "null"]}},
        },
        "networks": {"type": "object"},
        "secrets": {"type": "object"},
        "configs": {"type": "object"},
    },
    "definitions": {
        "service": {
            "type": "object",
            "additionalProperties": False,
            "patternProperties": _X,
            "anyOf": [{"required": ["image"]}, {"required": ["build"]}],
            "properties": {
                "image": _STR,
                "build": {"$ref": "#/definitions/build"},
                "command": _STR_OR_LIST,
                "entrypoint": _STR_OR_LIST,
                "environment": {"$ref": "#/definitions/list_or_dict"},
                "env_file": {
                    "oneOf": [
                        _STR,
                        {
                            "type": "array",
                            "items": {
                                "oneOf": [
                                    _STR,
                                    {
                                        "type": "object",
                                        "required": ["path"],
                                        "additionalProperties": False,
                                        "properties": {"path": _STR, "required": {"type": "boolean"}},
                                    },
                                ]
                            },
                        },
                    ]
                },
                "volumes": {"type": "array", "items": {"$ref": "#/definitions/volume"}, "uniqueItems": True},
                "tmpfs": _STR_OR_LIST,
                "ports": {"type": "array", "items": {"oneOf": [_STR, {"type": "integer"}, {"type": "object"}]}},
                "expose": {"type": "array", "items": {"oneOf": [_STR, {"type": "integer"}]}},
                "depends_on": {
                    "oneOf": [
                        {"type": "array", "items": _STR, "uniqueItems": True},
                        {
                            "type": "object",
                            "additionalProperties": {
                                "type": "object",
                                "required": ["condition"],
                                "additionalProperties": False,
                                "properties": {
                                    "condition": {
                                        "enum": [
                                            "service_started",
                                            "service_healthy",
                                            "service_completed_successfully",
                                        ]
                                    },
                                    "required": {"type": "boolean"},
                                    "restart": {"type": "boolean"},
                                },
                            },
                        },
                    ]
                },
                "profiles": {"type": "array", "items": {"type": "string", "pattern": r"^[a-zA-Z0-9._-]+$"}},
                "restart": {"enum": ["no", "always", "on-failure", "unless-stopped"]},
                "user": _STR,
                "read_only": {"type": "boolean"},
                "security_opt": _STR_LIST,
                "cap_add": _STR_LIST,
                "cap_drop": _STR_LIST,
                "mem_limit": {"oneOf": [{"type": "string", "pattern": r"^\d+(b|k|m|g)?$"}, {"type": "integer"}]},
                "pids_limit": {"type": "integer"},
                "logging": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"driver": _STR, "options": {"type": "object", "additionalProperties": _STR}},
                },
                "healthcheck": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "test": _STR_OR_LIST,
                        "interval": _DURATION,
                        "timeout": _DURATION,
                        "start_period": _DURATION,
                        "start_interval": _DURATION,
                        "retries": {"type": "integer"},
                        "disable": {"type": "boolean"},
                    },
                },
                "labels": {"$ref": "#/definitions/list_or_dict"},
                "networks": {"oneOf": [_STR_LIST, {"type": "object"}]},
                "network_mode": _STR,
                "container_name": _STR,
                "hostname": _STR,
                "working_dir": _STR,
                "stop_grace_period": _DURATION,
                "stop_signal": _STR,
                "init": {"type": "boolean"},
                "ulimits": {"type": "object"},
                "secrets": {"type": "array"},
                "configs": {"type": "array"},
                "deploy": {"type": "object"},
                "extra_hosts": {"$ref": "#/definitions/list_or_dict"},
                "platform": _STR,
                "pull_policy": {"enum": ["always", "never", "missing", "build"]},
            },
        },
        "build": {
            "oneOf": [
                _STR,
                {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "context": _STR,
                        "dockerfile": _STR,
                        "target": _STR,
                        "args": {"$ref": "#/definitions/list_or_dict"},
                        "platforms": _STR_LIST,
                    },
                },
            ]
        },
        "volume": {
            "oneOf": [
                {"type": "string", "pattern": r"^[^:]+:/[^:]*(:(ro|rw))?$"},
                {
                    "type": "object",
                    "required": ["type", "target"],
                    "additionalProperties": False,
                    "properties": {
                        "type": {"enum": ["bind", "volume", "tmpfs"]},
                        "source": _STR,
                        "target": _STR,
                        "read_only": {"type": "boolean"},
                    },
                },
            ]
        },
        "list_or_dict": {
            "oneOf": [
                {"type": "array", "items": _STR, "uniqueItems": True},
                {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean", "null"]}},
            ]
        },
    },
}
