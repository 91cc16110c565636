"""Allure labels of the conformance tests, taken from the catalogue, so the HTML report reads like it.

A vendor browsing the report should see what was certified, not the suite's code: results are grouped
feature → requirement (the `epic` label is the catalogue feature, the `feature` label the requirement
with its MUST statement; `ALLURE_TREE` is the grouping the HTML generator is told to use), ranked by the
requirement's severity, titled with a readable test title, and described with the statement, the
document's quote and its source section.

They are markers added at collection, the way `@allure.epic(...)` and `@allure.title(...)` work: allure-
pytest reads them after setup, so they reach skipped tests too, and nothing set during setup overwrites
them (it would: allure-pytest renames and re-describes each result once setup is done).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence

import pytest

from vnode_harness.formats.catalogue import DOCUMENT_TITLES, Catalogue, Requirement

ALLURE_TREE = ("epic", "feature")
"""The labels the Allure HTML tree groups by: catalogue feature, then requirement."""
_SEVERITY_ORDER = ["blocker", "critical", "normal", "minor"]
_TITLE_ATTRIBUTE = "__allure_display_name__"
"""Where `@allure.title` keeps a test's title (allure-pytest formats `{param_id}` in it)."""


def label_item(catalogue: Catalogue, item: pytest.Item, requirement_ids: Sequence[str]) -> None:
    """Title, feature → requirement labels, severity and description of one test, as allure markers."""
    function = getattr(item, "obj", None)
    if callable(function) and not hasattr(function, _TITLE_ATTRIBUTE):
        parametrized = getattr(item, "callspec", None) is not None
        title = _sentence(getattr(item, "originalname", None) or item.name.split("[", 1)[0])
        setattr(function, _TITLE_ATTRIBUTE, f"{title} [{{param_id}}]" if parametrized else title)
    requirements = [catalogue.requirement(rid) for rid in requirement_ids if catalogue.has_requirement(rid)]
    if not requirements:
        return
    for requirement in requirements:
        feature = catalogue.feature(requirement.feature)
        _label(item, "epic", f"{feature.title} ({feature.id})")
        _label(item, "feature", requirement_label(requirement))
        _label(item, "tag", requirement.id)
        _label(item, "requirement", requirement.id)
    _label(item, "severity", min((r.severity for r in requirements), key=_SEVERITY_ORDER.index))
    docstring = inspect.getdoc(function) if callable(function) else None
    item.add_marker(pytest.mark.allure_description(describe(requirements, docstring)))


def _label(item: pytest.Item, label_type: str, value: str) -> None:
    item.add_marker(pytest.mark.allure_label(value, label_type=label_type))


def requirement_label(requirement: Requirement) -> str:
    return f"{requirement.id}: {requirement.statement}"


def _sentence(function_name: str) -> str:
    words = re.sub(r"^test_?", "", function_name).replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else function_name


def describe(requirements: Sequence[Requirement], test_description: str | None = None) -> str:
    """Markdown: each requirement's statement, the document's own words and where they are."""
    parts = []
    for requirement in requirements:
        source = requirement.source
        document = DOCUMENT_TITLES.get(source.document, source.document)
        quote = " ".join(source.quote.split())
        parts.append(
            f"**{requirement.id}** — {requirement.statement}\n\n"
            f"> {quote}\n\n"
            f"Source: *{document}*, section “{source.section}” (`{source.document}`)"
        )
    if test_description:
        parts.append(f"**How the test checks it:** {test_description}")
    return "\n\n".join(parts)
