"""Generators of bad input shared by the fuzz targets: JSON-ish values, oversized and deeply nested
values, and damaged copies of a valid document (a field of the wrong type or removed, text cut short).

Damaging a *valid* document reaches the checks deep inside it; purely random input mostly stops at
the first check. Every damage is recorded as the path it was done at, so an oracle can say which
field the error message has to name.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from hypothesis import strategies as st

Path = tuple[str | int, ...]

#: Characters beyond ASCII: accents, CJK, emoji, right-to-left, zero-width, lone surrogates, NUL.
awkward_text = st.text(
    alphabet=st.characters(codec=None, exclude_categories=())
    | st.sampled_from(["\x00", "\u200b", "é", "中", "😀", "\ud800"]),
    max_size=30,
)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63, max_value=2**200)
    | st.floats()
    | awkward_text
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(awkward_text, children, max_size=4),
    max_leaves=16,
)


@dataclass(frozen=True)
class Nested:
    """``depth`` levels of JSON arrays or objects; rendered as text, because ``json.dumps`` and
    ``yaml.safe_dump`` would themselves hit the recursion limit on such a value."""

    depth: int
    opener: str

    def text(self) -> str:
        if self.opener == "[":
            return "[" * self.depth + '"bottom"' + "]" * self.depth
        return '{"a":' * self.depth + '"bottom"' + "}" * self.depth


def nested(max_depth: int = 3000) -> st.SearchStrategy[Nested]:
    return st.builds(Nested, st.integers(min_value=50, max_value=max_depth), st.sampled_from("[{"))


nested_values = nested()


def huge_texts(max_size: int = 300_000) -> st.SearchStrategy[str]:
    """Long text, by default up to 300 kB: beyond every size limit of the parsers under test."""
    return st.builds(
        lambda unit, count: unit * count,
        st.sampled_from(["x", "é", "😀", "a,", " ", "\n"]),
        st.integers(min_value=1_000, max_value=max_size),
    )


huge_text = huge_texts()
bad_values = json_values | nested_values | huge_text


def paths_of(document: Any, prefix: Path = ()) -> list[Path]:
    """Every path into ``document`` (mapping keys and list indices), the root excluded."""
    found: list[Path] = []
    if isinstance(document, dict):
        for key, value in document.items():
            found.append((*prefix, key))
            found.extend(paths_of(value, (*prefix, key)))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found.append((*prefix, index))
            found.extend(paths_of(value, (*prefix, index)))
    return found


@dataclass(frozen=True)
class Damage:
    """A valid document with one field replaced (``value``) or removed (``removed``) at ``path``."""

    document: Any
    path: Path
    removed: bool
    value: Any = None


def _set(document: Any, path: Path, value: Any, *, remove: bool) -> None:
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    if remove:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value


def damaged(document: Any, values: st.SearchStrategy[Any] = bad_values) -> st.SearchStrategy[Damage]:
    """``document`` with one field, anywhere in it, set to one of ``values`` or removed."""
    paths = paths_of(document)

    @st.composite
    def draw(data: st.DrawFn) -> Damage:
        path = data(st.sampled_from(paths))
        remove = data(st.booleans())
        value = None if remove else data(values)
        copied = copy.deepcopy(document)
        _set(copied, path, value, remove=remove)
        return Damage(copied, path, remove, value)

    return draw()


def cut_short(text: bytes) -> st.SearchStrategy[bytes]:
    """``text`` truncated anywhere (the empty prefix included)."""
    return st.integers(min_value=0, max_value=max(0, len(text) - 1)).map(lambda end: text[:end])


def corrupted(text: bytes) -> st.SearchStrategy[bytes]:
    """``text`` with a few bytes overwritten, inserted or deleted at random places."""

    @st.composite
    def draw(data: st.DrawFn) -> bytes:
        buffer = bytearray(text)
        for _ in range(data(st.integers(min_value=1, max_value=4))):
            at = data(st.integers(min_value=0, max_value=len(buffer)))
            edit = data(st.sampled_from(["overwrite", "insert", "delete"]))
            chunk = data(st.binary(min_size=1, max_size=4))
            if edit == "insert" or at == len(buffer):
                buffer[at:at] = chunk
            elif edit == "overwrite":
                buffer[at : at + len(chunk)] = chunk
            else:
                del buffer[at : at + len(chunk)]
        return bytes(buffer)

    return draw()


def broken_bytes(valid: bytes) -> st.SearchStrategy[bytes]:
    """Byte-level damage of ``valid``: cut short, corrupted, or arbitrary bytes."""
    return st.one_of(cut_short(valid), corrupted(valid), st.binary(max_size=300))


_PLACEHOLDER = "NEST-PLACEHOLDER-{}"
_PLACEHOLDER_PATTERN = re.compile(r"'?\"?NEST-PLACEHOLDER-(\d+)\"?'?")


def _render(document: Any, dump: Callable[[Any], str]) -> str:
    """``dump(document)`` with every ``Nested`` value spliced in as text."""
    nested: list[Nested] = []

    def placeholders(value: Any) -> Any:
        if isinstance(value, Nested):
            nested.append(value)
            return _PLACEHOLDER.format(len(nested) - 1)
        if isinstance(value, dict):
            return {key: placeholders(item) for key, item in value.items()}
        if isinstance(value, list):
            return [placeholders(item) for item in value]
        return value

    text = dump(placeholders(document))
    return _PLACEHOLDER_PATTERN.sub(lambda match: nested[int(match.group(1))].text(), text)


def render_json(document: Any) -> str:
    """JSON text of a (possibly damaged) document; NaN, huge integers and lone surrogates stay in."""
    return _render(document, json.dumps)


def render_yaml(document: Any) -> str:
    """YAML text of a (possibly damaged) document."""
    return _render(document, lambda value: yaml.safe_dump(value, allow_unicode=True, sort_keys=False))


def to_bytes(text: str) -> bytes:
    """UTF-8, with lone surrogates kept as the (invalid) bytes a broken client would send."""
    return text.encode("utf-8", "surrogatepass")
