"""What a clear profile rejection is: every problem is text that names the field it is about.

Shared by the parser's fuzz test and the controller's, which sees the same problems in its Event.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tests.seed_data import SEED_KUBECTL_DATA

#: Data keys the documents define (the seed's eci-profile); a problem about one of them names it verbatim.
KNOWN_KEYS = tuple(SEED_KUBECTL_DATA)
_SHOWN = 40
#: The last line of a rejection with more problems than an Event can carry.
_SUMMARY = re.compile(r"\.\.\. and \d+ more problems")


def _names(problem: str, key: object) -> bool:
    if isinstance(key, str) and key in KNOWN_KEYS:
        return re.search(rf"(?<![A-Za-z]){re.escape(key)}(?![A-Za-z])", problem) is not None
    # An unknown or non-string key is quoted; a long one may be shown cut short.
    return repr(key)[:_SHOWN] in problem or (
        isinstance(key, str) and len(key) >= 4 and key[:_SHOWN] in problem
    )


def names_a_field(problem: str, data: Any) -> bool:
    """Whether ``problem`` names a key of ``data`` (or ``data`` itself, when it is not a map)."""
    if not isinstance(data, Mapping):
        return "data" in problem
    return any(_names(problem, key) for key in data)


def assert_clear_problems(problems: object, data: Any) -> None:
    """At least one problem; each one non-empty text naming the field it is about."""
    assert isinstance(problems, list | tuple), problems
    assert problems, "a rejection without a problem"
    *listed, last = problems
    if isinstance(last, str) and _SUMMARY.fullmatch(last) and listed:
        problems = listed
    for problem in problems:
        assert isinstance(problem, str), problem
        assert problem.strip(), problems
        assert names_a_field(problem, data), f"names no field of the data: {problem!r}"
