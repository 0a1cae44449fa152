"""Request validation shared by every service: safe JSON parsing, JSON schemas, query values.

A request body is parsed by :func:`parse_json`, which refuses what would otherwise reach a
handler and crash it later: nesting deeper than :data:`MAX_DEPTH`, integers outside 64 bits,
``NaN``/``Infinity``, strings (keys included) holding NUL or lone surrogates. It is then checked
against the route's JSON schema (Draft 4, as Nova, Cinder and Glance write theirs) by
:func:`validate`, before any handler code runs. Every refusal is a 400 whose message names
the field, the value and the rule, in Nova's words ("Invalid input for field/attribute ...").

Query parameters go through :func:`query_int` and :func:`query_bool`: only ASCII digits count
as digits (``"²".isdigit()`` is true in Python, ``int("²")`` is not).
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import jsonschema
from jsonschema import Draft4Validator, FormatChecker

from minicloud.errors import BadRequest

MAX_DEPTH = 64
INT64 = (-(2 ** 63), 2 ** 63 - 1)
_DIGITS = re.compile(r"-?[0-9]+\Z")
_BAD_CHARS = re.compile(r"[\x00\ud800-\udfff]")
_TRUE = ("1", "t", "true", "on", "y", "yes")
_FALSE = ("0", "f", "false", "off", "n", "no")


def _int(text: str) -> int:
    value = int(text)
    if not INT64[0] <= value <= INT64[1]:
        raise BadRequest(f"Invalid input: integer {text[:30]} is outside the 64-bit range.")
    return value


def _constant(name: str) -> None:
    raise BadRequest(f"Invalid input: {name} is not a JSON number.")


def _check_tree(value: Any, depth: int = 0) -> None:
    if depth >= MAX_DEPTH:
        raise BadRequest(f"Invalid input: JSON nested deeper than {MAX_DEPTH} levels.")
    if isinstance(value, str):
        if _BAD_CHARS.search(value):
            raise BadRequest("Invalid input: strings may not contain NUL characters or lone "
                             "surrogates.")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_tree(key, depth + 1)
            _check_tree(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_tree(item, depth + 1)


def parse_json(data: bytes | str) -> Any:
    """The JSON document in ``data``, or :class:`BadRequest` for anything unsafe (above)."""
    try:
        value = json.loads(data, parse_int=_int, parse_constant=_constant)
    except RecursionError:
        raise BadRequest(f"Invalid input: JSON nested deeper than {MAX_DEPTH} levels.") \
            from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"Malformed request body: not valid JSON ({exc}).") from None
    _check_tree(value)
    return value


def _numeric_bound(check: Any) -> Any:
    """Nova's rule: ``minimum``/``maximum`` bound a string of digits by its value too (counts
    and sizes may be sent as ``"5"``; without this ``"99999999999999999999"`` would pass a
    ``maximum`` and overflow the database)."""
    def bound(validator: Any, limit: Any, instance: Any, schema: Any) -> Any:
        if isinstance(instance, str) and _DIGITS.match(instance):
            instance = int(instance)
        return check(validator, limit, instance, schema)
    return bound


_Validator = jsonschema.validators.extend(Draft4Validator, {
    "minimum": _numeric_bound(Draft4Validator.VALIDATORS["minimum"]),
    "maximum": _numeric_bound(Draft4Validator.VALIDATORS["maximum"]),
})
_VALIDATORS: dict[int, Any] = {}


def _validator(schema: Mapping[str, Any]) -> Any:
    key = id(schema)
    validator = _VALIDATORS.get(key)
    if validator is None:
        Draft4Validator.check_schema(schema)
        validator = _VALIDATORS[key] = _Validator(schema, format_checker=FormatChecker())
    return validator


def _describe(error: jsonschema.ValidationError) -> str:
    path = "/".join(str(p) for p in error.absolute_path)
    value = repr(error.instance)
    if len(value) > 200:
        value = value[:200] + "..."
    if error.validator == "additionalProperties":
        return f"Additional properties are not allowed: {error.message.split('(')[-1]}"
    rule = error.message[:300]
    if error.validator == "pattern" and error.validator_value in PATTERN_HINTS:
        rule = PATTERN_HINTS[error.validator_value]
    if not path:
        return f"Invalid input for the request body. {rule}"
    return f"Invalid input for field/attribute {path}. Value: {value}. {rule}"


def validate(body: Any, schema: Mapping[str, Any]) -> Any:
    """``body`` if it conforms to ``schema``; else :class:`BadRequest` naming the first
    (deepest, most relevant) problem."""
    error = jsonschema.exceptions.best_match(_validator(schema).iter_errors(body))
    if error is not None:
        raise BadRequest(_describe(error))
    return body


def query_int(args: Mapping[str, str], name: str, default: int | None = None,
              minimum: int | None = 0, maximum: int | None = None) -> int | None:
    """An integer query parameter of ASCII digits within bounds; absent: ``default``."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    if not _DIGITS.match(raw):
        raise BadRequest(f"Invalid value {raw[:50]!r} for {name}: expected an integer.")
    value = int(raw)
    if not INT64[0] <= value <= INT64[1]:
        raise BadRequest(f"Invalid value for {name}: outside the 64-bit range.")
    if minimum is not None and value < minimum:
        raise BadRequest(f"Invalid value {raw} for {name}: must be at least {minimum}.")
    if maximum is not None and value > maximum:
        raise BadRequest(f"Invalid value {raw} for {name}: must be at most {maximum}.")
    return value


