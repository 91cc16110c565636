"""`vnode report verify`: check a submitted conformance report, or its evidence bundle, for a reviewer.

A reviewer cannot rerun a vendor's cluster, so what can be checked is that the submission is what this
suite writes and that it says only what its own tests say: the schema; the suite version and the
catalogue digest; that every requirement id exists and the counts agree with the lists; that every
verdict follows from the test outcomes by the rules of `vnode_harness.report.rules` (re-derived, then
compared: a skipped requirement never certifies a feature); that the mandatory feature is declared;
that the JUnit file agrees test by test; that the implementation metadata is complete and well formed;
that the recorded command is one this suite reproduces (vnode_harness.report.reproduce). For a bundle:
every file's SHA-256 against the MANIFEST, no file but the bundle's own, and -- since a MANIFEST can be
written again -- every file against the report (vnode_harness.report.bundle_checks). Every problem is one
line; bad input is named, never a traceback.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from vnode_harness.formats.yaml_files import ModelFileError, parse_yaml_mapping, validation_problems
from vnode_harness.report import bundle as bundle_files
from vnode_harness.report.bundle_checks import bundle_problems
from vnode_harness.report.content_checks import Suite, check_report, http_url_problem, is_contact
from vnode_harness.report.junit import compare_junit
from vnode_harness.report.model import (
    REPORT_API_VERSION,
    REPORT_KIND,
    ConformanceReport,
)
from vnode_harness.report.reproduce import command_problems, reproduce_arguments

_GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class Verification:
    """The outcome: problems (the report is valid only without any) and notes (what was not checked)."""

    subject: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    report: ConformanceReport | None = None
    reproduce: str | None = None
    """The command that reproduces the run, derived from the report (for a bundle)."""

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
    verification.problems.extend(f"{origin}: {problem}" for problem in command_problems(report.command))
    _check_junit(report, submission, verification)
    if submission.bundle is not None:
        verification.problems.extend(bundle_problems(report, submission.bundle, suite.catalogue))
        verification.reproduce = shlex.join(reproduce_arguments(report.command))
    verification.problems.extend(
        f"{origin}: does not certify: {weakened}" for weakened in report.weakened_limits
    )
    if report.mode == "focused":
        verification.notes.append("a focused run (a -k/-m/path selection) never certifies: submit a full run")
    if report.aborted:
        verification.notes.append(f"the run ended before any test ran: {report.aborted}")
    return verification


def read_report(path: Path) -> tuple[ConformanceReport | None, list[str]]:
    """The report of a report file, a bundle or a run directory (what `verify` accepts), or the
    problems that say why there is none: `vnode report render` reads its input as `verify` does."""
    verification = Verification(str(path))
    submission = _read_submission(path, None, verification)
    if submission is None or submission.report_text is None:
        return None, verification.problems
    report = _parse_report(submission.report_text, submission.report_origin, verification.problems)
    return report, verification.problems


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


__all__ = ["Suite", "Verification", "check_report", "http_url_problem", "is_contact", "verify"]
