"""Which conformance tests check which requirement, derived from their markers (never hand-listed).

The suite is collected once (in this process, quietly) and each test function is mapped to the
requirement ids of its ``@pytest.mark.requirement``; a run selects tests by those ids.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from vnode_harness.catalogue import Catalogue

REPO = Path(__file__).resolve().parents[2]


class _Recorder:
    def __init__(self) -> None:
        self.tests: dict[str, set[str]] = {}

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            function = item.nodeid.split("[", 1)[0]  # every parametrization of a test function
            ids = {str(arg) for marker in item.iter_markers("requirement") for arg in marker.args}
            self.tests.setdefault(function, set()).update(ids)


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
    """Collect conformance/ (no cluster: collection only) and index its test functions."""
    recorder = _Recorder()
    args = ["--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", str(REPO / "conformance")]
    with contextlib.redirect_stdout(io.StringIO()) as output:
        code = pytest.main(args, plugins=[recorder])
    if code != 0 or not recorder.tests:
        raise RuntimeError(f"collecting conformance/ failed (exit code {code}):\n{output.getvalue()[-2000:]}")
    return TestIndex({test: frozenset(ids) for test, ids in recorder.tests.items()})


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
