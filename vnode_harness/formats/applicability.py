"""Which requirements a test certifies (its `requirement` markers: the only link between a test and the
catalogue), and whether it can certify anything for a given implementation file.

Shared by the pytest plugin (it skips such tests with the reason) and `vnode catalogue` (it previews
the same decision without a cluster), so the two can never disagree.
"""

from __future__ import annotations

import pytest

from vnode_harness.formats.catalogue import Catalogue
from vnode_harness.formats.implementation import Implementation


def requirement_ids(item: pytest.Item) -> list[str]:
    ids: list[str] = []
    for marker in item.iter_markers("requirement"):
        ids.extend(str(arg) for arg in marker.args)
    return ids


def not_testable_reason(catalogue: Catalogue, implementation: Implementation, ids: list[str]) -> str | None:
    """Why a test of these requirements cannot certify anything for this implementation, or None."""
    project = implementation.metadata.project
    for requirement in ids:
        feature = catalogue.feature(catalogue.requirement(requirement).feature)
        if not implementation.supports(feature.id):
            return (
                f"{project} does not declare feature '{feature.id}' ({requirement}): not claimed, not tested"
            )
        missing = [needed for needed in feature.requires if not implementation.supports(needed)]
        if missing:
            return (
                f"feature '{feature.id}' ({requirement}) requires {', '.join(missing)} (the suite sees a "
                f"profile change in force through a selector's effect), which {project} does not declare: "
                f"not tested, so '{feature.id}' is claimed but only partial"
            )
    return None
