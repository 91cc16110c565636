"""The catalogue and the conformance tests cover each other: every requirement has a test, every test
names only known requirements."""

from __future__ import annotations

from pathlib import Path

import pytest

from vnode_harness.catalogue import check_coverage, load_catalogue

REPO = Path(__file__).resolve().parents[3]


class _RequirementRecorder:
    def __init__(self) -> None:
        self.mapping: dict[str, list[str]] = {}

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            ids = [str(arg) for marker in item.iter_markers("requirement") for arg in marker.args]
            self.mapping[item.nodeid] = ids


def test_every_requirement_has_a_test_and_every_test_a_requirement():
    recorder = _RequirementRecorder()
    code = pytest.main(
        ["--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", str(REPO / "conformance")],
        plugins=[recorder],
    )
    assert code == 0
    assert recorder.mapping, "no conformance test was collected"
    problems = check_coverage(load_catalogue(), recorder.mapping)
    assert problems == []
