"""The catalogue and the conformance tests cover each other: every requirement has a test, every test
names only known requirements."""

from __future__ import annotations

from vnode_harness.cli.catalogue import collect_tests
from vnode_harness.formats.catalogue import check_coverage, load_catalogue


def test_every_requirement_has_a_test_and_every_test_a_requirement():
    mapping = {test.nodeid: test.requirements for test in collect_tests()}
    assert mapping, "no conformance test was collected"
    problems = check_coverage(load_catalogue(), mapping)
    assert problems == []
