"""`vnode report verify`: check a submitted conformance report, or its evidence bundle, for a reviewer.

A reviewer cannot rerun a vendor's cluster, so what can be checked is that the submission is what this
suite writes and that it says only what its own tests say: the schema; the suite version and the
catalogue digest; that every requirement id exists and the counts agree with the lists; that every
verdict follows from the test outcomes by the rules of `vnode_harness.report.rules` (re-derived, then
compared: a skipped requirement never certifies a feature); that the mandatory feature is declared;
that the JUnit file agrees test by test; that the implementation metadata is complete and well formed;
and, for a bundle, every file's SHA-256 against the MANIFEST. Every problem is one line; bad input is
named, never a traceback.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import ValidationError

from vnode_harness import __version__
from vnode_harness.catalogue import MANDATORY_FEATURES, Catalogue, catalogue_digest, load_catalogue
from vnode_harness.implementation import Implementation
from vnode_harness.report import bundle as bundle_files
from vnode_harness.report.junit import compare_junit
from vnode_harness.report.model import (
    REPORT_API_VERSION,
    REPORT_KIND,
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
from vnode_harness.yaml_files import ModelFileError, parse_yaml_mapping, validation_problems

_HOST = r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+"
_EMAIL = re.compile(rf"^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_HOST}$", re.IGNORECASE)
_HOSTNAME = re.compile(rf"^{_HOST}$", re.IGNORECASE)
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Suite:
    """What a report is verified against: this suite's version and catalogue."""

    version: str
    catalogue: Catalogue
    catalogue_digest: str

    @classmethod
    def current(cls) -> Suite:
        return cls(__version__, load_catalogue(), catalogue_digest())


