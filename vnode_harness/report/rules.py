"""How test outcomes become verdicts on requirements, features, and the whole run.

What a vendor certifying gets: a run certifies an implementation only for the features it declares,
and only when every requirement of each of them was checked and held, in a run of the whole suite.
Anything less is reported as what it is, never rounded up:

Requirement (the tests that name it; a test naming several requirements counts for each):
    failed / broken  when any of its tests failed / broke (failed wins: it is a finding about the
                     implementation, broken only says the suite or the cluster erred);
    skipped          when none failed or broke but one was skipped: a skip is never conformance,
                     even next to a passing test of the same requirement;
    passed           when all of its tests passed;
    not-tested       when no test of it ran (deselected in a focused run, or missing).

Feature:
    failure      a test of the feature failed or broke (shown even for an undeclared feature);
    not-claimed  the implementation does not declare the feature: never certified, even if its tests
                 all passed, because a vendor cannot be certified for what it did not claim (Gateway
                 API's "unsupported features"; reports of older suites said `partial`);
    not-tested   a declared feature of which no test ran at all;
    success      a declared feature every one of whose requirements passed;
    partial      a declared feature not fully certified: a requirement skipped or not tested.

Overall:
    not-tested  no test ran;
    failure     a declared feature is `failure`, or a test that certifies no catalogue requirement
                failed or broke (it cannot be attributed, so it cannot be ruled harmless);
    success     a full run in which every declared feature is `success`;
    partial     everything else; in particular a focused run is never `success`. Undeclared features
                do not lower the overall result: their tests are skipped as not claimed.

Tests are listed in catalogue order (by the first requirement each names), then by node id, so that two
runs' reports differ only where their outcomes do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from vnode_harness.formats.catalogue import Catalogue, FeatureId
from vnode_harness.report.model import (
    FeatureResult,
    FeatureSummary,
    OutcomeCounts,
    OverallResult,
    RecordedTest,
    RequirementResult,
    RequirementSummary,
    RunMode,
    TestOutcome,
)

OUTCOMES_WORST_FIRST: tuple[TestOutcome, ...] = ("failed", "broken", "skipped", "passed")
"""Merge order: one outcome per test or requirement, the worst one seen."""


def worst_outcome(outcomes: Iterable[TestOutcome]) -> TestOutcome | None:
    """The worst of `outcomes` in `OUTCOMES_WORST_FIRST` order; None when there are none."""
    present = set(outcomes)
    return next((outcome for outcome in OUTCOMES_WORST_FIRST if outcome in present), None)


def count_outcomes(tests: Iterable[RecordedTest]) -> OutcomeCounts:
    counts = dict.fromkeys(OUTCOMES_WORST_FIRST, 0)
    for test in tests:
        counts[test.outcome] += 1
    return OutcomeCounts(**counts)


def in_catalogue_order(catalogue: Catalogue, tests: Iterable[RecordedTest]) -> list[RecordedTest]:
    """Tests by the catalogue position of the first requirement they name, then node id; tests naming
    no catalogue requirement last. Completion order would make every run's report a different list."""
    position = {requirement_id: index for index, requirement_id in enumerate(catalogue.requirement_ids)}

    def key(test: RecordedTest) -> tuple[int, str]:
        known = [position[requirement] for requirement in test.requirements if requirement in position]
        return (min(known, default=len(position)), test.nodeid)

    return sorted(tests, key=key)


def summarize_requirements(catalogue: Catalogue, tests: Sequence[RecordedTest]) -> list[RequirementSummary]:
    """One verdict per catalogue requirement, in catalogue order."""
    summaries = []
    for requirement in catalogue.requirements:
        own_tests = [test for test in tests if requirement.id in test.requirements]
        result: RequirementResult = worst_outcome(test.outcome for test in own_tests) or "not-tested"
        summaries.append(
            RequirementSummary(
                id=requirement.id,
                feature=requirement.feature,
                severity=requirement.severity,
                result=result,
                tests=[test.nodeid for test in own_tests],
            )
        )
    return summaries


def summarize_features(
    catalogue: Catalogue,
    declared_features: Iterable[str],
    tests: Sequence[RecordedTest],
    requirements: Sequence[RequirementSummary],
) -> list[FeatureSummary]:
    """One verdict per catalogue feature, in catalogue order (see the module docstring)."""
    declared = set(declared_features)
    return [
        _summarize_feature(
            feature.id,
            supported=feature.id in declared,
            requires=feature.requires,
            tests=tests,
            requirements=[summary for summary in requirements if summary.feature == feature.id],
        )
        for feature in catalogue.features
    ]


def _summarize_feature(
    feature: FeatureId,
    *,
    supported: bool,
    requires: Sequence[FeatureId] = (),
    tests: Sequence[RecordedTest],
    requirements: Sequence[RequirementSummary],
) -> FeatureSummary:
    requirement_ids = {summary.id for summary in requirements}
    feature_tests = [test for test in tests if requirement_ids.intersection(test.requirements)]
    counts = count_outcomes(feature_tests)
    failed = [summary.id for summary in requirements if summary.result in ("failed", "broken")]
    skipped = [summary.id for summary in requirements if summary.result == "skipped"]
    not_tested = [summary.id for summary in requirements if summary.result == "not-tested"]
    result: FeatureResult
    if failed:
        result = "failure"
    elif not supported:
        result = "not-claimed"
    elif not feature_tests:
        result = "not-tested"
    elif not skipped and not not_tested:
        result = "success"
    else:
        result = "partial"
    return FeatureSummary(
        feature=feature,
        supported=supported,
        requires=list(requires),
        result=result,
        passed=counts.passed,
        skipped=counts.skipped,
        failed=counts.failed,
        broken=counts.broken,
        skipped_requirements=skipped,
        failed_requirements=failed,
        not_tested_requirements=not_tested,
    )


def overall_result(
    catalogue: Catalogue,
    features: Sequence[FeatureSummary],
    tests: Sequence[RecordedTest],
    mode: RunMode,
    *,
    weakened: Sequence[str] = (),
) -> OverallResult:
    """The run's verdict (see the module docstring); `weakened`: declared limits below the catalogue's
    certification minimums, which keep a run from `success`."""
    if not tests:
        return "not-tested"
    declared = [summary for summary in features if summary.supported]
    unattributed_failure = any(
        test.outcome in ("failed", "broken")
        and not any(catalogue.has_requirement(requirement_id) for requirement_id in test.requirements)
        for test in tests
    )
    if unattributed_failure or any(summary.result == "failure" for summary in declared):
        return "failure"
    if (
        mode == "full"
        and not weakened
        and declared
        and all(summary.result == "success" for summary in declared)
    ):
        return "success"
    return "partial"
