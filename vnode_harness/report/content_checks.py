"""The checks of a report's own content, re-derived from this suite's catalogue and rules.

`check_report` is what `vnode report verify` (vnode_harness.report.verify) asks of the report itself —
suite version and catalogue digest, ids and counts, every verdict against the rules, the implementation
metadata; the JUnit file and the bundle are compared there.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from urllib.parse import urlsplit

from vnode_harness import __version__
from vnode_harness.formats.catalogue import MANDATORY_FEATURES, Catalogue, catalogue_digest, load_catalogue
from vnode_harness.formats.certification import weakened_limits
from vnode_harness.report.model import (
    ConformanceReport,
    FeatureSummary,
    RequirementSummary,
)
from vnode_harness.report.rules import (
    count_outcomes,
    overall_result,
    summarize_features,
    summarize_requirements,
)

_HOST = r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+"
_EMAIL = re.compile(rf"^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_HOST}$", re.IGNORECASE)
_HOSTNAME = re.compile(rf"^{_HOST}$", re.IGNORECASE)


@dataclass(frozen=True)
class Suite:
    """What a report is verified against: this suite's version and catalogue."""

    version: str
    catalogue: Catalogue
    catalogue_digest: str

    @classmethod
    def current(cls) -> Suite:
        return cls(__version__, load_catalogue(), catalogue_digest())


def check_report(report: ConformanceReport, suite: Suite) -> list[str]:
    """Every problem of a schema-valid report against `suite`, one line each (without the file name)."""
    problems = _suite_problems(report, suite)
    problems += _count_problems(report)
    catalogue_problems = _catalogue_id_problems(report, suite.catalogue)
    problems += catalogue_problems
    if not catalogue_problems:
        problems += _rule_problems(report, suite.catalogue)
    problems += _implementation_problems(report)
    problems += _shard_problems(report)
    if report.aborted and report.tests:
        problems.append(f"aborted says no test ran, but the report lists {len(report.tests)} tests")
    return problems


def _suite_problems(report: ConformanceReport, suite: Suite) -> list[str]:
    problems = []
    if report.suite_version != suite.version:
        problems.append(
            f"suiteVersion {report.suite_version} is not this suite's version ({suite.version}): verify it "
            "with the suite that wrote it"
        )
    if report.catalogue_digest is None:
        problems.append(
            "catalogueDigest is missing: the report was written by an older suite (or edited), so the "
            "catalogue it was measured against is unknown"
        )
    elif report.catalogue_digest != suite.catalogue_digest:
        problems.append(
            f"catalogueDigest {report.catalogue_digest[:12]}… is not the digest of this suite's catalogue "
            f"({suite.catalogue_digest[:12]}…): the run was measured against another (older or newer) "
            "conformance/catalogue.yaml"
        )
    return problems


def _count_problems(report: ConformanceReport) -> list[str]:
    """Counts and lists that must agree whatever the catalogue: totals, and each requirement's tests."""
    problems = []
    counted = count_outcomes(report.tests)
    for outcome in ("passed", "failed", "broken", "skipped"):
        stated, actual = getattr(report.totals, outcome), getattr(counted, outcome)
        if stated != actual:
            problems.append(f"totals.{outcome} is {stated}, but {actual} of the listed tests {outcome}")
    problems += _duplicates("tests", [test.nodeid for test in report.tests])
    listed_tests = {test.nodeid for test in report.tests}
    for summary in report.requirements:
        naming = {test.nodeid for test in report.tests if summary.id in test.requirements}
        listed = set(summary.tests)
        for nodeid in sorted(listed - naming):
            if nodeid not in listed_tests:
                problems.append(f"requirements[{summary.id}].tests lists {nodeid}, which is not in tests")
                continue
            problems.append(f"requirements[{summary.id}].tests lists {nodeid}, which does not name it")
        for nodeid in sorted(naming - listed):
            problems.append(f"requirements[{summary.id}].tests omits {nodeid}, which names {summary.id}")
    return problems


