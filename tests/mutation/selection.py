"""Which conformance tests check which requirement, derived from their markers (never hand-listed).

The suite is collected once (in this process, quietly, by the catalogue browser's own collection) and
each test function is mapped to the requirement ids of its ``@pytest.mark.requirement``; a run selects
tests by those ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vnode_harness.cli import catalogue as catalogue_cli
from vnode_harness.formats.catalogue import Catalogue


@dataclass(frozen=True)
class TestIndex:
    """Test function node id (relative to the repository) -> the requirement ids it checks."""

    tests: dict[str, frozenset[str]]

    def tests_of(self, requirements: Iterable[str]) -> list[str]:
        wanted = set(requirements)
        return sorted(test for test, ids in self.tests.items() if ids & wanted)

    def checked(self) -> set[str]:
        return {requirement for ids in self.tests.values() for requirement in ids}


def collect_tests() -> TestIndex:
    """Collect conformance/ (no cluster: collection only) as the catalogue browser does, and index its
    test functions (every parametrization of a function under the function's node id)."""
    tests: dict[str, set[str]] = {}
    for test in catalogue_cli.collect_tests():
        tests.setdefault(test.nodeid.split("[", 1)[0], set()).update(test.requirements)
    if not tests:
        raise RuntimeError("collecting conformance/ found no tests")
    return TestIndex({test: frozenset(ids) for test, ids in tests.items()})


def default_controls(
    catalogue: Catalogue, requirement: str, index: TestIndex, count: int = 2
) -> tuple[str, ...]:
    """Two other requirements of the same feature that have tests: what a defect must leave intact."""
    feature = catalogue.requirement(requirement).feature
    others = [r.id for r in catalogue.requirements_for_feature(feature) if r.id != requirement]
    return tuple([r for r in others if r in index.checked()][:count])


def pytest_selection(index: TestIndex, requirements: Sequence[str]) -> list[str]:
    """The node ids to pass to pytest for these requirements (at least one test each, else ValueError)."""
    missing = [r for r in requirements if not index.tests_of([r])]
    if missing:
        raise ValueError(f"no conformance test checks {', '.join(missing)}")
    return index.tests_of(requirements)
