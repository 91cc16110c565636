"""The parallel run's order: longest expected test first, a stable order every worker collects alike."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from vnode_harness.plugin import ordering
from vnode_harness.plugin.ordering import durations_from_report, load_durations, longest_first


@dataclass(frozen=True)
class Item:
    nodeid: str


def test_longest_first_and_unlisted_tests_count_as_the_median() -> None:
    items = [Item("a"), Item("b"), Item("c"), Item("unlisted"), Item("d")]
    durations = {"a": 1.0, "b": 12.0, "c": 5.0, "d": 3.0}
    assert [i.nodeid for i in longest_first(items, durations)] == ["b", "c", "unlisted", "d", "a"]


def test_ties_keep_the_collection_order() -> None:
    items = [Item(name) for name in "zyx"]
    assert [i.nodeid for i in longest_first(items, {})] == ["z", "y", "x"]


def test_a_missing_or_broken_file_gives_no_durations(tmp_path: Path) -> None:
    assert load_durations(tmp_path / "absent.yaml") == {}
    broken = tmp_path / "broken.yaml"
    broken.write_text("[not: a mapping", encoding="utf-8")
    assert load_durations(broken) == {}


def test_the_checked_in_durations_name_tests_of_the_suite() -> None:
    durations = load_durations()
    assert durations, "conformance/durations.yaml is missing or empty"
    assert all(nodeid.startswith("conformance/test_") for nodeid in durations)


def test_the_file_is_rewritten_from_a_report_of_tests_that_ran(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = {
        "tests": [
            {"nodeid": "conformance/test_a.py::t1", "outcome": "passed", "durationSeconds": 1.24},
            {"nodeid": "conformance/test_a.py::t2", "outcome": "skipped", "durationSeconds": 0.0},
            {"nodeid": "conformance/test_a.py::t3", "outcome": "failed", "durationSeconds": 9.0},
        ]
    }
    expected = {"conformance/test_a.py::t3": 9.0, "conformance/test_a.py::t1": 1.2}
    assert durations_from_report(report) == expected
    source = tmp_path / "report.yaml"
    source.write_text(yaml.safe_dump(report), encoding="utf-8")
    target = tmp_path / "durations.yaml"
    monkeypatch.setattr(ordering, "DURATIONS_PATH", target)
    assert ordering.main([str(source)]) == 0
    assert load_durations(target) == expected
    assert ordering.main([]) == 2