def _catalogue_id_problems(report: ConformanceReport, catalogue: Catalogue) -> list[str]:
    """Unknown, missing or mismatched ids: when there are any, the rules cannot be re-derived."""
    problems = _duplicates("requirements", [summary.id for summary in report.requirements])
    problems += _duplicates("features", [summary.feature for summary in report.features])
    reported = {summary.id for summary in report.requirements}
    for summary in report.requirements:
        if not catalogue.has_requirement(summary.id):
            problems.append(f"requirements: {_unknown(catalogue, summary.id)}")
            continue
        requirement = catalogue.requirement(summary.id)
        for name in ("feature", "severity"):
            if getattr(summary, name) != getattr(requirement, name):
                problems.append(
                    f"requirements[{summary.id}].{name} is {getattr(summary, name)}, the catalogue says "
                    f"{getattr(requirement, name)}"
                )
    problems.extend(
        f"requirements: {requirement_id} of this suite's catalogue is missing (an older catalogue?)"
        for requirement_id in catalogue.requirement_ids
        if requirement_id not in reported
    )
    for test in report.tests:
        problems.extend(
            f"tests[{test.nodeid}]: {_unknown(catalogue, requirement_id)}"
            for requirement_id in test.requirements
            if not catalogue.has_requirement(requirement_id)
        )
    present = {summary.feature for summary in report.features}
    problems.extend(
        f"features: {feature.id} of this suite's catalogue is missing"
        for feature in catalogue.features
        if feature.id not in present
    )
    return problems


def _rule_problems(report: ConformanceReport, catalogue: Catalogue) -> list[str]:
    """Re-derive every verdict from the test outcomes and name each one the report states otherwise."""
    problems = []
    requirements = summarize_requirements(catalogue, report.tests)
    derived_requirements = {summary.id: summary for summary in requirements}
    for stated in report.requirements:
        derived = derived_requirements[stated.id]
        if stated.result != derived.result:
            problems.append(
                f"requirements[{stated.id}].result is {stated.result}, but its tests say "
                f"{derived.result}{_test_outcomes(report, derived)}"
            )
    features = summarize_features(
        catalogue, report.implementation.declared_features, report.tests, requirements
    )
    derived_features = {summary.feature: summary for summary in features}
    for summary in report.features:
        problems += _feature_problems(summary, derived_features[summary.feature])
    weakened = weakened_limits(catalogue, hold_seconds=report.implementation.limits.hold_seconds)
    if report.weakened_limits != weakened:
        problems.append(f"weakenedLimits is {report.weakened_limits}, but by the catalogue it is {weakened}")
    derived_overall = overall_result(catalogue, features, report.tests, report.mode, weakened=weakened)
    if report.result != derived_overall:
        problems.append(
            f"result is {report.result}, but by the rules it is {derived_overall}: "
            f"{_why_overall(derived_overall, features, report)}"
        )
    return problems


def _feature_problems(stated: FeatureSummary, derived: FeatureSummary) -> list[str]:
    name = f"features[{stated.feature}]"
    problems = []
    if stated.supported != derived.supported:
        declared = "declares" if derived.supported else "does not declare"
        problems.append(
            f"{name}.supported is {str(stated.supported).lower()}, but the implementation {declared} it"
        )
    if stated.requires != derived.requires:
        problems.append(f"{name}.requires is {stated.requires}, the catalogue says {derived.requires}")
    for count in ("passed", "failed", "broken", "skipped"):
        if getattr(stated, count) != getattr(derived, count):
            problems.append(
                f"{name}.{count} is {getattr(stated, count)}, but {getattr(derived, count)} of its tests "
                f"{count}"
            )
    for listed in ("failed_requirements", "skipped_requirements", "not_tested_requirements"):
        if set(getattr(stated, listed)) != set(getattr(derived, listed)):
            field_name = re.sub(r"_(\w)", lambda match: match.group(1).upper(), listed)
            problems.append(
                f"{name}.{field_name} is {getattr(stated, listed)}, but by its requirements' results it is "
                f"{getattr(derived, listed)}"
            )
    if stated.result != derived.result and (stated.result, derived.result) not in _OLDER_WORDING:
        problems.append(
            f"{name}.result is {stated.result}, but by the rules it is {derived.result}: {_why(derived)}"
        )
    return problems


_OLDER_WORDING = {("partial", "not-claimed")}
"""(stated, derived) feature results that mean the same: older suites called an undeclared feature
`partial`; their reports still verify."""