def query_bool(args: Mapping[str, str], name: str, default: bool | None = None) -> bool | None:
    """A boolean query parameter (``true``/``false``, ``1``/``0``, ``yes``/``no``...)."""
    raw = args.get(name)
    if raw is None:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise BadRequest(f"Invalid value {raw[:50]!r} for {name}: expected a boolean.")


# -- schema pieces every service reuses ----------------------------------------------------
#: A name: 1 to 255 characters, no control characters, no leading or trailing whitespace.
NAME = {"type": "string", "minLength": 1, "maxLength": 255,
        "pattern": r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$"}
#: A free-text description of at most 255 characters (Nova's), null allowed.
DESCRIPTION = {"type": ["string", "null"], "maxLength": 255,
               "pattern": r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"}
UUID = {"type": "string", "format": "uuid"}
#: An integer, or a string of ASCII digits (Nova accepts both for counts and sizes).
NON_NEGATIVE_INT = {"type": ["integer", "string"], "pattern": r"^[0-9]+$", "minimum": 0,
                    "maximum": INT64[1]}
POSITIVE_INT = {"type": ["integer", "string"], "pattern": r"^[0-9]*[1-9][0-9]*$",
                "minimum": 1, "maximum": INT64[1]}
#: Booleans as OpenStack accepts them in bodies: JSON booleans or their usual spellings.
BOOLEAN = {"type": ["boolean", "string"],
           "enum": [True, False, *_TRUE, *_FALSE, "True", "False", "TRUE", "FALSE",
                    "On", "Off", "ON", "OFF", "YES", "NO", "Yes", "No"]}
#: String-to-string metadata with keys of 1 to 255 and values of at most 255 characters.
METADATA = {"type": "object",
            "patternProperties": {r"^[^\x00-\x1f\x7f]{1,255}$": {"type": "string",
                                                               "maxLength": 255}},
            "additionalProperties": False}


#: What a shared pattern means, said in words instead of the regular expression.
PATTERN_HINTS = {
    NAME["pattern"]: "It must not be blank, start or end with whitespace, or contain "
                     "control characters.",
    DESCRIPTION["pattern"]: "It must not contain control characters.",
    NON_NEGATIVE_INT["pattern"]: "It must be a non-negative integer.",
    POSITIVE_INT["pattern"]: "It must be a positive integer.",
}


def to_bool(value: bool | str) -> bool:
    """A value that passed :data:`BOOLEAN` as a Python bool."""
    return value if isinstance(value, bool) else value.lower() in _TRUE
