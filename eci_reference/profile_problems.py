"""pydantic's errors about an eci-profile, as the problems a user reads (one sentence each).

pydantic locates an error as ``selectors.2.objectSelector.matchLabels.tier`` and words it for a
programmer ("String should match pattern ..."). The InvalidProfile Event names the selector by its
index and name, says what is wrong in the format's own terms, and quotes the offending value
(bounded): ``selectors[2] (gpu): objectSelector.matchLabels: value 'a b' of 'tier' is not a valid
label value (...)``. Rules of ``profile_schema`` bring their own text; pydantic's own errors (types,
a missing name, the name's syntax) are worded here. More than ``MAX_REPORTED_PROBLEMS`` problems
are summarised, so that an Event message stays readable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from eci_reference.constants import MAX_REPORTED_PROBLEMS
from eci_reference.kube_names import DNS1123_RULE, NAME_MAX
from eci_reference.validation import ENTRY_VALUE, PROBLEM, SUBJECT, json_type, show

#: Fields whose value is a map of user-chosen keys (the key is then part of the sentence, not the path).
_MAP_FIELDS: Final = ("matchLabels", "annotations", "labels")
_LABEL_SELECTORS: Final = ("namespaceSelector", "objectSelector")


def describe_problems(error: ValidationError, context: Mapping[str, object]) -> list[str]:
    """Every problem of ``error``, in its order; ``context`` is what validation recorded (selector names)."""
    names = _selector_names(context.get("selectors"))
    problems = [_describe(detail, names) for detail in error.errors(include_url=False)]
    if len(problems) > MAX_REPORTED_PROBLEMS:
        dropped = len(problems) - MAX_REPORTED_PROBLEMS
        problems = [*problems[:MAX_REPORTED_PROBLEMS], f"... and {dropped} more problems"]
    return problems


def _selector_names(document: object) -> dict[int, str]:
    """Names fit to appear in a problem: a readable name helps, a broken one would only confuse."""
    if not isinstance(document, list):
        return {}
    names: dict[int, str] = {}
    for index, item in enumerate(document):
        name = item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str) and name and name.isprintable() and len(name) <= NAME_MAX:
            names[index] = name
    return names


@dataclass(frozen=True)
class _Place:
    """Where a problem is: the words for it, what sits there, and the map key when in a map."""

    path: str
    what: str
    entry: str | None = None


def _place(loc: tuple[str | int, ...], names: Mapping[int, str]) -> _Place:
    if not loc:
        return _Place("", "data")
    if loc[0] != "selectors" or len(loc) == 1:
        return _Place(str(loc[0]), "key")
    index = loc[1]
    where = (
        f"selectors[{index}] ({names[index]})"
        if isinstance(index, int) and index in names
        else f"selectors[{index}]"
    )
    fields = [str(part) for part in loc[2:4]]
    path = f"{where}: {'.'.join(fields)}" if fields else where
    if not fields:
        return _Place(path, "selector")
    if len(loc) > 4:
        return _Place(path, "entry", entry=str(loc[4]))
    if fields[-1] in _MAP_FIELDS:
        return _Place(path, "map")
    return _Place(path, "label selector" if fields[0] in _LABEL_SELECTORS else fields[0])


_NOT_AN_OBJECT: Final = {
    "data": "data must be a map of strings, got {got}",
    "selector": "{path}: must be a JSON object, got {got}",
    "label selector": "{path} must be a JSON object with matchLabels, got {got}",
    "effect": "{path} must be a JSON object, got {got}",
    "map": "{path} must be a JSON object of strings, got {got}",
}


_NAME_PROBLEMS: Final = {
    "missing": "{path} is required",
    "string_type": "{path} must be a string, got {got}",
    "string_too_short": "{path} must not be empty",
    "string_too_long": "{path} {shown} " + DNS1123_RULE,
    "string_pattern_mismatch": "{path} {shown} " + DNS1123_RULE,
}


def _describe(detail: ErrorDetails, names: Mapping[int, str]) -> str:
    kind = detail["type"]
    ctx = detail.get("ctx") or {}
    place = _place(detail["loc"], names)
    got = json_type(detail["input"])
    template: str | None = None
    if kind == PROBLEM:
        template = "{path}: {text}" if place.path else "{text}"
    elif kind == SUBJECT:
        template = "{path} {text}"
    elif place.entry is not None and kind in (ENTRY_VALUE, "string_type"):
        shown, rule = (
            (ctx["shown"], ctx["rule"]) if kind == ENTRY_VALUE else ("", f"must be a string, got {got}")
        )
        value = f"value {shown} of" if shown else "value of"
        return f"{place.path}: {value} {show(place.entry)} {rule}"
    elif kind in ("model_type", "dict_type"):
        template = _NOT_AN_OBJECT.get(place.what)
    elif place.what == "name":
        template = _NAME_PROBLEMS.get(kind)
    if template is None:  # not expected: pydantic's own words, still named by where
        template = "{path}: {msg}" if place.path else "{msg}"
    return template.format(
        path=place.path, text=ctx.get("text", ""), got=got, shown=show(detail["input"]), msg=detail["msg"]
    )
