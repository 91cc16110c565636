"""Collect test outcomes during a run and turn them into the conformance report.

The pytest plugin (in the xdist controller, or the single process) feeds every phase report of every
test to `ResultCollector.record`, usually through `classify_phase`. Outcomes follow allure's split on
purpose, so the report and the allure results never disagree about a test:

    failed   the call phase raised AssertionError (or called pytest.fail): the implementation did not
             do what a requirement says;
    broken   anything else that went wrong, in setup, call or teardown: the suite, the cluster or the
             test itself erred, and nothing is known about the implementation;
    skipped  the test was skipped (typically: a feature the implementation does not declare).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any, cast, get_args

import pytest

from vnode_harness.formats.catalogue import Catalogue
from vnode_harness.formats.certification import weakened_limits
from vnode_harness.formats.implementation import Implementation
from vnode_harness.plumbing.waits import WaitTimeout
from vnode_harness.report.model import (
    ConformanceReport,
    DeclaredLimits,
    LockTakeover,
    OutcomeCounts,
    ProfileLockMode,
    RecordedTest,
    ReportedImplementation,
    RunInfo,
    TestOutcome,
)
from vnode_harness.report.rules import (
    count_outcomes,
    in_catalogue_order,
    overall_result,
    summarize_features,
    summarize_requirements,
    worst_outcome,
)

FAILURE_KIND_PROPERTY = "vnode.failure-kind"
"""A user property the plugin may attach in pytest_runtest_makereport, where the exception object is
still at hand: ("vnode.failure-kind", "assertion" | "error"). It travels with the report through xdist
and settles the failed/broken question exactly, also for AssertionError subclasses, which the text of
a report cannot reveal."""

LOCK_TAKEOVER_PROPERTY = "vnode.lock-taken-over"
SHARD_PROPERTY = "vnode.shard"
"""A test report's user property: the shard whose cluster the test ran on (sharded runs only)."""
"""A user property the plugin attaches when a test's eci-profile lock took over the expired lease of a
holder that died: ("vnode.lock-taken-over", detail). The report lists it (`lockTakenOver`)."""

PROFILE_LOCK_PROPERTY = "vnode.profile-lock"
"""A user property the plugin attaches to a test's setup report: ("vnode.profile-lock", "exclusive" |
"shared"), how the test held the eci-profile lock. The report shows it per test (`profileLock`)."""

_ASSERTION_MESSAGE_PREFIXES = ("AssertionError", "assert ", "Failed: ")
"""How a report's crash message starts when the test failed an assertion: `AssertionError: ...` for an
assert with a message, `assert ...` for a bare rewritten assert, `Failed: ...` for pytest.fail."""

_TEST_OUTCOMES: tuple[str, ...] = get_args(TestOutcome)


@dataclass(frozen=True)
class PhaseOutcome:
    """One phase report (setup, call or teardown) reduced to what the report keeps."""

    outcome: TestOutcome
    duration: float
    reason: str | None


def failure_kind_property(
    call: pytest.CallInfo[Any], *, environment_broken: bool = False
) -> tuple[str, str] | None:
    """The `FAILURE_KIND_PROPERTY` user property for a phase that raised; None when it did not.

    An assertion, and a wait that ran past its published maximum time (`WaitTimeout`: the
    implementation did not reach the documented state in time), are the implementation's failures —
    unless a component of the test environment itself had died, which makes any outcome "broken"."""
    if call.excinfo is None or call.excinfo.errisinstance(pytest.skip.Exception):
        return None
    if environment_broken:
        return (FAILURE_KIND_PROPERTY, "error")
    assertion = call.excinfo.errisinstance((AssertionError, pytest.fail.Exception, WaitTimeout))
    return (FAILURE_KIND_PROPERTY, "assertion" if assertion else "error")


def classify_phase(report: pytest.TestReport) -> PhaseOutcome:
    """Map one pytest phase report to passed / failed / broken / skipped, with a one-line reason."""
    if report.passed:
        return PhaseOutcome("passed", report.duration, None)
    if report.skipped:
        return PhaseOutcome("skipped", report.duration, _skip_reason(report))
    message = _crash_message(report)
    if report.when == "call" and _is_assertion_failure(report, message):
        return PhaseOutcome("failed", report.duration, message)
    if report.when != "call":
        message = f"error in {report.when}: {message or 'no details'}"
    return PhaseOutcome("broken", report.duration, message)


def _skip_reason(report: pytest.TestReport) -> str | None:
    expected_failure = getattr(report, "wasxfail", None)
    if expected_failure is not None:
        return _first_line(
            f"expected failure: {expected_failure}" if expected_failure else "expected failure"
        )
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # (path, lineno, "Skipped: <reason>")
        return _first_line(str(longrepr[2]).removeprefix("Skipped: "))
    return _first_line(str(longrepr)) if longrepr else None


def _crash_message(report: pytest.TestReport) -> str | None:
    crash = getattr(report.longrepr, "reprcrash", None)
    message = getattr(crash, "message", None)
    if isinstance(message, str):
        return _first_line(message)
    return _first_line(str(report.longrepr)) if report.longrepr else None


def _is_assertion_failure(report: pytest.TestReport, message: str | None) -> bool:
    for user_property in report.user_properties:
        name, value = tuple(user_property)  # a tuple in-process, a list after xdist serialization
        if name == FAILURE_KIND_PROPERTY:
            return bool(value == "assertion")
    return message is not None and (message == "assert" or message.startswith(_ASSERTION_MESSAGE_PREFIXES))


