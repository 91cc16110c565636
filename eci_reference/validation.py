"""pydantic validation that reports every problem at once, each in words relative to where it is.

pydantic stops a validator at its first ``raise`` and reports a model's own fields before its
unknown keys; a ConfigMap's author wants every problem in one Event, in the order of the document.
So a rule that finds several problems raises them together (``raise_all``), and a model that checks
its keys, or the object as a whole, reports those around what pydantic found (``validate_collecting``).

A rule's text is relative to its place: ``PROBLEM`` reads "<where>: <text>", ``SUBJECT`` "<where>
<text>" (the place is the sentence's subject), ``ENTRY_VALUE`` is about a map entry's value and is
worded with the entry's key (``eci_reference.profile_problems`` puts the place in front).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from eci_reference.constants import PROFILE_NAME
from eci_reference.text import shorten

#: Error types of our rules (pydantic's own types keep their names).
PROBLEM: Final = "eci_problem"
SUBJECT: Final = "eci_subject"
#: A map entry's value: ``ctx`` has ``shown`` (the value, or "") and ``rule``, worded with the key.
ENTRY_VALUE: Final = "eci_entry_value"
_TEMPLATES: Final = {PROBLEM: "{text}", SUBJECT: "{text}", ENTRY_VALUE: "{rule}"}
SHOWN_VALUE_CHARS: Final = 60


def show(value: object) -> str:
    """A bounded ``repr`` for a problem: user input must not flood an Event."""
    return shorten(value, SHOWN_VALUE_CHARS)


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type, as a problem says what it got."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def problem(
    text: str, loc: tuple[str | int, ...] = (), value: object = None, *, kind: str = PROBLEM
) -> InitErrorDetails:
    return InitErrorDetails(type=PydanticCustomError(kind, "{text}", {"text": text}), loc=loc, input=value)


def raise_all(errors: list[InitErrorDetails]) -> None:
    """Raise every problem at once (a validator's single ``raise`` would report only one)."""
    if errors:
        raise ValidationError.from_exception_data(PROFILE_NAME, errors)


def errors_of(error: ValidationError, prefix: tuple[str | int, ...] = ()) -> list[InitErrorDetails]:
    """``error``'s problems, to be raised again with others (under ``prefix``)."""
    again: list[InitErrorDetails] = []
    for detail in error.errors(include_url=False):
        kind = detail["type"]
        ctx = detail.get("ctx")
        if kind in _TEMPLATES:
            again.append(
                InitErrorDetails(
                    type=PydanticCustomError(kind, _TEMPLATES[kind], ctx),
                    loc=(*prefix, *detail["loc"]),
                    input=detail["input"],
                )
            )
        else:
            known = InitErrorDetails(type=kind, loc=(*prefix, *detail["loc"]), input=detail["input"])
            if ctx is not None:
                known["ctx"] = ctx
            again.append(known)
    return again


def validate_collecting(
    value: object,
    handler: Callable[[object], Any],
    before: list[InitErrorDetails],
    after: Callable[[], list[InitErrorDetails]] = list,
) -> Any:
    """``handler(value)``, reporting ``before`` ahead of its problems and ``after()`` behind them."""
    errors = list(before)
    result = None
    try:
        result = handler(value)
    except ValidationError as error:
        errors.extend(errors_of(error))
    errors.extend(after())
    raise_all(errors)
    return result


class JsonObject(dict[str, Any]):
    """A decoded JSON object that remembers keys JSON would otherwise silently overwrite."""

    duplicate_keys: tuple[str, ...] = ()


def duplicate_key_problems(value: object) -> list[InitErrorDetails]:
    keys: Iterable[str] = getattr(value, "duplicate_keys", ())
    return [problem(f"key {show(key)} appears more than once", value=value) for key in keys]


def object_from_pairs(pairs: list[tuple[str, Any]]) -> JsonObject:
    decoded = JsonObject()
    duplicates: list[str] = []
    for key, value in pairs:
        if key in decoded:
            duplicates.append(key)
        decoded[key] = value
    if duplicates:
        decoded.duplicate_keys = tuple(duplicates)
    return decoded
