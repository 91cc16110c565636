"""Per-requirement, per-feature and overall verdicts (the rules in vnode_harness.report.rules)."""

from __future__ import annotations

import pytest

from tests.unit.harness.builders import catalogue_data, recorded
from vnode_harness.formats.catalogue import FEATURE_IDS, Catalogue
from vnode_harness.report.model import RecordedTest
from vnode_harness.report.rules import (
    in_catalogue_order,
    overall_result,
    summarize_features,
    summarize_requirements,
    worst_outcome,
)

ALL_BUT_EXTENDED = [feature for feature in FEATURE_IDS if feature != "extended"]


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue.model_validate(catalogue_data(requirements_per_feature=2))


def passing_run(catalogue: Catalogue, features=FEATURE_IDS) -> list[RecordedTest]:
    return [recorded(f"t::{r.id}", [r.id], "passed") for r in catalogue.requirements if r.feature in features]


def verdicts(catalogue, tests, declared=FEATURE_IDS, mode="full"):
    requirements = summarize_requirements(catalogue, tests)
    features = summarize_features(catalogue, declared, tests, requirements)
    by_feature = {summary.feature: summary for summary in features}
    return by_feature, overall_result(catalogue, features, tests, mode)


def replace(tests, nodeid, outcome, reason="why"):
    return [recorded(t.nodeid, t.requirements, outcome, reason) if t.nodeid == nodeid else t for t in tests]


class TestRequirement:
    def test_worst_outcome_order(self):
        assert worst_outcome(["passed", "skipped", "broken", "failed"]) == "failed"
        assert worst_outcome(["passed", "broken", "skipped"]) == "broken"
        assert worst_outcome(["passed", "skipped"]) == "skipped"
        assert worst_outcome([]) is None

    def test_skip_next_to_a_pass_is_still_skipped(self, catalogue):
        tests = [recorded("t::a", ["F0-R1"], "passed"), recorded("t::b", ["F0-R1"], "skipped")]
        summary = summarize_requirements(catalogue, tests)[0]
        assert (summary.id, summary.result, summary.tests) == ("F0-R1", "skipped", ["t::a", "t::b"])

    def test_untested_requirement(self, catalogue):
        assert summarize_requirements(catalogue, [])[0].result == "not-tested"

    def test_a_test_counts_for_each_requirement_it_names(self, catalogue):
        tests = [recorded("t::both", ["F0-R1", "F1-R1"], "failed")]
        results = {s.id: s.result for s in summarize_requirements(catalogue, tests)}
        assert results["F0-R1"] == results["F1-R1"] == "failed"