def _first_line(text: str) -> str | None:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return None


@dataclass
class _TestRecord:
    requirements: list[str] = field(default_factory=list)
    outcomes: list[TestOutcome] = field(default_factory=list)
    reasons: dict[TestOutcome, str] = field(default_factory=dict)
    duration: float = 0.0
    shard: str | None = None
    profile_lock: ProfileLockMode | None = None


class ResultCollector:
    """Accumulates per-test outcomes and builds the `ConformanceReport` at the end of the run."""

    def __init__(self, catalogue: Catalogue) -> None:
        self._catalogue = catalogue
        self._records: dict[str, _TestRecord] = {}
        self._takeovers: list[LockTakeover] = []

    def record(
        self,
        nodeid: str,
        requirement_ids: Sequence[str],
        outcome: str,
        duration: float,
        reason: str | None = None,
        *,
        shard: str | None = None,
    ) -> None:
        """Record one outcome of a test; call it once per test or once per phase.

        Several calls for one node id merge: the worst outcome wins (failed, broken, skipped, passed),
        durations add up, requirement ids are united, and the reason kept is the first one given for
        the winning outcome. That lets the plugin record setup, call and teardown as they come.
        """
        if outcome not in _TEST_OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}; expected one of {', '.join(_TEST_OUTCOMES)}")
        test_outcome: TestOutcome = outcome  # type: ignore[assignment]  # checked just above
        entry = self._records.setdefault(nodeid, _TestRecord())
        entry.requirements.extend(r for r in requirement_ids if r not in entry.requirements)
        entry.outcomes.append(test_outcome)
        entry.duration += max(duration, 0.0)
        entry.shard = shard or entry.shard
        if reason and test_outcome not in entry.reasons:
            entry.reasons[test_outcome] = _first_line(reason) or reason

    def record_phase(self, report: pytest.TestReport, requirement_ids: Sequence[str]) -> None:
        """Shortcut for the plugin: classify a phase report and record it."""
        phase = classify_phase(report)
        shards = [str(value) for name, value in report.user_properties if name == SHARD_PROPERTY]
        shard = shards[0] if shards else None
        self.record(report.nodeid, requirement_ids, phase.outcome, phase.duration, phase.reason, shard=shard)
        for user_property in report.user_properties:
            name, value = tuple(user_property)
            takeover = LockTakeover(by=report.nodeid, detail=str(value))
            if name == LOCK_TAKEOVER_PROPERTY and takeover not in self._takeovers:  # one per test, not phase
                self._takeovers.append(takeover)
            if name == PROFILE_LOCK_PROPERTY and value in get_args(ProfileLockMode):
                self._records[report.nodeid].profile_lock = cast(ProfileLockMode, value)

    def results(self) -> list[RecordedTest]:
        """One entry per test, in catalogue order (`rules.in_catalogue_order`), not completion order."""
        results = []
        for nodeid, entry in self._records.items():
            outcome = worst_outcome(entry.outcomes) or "passed"
            results.append(
                RecordedTest(
                    nodeid=nodeid,
                    requirements=list(entry.requirements),
                    outcome=outcome,
                    duration_seconds=round(entry.duration, 3),
                    reason=None if outcome == "passed" else entry.reasons.get(outcome),
                    shard=entry.shard,
                    profile_lock=entry.profile_lock,
                )
            )
        return in_catalogue_order(self._catalogue, results)

    def counts(self) -> OutcomeCounts:
        return count_outcomes(self.results())

    def summary_line(self) -> str:
        """`N passed, N failed` plus `, N skipped` when any: printed at the end of a run, before its verdict.

        Broken tests count as failed here: for "did it pass?" they are failures; the report tells the
        two apart.
        """
        counts = self.counts()
        line = f"{counts.passed} passed, {counts.failed + counts.broken} failed"
        return f"{line}, {counts.skipped} skipped" if counts.skipped else line

    def build_report(self, implementation: Implementation, run: RunInfo) -> ConformanceReport:
        tests = self.results()
        requirements = summarize_requirements(self._catalogue, tests)
        features = summarize_features(self._catalogue, implementation.features, tests, requirements)
        metadata = implementation.metadata
        weakened = weakened_limits(self._catalogue, hold_seconds=implementation.limits.hold_seconds)
        return ConformanceReport(
            suite_version=run.suite_version,
            catalogue_digest=run.catalogue_digest,
            date=run.date.astimezone(UTC),
            mode=run.mode,
            cluster_provider=run.cluster_provider,
            kubernetes_version=run.kubernetes_version,
            implementation=ReportedImplementation(
                organization=metadata.organization,
                project=metadata.project,
                version=metadata.version,
                url=metadata.url,
                contact=metadata.contact,
                declared_features=implementation.declared_features,
                limits=DeclaredLimits.model_validate(implementation.limits.model_dump()),
                file_sha256=run.implementation_sha256,
            ),
            result=overall_result(self._catalogue, features, tests, run.mode, weakened=weakened),
            weakened_limits=weakened,
            aborted=run.aborted,
            totals=count_outcomes(tests),
            features=features,
            requirements=requirements,
            tests=tests,
            command=run.command,
            environment=run.environment,
            images=run.images,
            generated_cases=run.generated_cases,
            cleanup=run.cleanup,
            interrupted=run.interrupted,
            lock_taken_over=[*run.lock_taken_over, *self._takeovers],
            observations=run.observations,
            shards=run.shards,
            fingerprint=run.fingerprint,
        )