@dataclass
class Verification:
    """The outcome: problems (the report is valid only without any) and notes (what was not checked)."""

    subject: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    report: ConformanceReport | None = None

    @property
    def valid(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class _Submission:
    report_text: str | None
    report_origin: str
    junit: bytes | None = None
    junit_origin: str = bundle_files.JUNIT
    bundle: bundle_files.Bundle | None = None


def verify(path: Path, *, junit: Path | None = None, suite: Suite | None = None) -> Verification:
    """Verify a report file, a bundle (`bundle.tar.gz`) or a run directory; see the module docstring."""
    suite = suite or Suite.current()
    verification = Verification(str(path))
    submission = _read_submission(path, junit, verification)
    if submission is None:
        return verification
    if submission.bundle is not None:
        verification.problems.extend(submission.bundle.problems)
    if submission.report_text is None:
        return verification
    report = _parse_report(submission.report_text, submission.report_origin, verification.problems)
    if report is None:
        return verification
    verification.report = report
    origin = submission.report_origin
    verification.problems.extend(f"{origin}: {problem}" for problem in check_report(report, suite))
    _check_junit(report, submission, verification)
    if submission.bundle is not None:
        verification.problems.extend(_bundle_consistency(report, submission.bundle))
    if report.mode == "focused":
        verification.notes.append("a focused run (a -k/-m/path selection) never certifies: submit a full run")
    if report.aborted:
        verification.notes.append(f"the run ended before any test ran: {report.aborted}")
    return verification


def _read_submission(path: Path, junit: Path | None, verification: Verification) -> _Submission | None:
    if path.is_dir():
        candidate = path / bundle_files.BUNDLE_NAME
        path = candidate if candidate.is_file() else path / bundle_files.REPORT_YAML
    try:
        data = path.read_bytes()
    except OSError as error:
        verification.problems.append(f"{path}: cannot read it: {error.strerror or error}")
        return None
    if data.startswith(_GZIP_MAGIC):
        bundle = bundle_files.read_bundle(path)
        if bundle_files.REPORT_YAML not in bundle.files:
            if bundle.files:
                bundle.problems.append(f"{path.name}: no {bundle_files.REPORT_YAML} in the bundle")
            verification.problems.extend(bundle.problems)
            return None
        return _Submission(
            report_text=bundle.text(bundle_files.REPORT_YAML),
            report_origin=f"{path.name}:{bundle_files.REPORT_YAML}",
            junit=_read_optional(junit, verification) if junit else bundle.files.get(bundle_files.JUNIT),
            junit_origin=str(junit) if junit else f"{path.name}:{bundle_files.JUNIT}",
            bundle=bundle,
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        verification.problems.append(
            f"{path}: not a conformance report: not UTF-8 text (nor a .tar.gz bundle)"
        )
        return None
    sibling = path.parent / bundle_files.JUNIT
    junit_path = junit or (sibling if sibling.is_file() else None)
    return _Submission(
        report_text=text,
        report_origin=str(path),
        junit=_read_optional(junit_path, verification) if junit_path else None,
        junit_origin=str(junit_path) if junit_path else bundle_files.JUNIT,
    )


def _read_optional(path: Path, verification: Verification) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError as error:
        verification.problems.append(f"{path}: cannot read the JUnit file: {error.strerror or error}")
        return None


def _parse_report(text: str, origin: str, problems: list[str]) -> ConformanceReport | None:
    try:
        data = parse_yaml_mapping(text, origin, "conformance report")
    except ModelFileError as error:
        problems.append(str(error) + _truncation_hint(text))
        return None
    kind, api_version = data.get("kind"), data.get("apiVersion")
    if kind != REPORT_KIND:
        got = f"kind {kind!r}" if kind is not None else "no kind"
        problems.append(f"{origin}: not a conformance report ({got}, expected kind {REPORT_KIND})")
        return None
    if api_version != REPORT_API_VERSION:
        problems.append(
            f"{origin}: apiVersion {api_version!r} is not one this suite reads ({REPORT_API_VERSION})"
        )
        return None
    try:
        return ConformanceReport.model_validate(data)
    except ValidationError as error:
        hint = _truncation_hint(text)
        problems.extend(f"{origin}: schema: {problem}" for problem in validation_problems(error, data))
        if hint:
            problems.append(f"{origin}:{hint}")
        return None


def _truncation_hint(text: str) -> str:
    return " (the file ends mid-line: it looks truncated)" if text and not text.endswith("\n") else ""


def check_report(report: ConformanceReport, suite: Suite) -> list[str]:
    """Every problem of a schema-valid report against `suite`, one line each (without the file name)."""
    problems = _suite_problems(report, suite)
    problems += _count_problems(report)
    catalogue_problems = _catalogue_id_problems(report, suite.catalogue)
    problems += catalogue_problems
    if not catalogue_problems:
        problems += _rule_problems(report, suite.catalogue)
    problems += _implementation_problems(report)
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
    derived_overall = overall_result(catalogue, features, report.tests, report.mode)
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
    if stated.result != derived.result:
        problems.append(
            f"{name}.result is {stated.result}, but by the rules it is {derived.result}: {_why(derived)}"
        )
    return problems


def _why(feature: FeatureSummary) -> str:
    if feature.result == "not-tested":
        return "no test of it ran"
    if feature.result == "failure":
        return f"{', '.join(feature.failed_requirements)} failed or broke"
    if feature.result == "success":
        return "it is declared and every requirement passed"
    reasons = []
    if not feature.supported:
        reasons.append("the implementation does not declare it (a feature not claimed is never certified)")
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


def _check_junit(report: ConformanceReport, submission: _Submission, verification: Verification) -> None:
    if submission.junit is not None:
        verification.problems.extend(compare_junit(report, submission.junit, submission.junit_origin))
    elif submission.bundle is not None:
        if report.tests:
            verification.problems.append(
                f"{submission.bundle.path.name}: no {bundle_files.JUNIT}, but the report lists "
                f"{len(report.tests)} tests"
            )
    else:
        verification.notes.append("JUnit not checked: give --junit FILE, or verify the run's bundle")


def _bundle_consistency(report: ConformanceReport, bundle: bundle_files.Bundle) -> list[str]:
    """The bundle's implementation file and fingerprint must describe the run the report describes."""
    problems: list[str] = []
    name = bundle.path.name
    text = bundle.text(bundle_files.IMPLEMENTATION)
    if text is not None:
        origin = f"{name}:{bundle_files.IMPLEMENTATION}"
        try:
            data = parse_yaml_mapping(text, origin, "implementation file")
            implementation = Implementation.model_validate(data)
        except ModelFileError as error:
            problems.append(str(error))
        except ValidationError as error:
            problems.extend(f"{origin}: {problem}" for problem in validation_problems(error, data))
        else:
            problems += _implementation_agrees(report, implementation, origin)
    environment = bundle.text(bundle_files.ENVIRONMENT)
    if environment is not None:
        problems += _fingerprint_agrees(report, environment, f"{name}:{bundle_files.ENVIRONMENT}")
    return problems


def _implementation_agrees(
    report: ConformanceReport, implementation: Implementation, origin: str
) -> list[str]:
    stated = report.implementation
    metadata = implementation.metadata
    problems = [
        f"{origin}: metadata.{key} is {getattr(metadata, key)!r}, the report says {getattr(stated, key)!r}"
        for key in ("organization", "project", "version", "url", "contact")
        if getattr(metadata, key) != getattr(stated, key)
    ]
    if implementation.declared_features != stated.declared_features:
        problems.append(
            f"{origin}: declares {', '.join(implementation.declared_features)}, the report says "
            f"{', '.join(stated.declared_features)}"
        )
    if implementation.limits.model_dump() != stated.limits.model_dump():
        problems.append(f"{origin}: its limits differ from the report's declared limits")
    return problems


def _fingerprint_agrees(report: ConformanceReport, text: str, origin: str) -> list[str]:
    try:
        fingerprint = json.loads(text)
    except ValueError as error:
        return [f"{origin}: not valid JSON ({error})"]
    if not isinstance(fingerprint, dict):
        return [f"{origin}: not a JSON object"]
    recorded_suite = fingerprint.get("suite")
    suite: dict[str, object] = recorded_suite if isinstance(recorded_suite, dict) else {}
    expected = {
        "clusterProvider": (fingerprint.get("clusterProvider"), report.cluster_provider),
        "kubernetesVersion": (fingerprint.get("kubernetesVersion"), report.kubernetes_version),
        "suite.catalogueDigest": (suite.get("catalogueDigest"), report.catalogue_digest),
    }
    return [
        f"{origin}: {key} is {found!r}, the report says {stated!r}"
        for key, (found, stated) in expected.items()
        if found != stated
    ]


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