def _why(feature: FeatureSummary) -> str:
    if feature.result == "not-tested":
        return "no test of it ran"
    if feature.result == "failure":
        return f"{', '.join(feature.failed_requirements)} failed or broke"
    if feature.result == "success":
        return "it is declared and every requirement passed"
    if feature.result == "not-claimed":
        return "the implementation does not declare it (a feature not claimed is never certified)"
    reasons = []
    if feature.skipped_requirements:
        reasons.append(
            f"{', '.join(feature.skipped_requirements)} skipped "
            "(a skipped requirement never certifies a feature)"
        )
    if feature.not_tested_requirements:
        reasons.append(f"{', '.join(feature.not_tested_requirements)} not tested")
    return "; ".join(reasons)


def _why_overall(result: str, features: Sequence[FeatureSummary], report: ConformanceReport) -> str:
    declared = [summary for summary in features if summary.supported]
    if result == "not-tested":
        return "no test ran"
    if result == "failure":
        failed = [summary.feature for summary in declared if summary.result == "failure"]
        return (
            f"declared feature {', '.join(failed)} failed"
            if failed
            else "a test naming no requirement failed"
        )
    if result == "success":
        return "a full run in which every declared feature is success"
    if report.mode == "focused":
        return "a focused run is never success"
    short = [f"{summary.feature} is {summary.result}" for summary in declared if summary.result != "success"]
    return ", ".join(short) or "no feature is declared"


def _test_outcomes(report: ConformanceReport, derived: RequirementSummary) -> str:
    outcomes = {test.nodeid: test.outcome for test in report.tests}
    shown = [f"{nodeid} {outcomes[nodeid]}" for nodeid in derived.tests]
    return f" ({', '.join(shown)})" if shown else " (no test of it ran)"


def _shard_problems(report: ConformanceReport) -> list[str]:
    """A sharded run names each test's shard among its shards; a run on one cluster names none."""
    names = [shard.name for shard in report.shards]
    not_started = {shard.name for shard in report.shards if shard.not_started}
    problems = _duplicates("shards", names)
    if len(names) == 1:
        problems.append("shards lists one shard: a run on one cluster lists none")
    for test in report.tests:
        if names and test.shard not in names:
            problems.append(f"tests[{test.nodeid}].shard is {test.shard!r}, not one of shards {names}")
        elif test.shard in not_started and test.outcome != "skipped":
            problems.append(f"tests[{test.nodeid}] ran on {test.shard}, which the report says did not start")
        if not names and test.shard is not None:
            problems.append(f"tests[{test.nodeid}].shard is {test.shard!r}, but the report lists no shards")
    return problems


def _implementation_problems(report: ConformanceReport) -> list[str]:
    implementation = report.implementation
    problems = [
        f"implementation.{name} is empty"
        for name in ("organization", "project", "version")
        if not getattr(implementation, name).strip()
    ]
    url_problem = http_url_problem(implementation.url)
    if url_problem:
        problems.append(f"implementation.url {implementation.url!r} {url_problem}")
    if not is_contact(implementation.contact):
        problems.append(
            f"implementation.contact {implementation.contact!r} is neither an e-mail address nor an "
            "http(s) URL: a reviewer must be able to reach the vendor"
        )
    declared = implementation.declared_features
    problems.extend(
        f"implementation.declaredFeatures lacks {feature}, which every implementation must declare"
        for feature in sorted(MANDATORY_FEATURES)
        if feature not in declared
    )
    problems += _duplicates("implementation.declaredFeatures", list(declared))
    return problems


def http_url_problem(url: str) -> str | None:
    """Why `url` is not a well-formed http(s) URL with a dotted host name; None when it is one."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a malformed port
    except ValueError as error:
        return f"is not a URL ({error})"
    if parts.scheme not in ("http", "https"):
        return "is not an http:// or https:// URL"
    if not parts.hostname or not _HOSTNAME.match(parts.hostname) or any(c.isspace() for c in url):
        return "has no well-formed host name (e.g. vendor.example)"
    return None


def is_contact(contact: str) -> bool:
    """An e-mail address (`Name <a@b.c>` too, or mailto:) or an http(s) URL."""
    text = contact.strip()
    if text.lower().startswith(("http://", "https://")):
        return http_url_problem(text) is None
    _, address = parseaddr(text.removeprefix("mailto:"))
    return bool(_EMAIL.match(address))


def _duplicates(name: str, values: list[str]) -> list[str]:
    return [
        f"{name}: {value} appears more than once" for value, count in Counter(values).items() if count > 1
    ]


def _unknown(catalogue: Catalogue, requirement_id: str) -> str:
    try:
        catalogue.requirement(requirement_id)
    except KeyError as error:
        return str(error)
    return f"requirement id {requirement_id!r}"
