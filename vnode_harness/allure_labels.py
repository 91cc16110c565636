# mypy: disable-error-code="no-untyped-call"
"""Allure labels of a conformance test, taken from the catalogue: the report groups results by feature
and requirement, ranks them by the requirement's severity, and shows the MUST statement and its source."""

from __future__ import annotations

from collections.abc import Sequence

import allure

# allure-python-commons has no type hints for `allure.dynamic` (hence the mypy comment at the top).
from vnode_harness.catalogue import Catalogue


def label_test(catalogue: Catalogue, requirement_ids: Sequence[str]) -> None:
    if not requirement_ids:
        return
    requirements = [catalogue.requirement(rid) for rid in requirement_ids]
    allure.dynamic.epic("virtual-node conformance")
    for requirement in requirements:
        allure.dynamic.feature(requirement.feature)
        allure.dynamic.story(requirement.id)
        allure.dynamic.tag(requirement.id)
    order = ["blocker", "critical", "normal", "minor"]
    most_severe = min((r.severity for r in requirements), key=order.index)
    allure.dynamic.severity(allure.severity_level(most_severe))
    allure.dynamic.description(
        "\n\n".join(
            f"**{r.id}** — {r.statement}\n\n"
            f"Source: {r.source.document}, {r.source.section}: “{r.source.quote}”"
            for r in requirements
        )
    )