class TestFeature:
    def test_all_passed_and_declared_is_success(self, catalogue):
        features, overall = verdicts(catalogue, passing_run(catalogue))
        assert {summary.result for summary in features.values()} == {"success"}
        assert features["storage"].passed == 2
        assert overall == "success"

    def test_failed_test_is_failure(self, catalogue):
        tests = replace(passing_run(catalogue), "t::F3-R2", "failed")
        features, overall = verdicts(catalogue, tests)
        storage = features["storage"]
        assert (storage.result, storage.failed, storage.passed) == ("failure", 1, 1)
        assert storage.failed_requirements == ["F3-R2"]
        assert overall == "failure"

    def test_broken_test_is_failure(self, catalogue):
        tests = replace(passing_run(catalogue), "t::F1-R1", "broken")
        features, overall = verdicts(catalogue, tests)
        assert (features["selectors-effects"].result, features["selectors-effects"].broken) == ("failure", 1)
        assert features["selectors-effects"].failed_requirements == ["F1-R1"]
        assert overall == "failure"

    def test_skipped_requirement_is_partial_never_success(self, catalogue):
        tests = replace(passing_run(catalogue), "t::F4-R1", "skipped")
        features, overall = verdicts(catalogue, tests)
        assert features["mesh"].result == "partial"
        assert features["mesh"].skipped_requirements == ["F4-R1"]
        assert overall == "partial"

    def test_untested_requirement_is_partial(self, catalogue):
        tests = [t for t in passing_run(catalogue) if t.nodeid != "t::F2-R2"]
        features, overall = verdicts(catalogue, tests)
        assert features["hot-updates"].result == "partial"
        assert features["hot-updates"].not_tested_requirements == ["F2-R2"]
        assert overall == "partial"

    def test_feature_with_no_test_run_is_not_tested(self, catalogue):
        tests = passing_run(catalogue, features=["core-scheduling"])
        features, _ = verdicts(catalogue, tests)
        assert features["storage"].result == "not-tested"
        assert features["storage"].not_tested_requirements == ["F3-R1", "F3-R2"]

    def test_undeclared_feature_is_not_claimed_even_when_it_passes(self, catalogue):
        features, overall = verdicts(catalogue, passing_run(catalogue), declared=ALL_BUT_EXTENDED)
        assert (features["extended"].supported, features["extended"].result) == (False, "not-claimed")
        assert overall == "success"

    def test_undeclared_feature_with_no_test_run_is_not_claimed(self, catalogue):
        tests = passing_run(catalogue, features=ALL_BUT_EXTENDED)
        features, _ = verdicts(catalogue, tests, declared=ALL_BUT_EXTENDED)
        assert features["extended"].result == "not-claimed"

    def test_partial_is_kept_for_a_claimed_feature_not_fully_certified(self, catalogue):
        tests = replace(passing_run(catalogue), "t::F5-R1", "skipped")
        features, _ = verdicts(catalogue, tests)
        assert features["extended"].result == "partial"

    def test_undeclared_feature_skipped_does_not_lower_overall(self, catalogue):
        tests = [
            recorded(t.nodeid, t.requirements, "skipped", "not supported")
            if t.nodeid.startswith("t::F5")
            else t
            for t in passing_run(catalogue)
        ]
        features, overall = verdicts(catalogue, tests, declared=ALL_BUT_EXTENDED)
        assert features["extended"].result == "not-claimed"
        assert features["extended"].skipped_requirements == ["F5-R1", "F5-R2"]
        assert overall == "success"

    def test_undeclared_feature_failure_is_shown_but_not_counted(self, catalogue):
        tests = replace(passing_run(catalogue), "t::F5-R1", "failed")
        features, overall = verdicts(catalogue, tests, declared=ALL_BUT_EXTENDED)
        assert features["extended"].result == "failure"
        assert overall == "success"


class TestOverall:
    def test_focused_run_is_never_success(self, catalogue):
        _, overall = verdicts(catalogue, passing_run(catalogue), mode="focused")
        assert overall == "partial"

    def test_focused_run_can_fail(self, catalogue):
        tests = [recorded("t::x", ["F0-R1"], "failed")]
        _, overall = verdicts(catalogue, tests, mode="focused")
        assert overall == "failure"

    def test_nothing_ran(self, catalogue):
        _, overall = verdicts(catalogue, [])
        assert overall == "not-tested"

    def test_unattributed_broken_test_fails_the_run(self, catalogue):
        tests = [*passing_run(catalogue), recorded("t::orphan", ["NOT-IN-CATALOGUE"], "broken")]
        _, overall = verdicts(catalogue, tests)
        assert overall == "failure"

    def test_unattributed_passing_test_is_harmless(self, catalogue):
        tests = [*passing_run(catalogue), recorded("t::orphan", [], "passed")]
        _, overall = verdicts(catalogue, tests)
        assert overall == "success"


class TestOrder:
    def test_tests_follow_the_catalogue_then_their_node_ids_not_completion(self, catalogue):
        completed = [
            recorded("t::z-orphan", [], "passed"),
            recorded("t::b", ["F3-R1"], "passed"),
            recorded("t::a", ["F3-R1"], "passed"),
            recorded("t::late", ["F5-R1", "F0-R2"], "passed"),
            recorded("t::first", ["F0-R1"], "failed"),
        ]
        ordered = [test.nodeid for test in in_catalogue_order(catalogue, completed)]
        assert ordered == ["t::first", "t::late", "t::a", "t::b", "t::z-orphan"]
        assert in_catalogue_order(catalogue, reversed(completed)) == in_catalogue_order(catalogue, completed)
