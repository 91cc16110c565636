"""Load a YAML file into a pydantic model, with errors a person can act on.

The catalogue and the implementation files are written by hand (the implementation file by vendors who
never read our code), so a bad file must be reported as "which file, which field, what is wrong" -- not
as a pydantic traceback. Both loaders go through `load_model_file`.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

ModelT = TypeVar("ModelT", bound=BaseModel)

_PYDANTIC_MESSAGE_PREFIXES = ("Value error, ", "Assertion failed, ")
#: How much of a value or key an error message quotes.
_SHOWN_CHARS = 100
_PLAIN_MESSAGES = {
    "missing": "required field is missing",
    "extra_forbidden": "unknown field (misspelt?); unknown fields are errors, not ignored",
}


class ModelFileError(ValueError):
    """A YAML file is missing, is not YAML, or does not match its model. The message names the file."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses duplicate mapping keys.

    PyYAML keeps the last of two equal keys silently; in a hand-written file that hides a mistake
    (two `limits:` blocks, a requirement's `statement` given twice), so we make it an error.
    """


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, Hashable):  # `? [a, b]`: construct_mapping reports it as a YAML error
            continue
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_unique_mapping,
)


def read_yaml_mapping(path: Path, what: str) -> dict[str, Any]:
    """Read `path` as one YAML document whose top level is a mapping; `what` names it in errors."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelFileError(f"{path}: {what} not found") from None
    except OSError as error:
        raise ModelFileError(f"{path}: cannot read the {what}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ModelFileError(f"{path}: the {what} is not UTF-8 text: {error.reason}") from None
    return parse_yaml_mapping(text, str(path), what)


def parse_yaml_mapping(text: str, origin: str, what: str) -> dict[str, Any]:
    """Parse `text` (read from `origin`, e.g. a file or a bundle member) as one YAML mapping."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 -- a SafeLoader subclass
    except yaml.YAMLError as error:
        raise ModelFileError(f"{origin}: the {what} is not valid YAML: {_yaml_problem(error)}") from None
    except RecursionError:  # PyYAML composes and constructs recursively: thousands of `[` exhaust it
        raise ModelFileError(f"{origin}: the {what} is nested too deeply to be read") from None
    if data is None:
        raise ModelFileError(f"{origin}: the {what} is empty (no YAML document in it)")
    if not isinstance(data, dict):
        got = "a list" if isinstance(data, list) else f"a {type(data).__name__}"
        raise ModelFileError(f"{origin}: the {what} must be a YAML mapping at the top level, not {got}")
    return data


def load_model_file(path: Path, model: type[ModelT], what: str) -> ModelT:
    """Read `path` and validate it as `model`; raise `ModelFileError` listing every problem."""
    data = read_yaml_mapping(path, what)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ModelFileError(describe_validation_error(path, what, error, data)) from None


def describe_validation_error(path: Path, what: str, error: ValidationError, data: Any) -> str:
    """One line per problem: `<field path>: <message> (got <value>)`, headed by the file name."""
    problems = validation_problems(error, data)
    noun = "problem" if len(problems) == 1 else "problems"
    lines = [f"{path}: invalid {what} ({len(problems)} {noun}):"]
    lines.extend(f"  - {problem}" for problem in problems)
    return "\n".join(lines)


def _yaml_problem(error: yaml.YAMLError) -> str:
    """`<problem> at line L, column C`, without PyYAML's quoted source excerpts."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None)
    if problem and mark is not None:
        context = getattr(error, "context", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}"
        return f"{context + ': ' if context else ''}{problem} at {where}"
    return " ".join(str(error).split())


def validation_problems(error: ValidationError, data: Any) -> list[str]:
    """Each problem of `error` as `<field path>: <message> (got <value>)`, for one line apiece."""
    return [_describe_problem(detail, data) for detail in error.errors(include_url=False)]


def _describe_problem(detail: ErrorDetails, data: Any) -> str:
    field = field_path(detail["loc"], data) or "(top level)"
    message = _PLAIN_MESSAGES.get(detail["type"], detail["msg"])
    for prefix in _PYDANTIC_MESSAGE_PREFIXES:
        message = message.removeprefix(prefix)
    value = detail.get("input")
    shown = (
        ""
        if detail["type"] == "missing" or isinstance(value, Mapping | list)
        else f" (got {short_repr(value)})"
    )
    return f"{field}: {message}{shown}"


def short_repr(value: object, limit: int = _SHOWN_CHARS) -> str:
    """A bounded ``repr``: a 200 kB value pasted into a file must not become a 200 kB error line."""
    shown = repr(value)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def field_path(location: Sequence[int | str], data: Any) -> str:
    """Render a pydantic error location as `requirements[3](SCHED-POD-LABEL).severity`.

    A list item that has an `id` or `name` is labelled with it, because "requirements[17]" alone sends
    the reader counting entries in a long file.
    """
    rendered = ""
    node = data
    for part in location:
        if isinstance(part, int):
            rendered += f"[{part}]"
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            label = _item_label(node)
            if label:
                rendered += f"({_path_part(label)})"
        else:
            rendered += f".{_path_part(part)}" if rendered else _path_part(part)
            node = node.get(part) if isinstance(node, Mapping) else None
    return rendered


def _path_part(text: str) -> str:
    """A key or label as written when it is short and printable; quoted and cut short otherwise."""
    return text if len(text) <= _SHOWN_CHARS and text.isprintable() else short_repr(text)


def _item_label(node: Any) -> str | None:
    if isinstance(node, Mapping):
        for key in ("id", "name"):
            value = node.get(key)
            if isinstance(value, str) and value:
                return value
    return None
