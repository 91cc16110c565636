"""A bundle's files against its report: each rendered file again, the implementation file by digest.

The MANIFEST cannot tell an edited file once it is written again, so `vnode report verify` asks of
every file what only its report can answer: is it what the suite renders from the report
(vnode_harness.report.bundle_members), and is the implementation file the one the report names.
"""

from __future__ import annotations

from pydantic import ValidationError

from vnode_harness.formats.catalogue import Catalogue
from vnode_harness.formats.implementation import Implementation
from vnode_harness.formats.yaml_files import ModelFileError, parse_yaml_mapping, validation_problems
from vnode_harness.report import bundle as bundle_files
from vnode_harness.report.bundle_members import derived_members
from vnode_harness.report.model import ConformanceReport

_WHAT = {
    bundle_files.REPORT_YAML: "the suite writes for this report (a comment, or an edit outside its facts)",
    bundle_files.REPORT_MARKDOWN: "the report renders to",
    bundle_files.JUNIT: "the report's tests render to",
    bundle_files.ENVIRONMENT: "the report's fingerprint renders to",
    bundle_files.REPRODUCE: "the report's command renders to",
}


def bundle_problems(
    report: ConformanceReport, bundle: bundle_files.Bundle, catalogue: Catalogue
) -> list[str]:
    """Every file of `bundle` that differs from what `report` gives, one line each, naming the file."""
    name = bundle.path.name
    problems = []
    for member, expected in derived_members(report, catalogue).items():
        found = bundle.files.get(member)
        if found is not None and found != expected:
            problems.append(
                f"{name}:{member}: not what {_WHAT[member]}: {bundle_files.first_difference(found, expected)}"
            )
    implementation = bundle.files.get(bundle_files.IMPLEMENTATION)
    if implementation is not None:
        problems += _implementation_problems(report, implementation, f"{name}:{bundle_files.IMPLEMENTATION}")
    return problems


def _implementation_problems(report: ConformanceReport, data: bytes, origin: str) -> list[str]:
    stated = report.implementation.file_sha256
    digest = bundle_files.sha256_hex(data)
    if stated is None:
        problems = [
            f"{origin}: the report names no implementation file digest (implementation.fileSha256): "
            "a report of an older suite, so this file cannot be checked"
        ]
    elif digest != stated:
        problems = [
            f"{origin}: its SHA-256 is {digest}, the report's implementation.fileSha256 is {stated}: "
            "not the file the run was made with"
        ]
    else:
        problems = []
    try:
        parsed = parse_yaml_mapping(data.decode("utf-8", errors="replace"), origin, "implementation file")
        implementation = Implementation.model_validate(parsed)
    except ModelFileError as error:
        return [*problems, str(error)]
    except ValidationError as error:
        return [*problems, *(f"{origin}: {problem}" for problem in validation_problems(error, parsed))]
    return problems + _metadata_problems(report, implementation, origin)


def _metadata_problems(report: ConformanceReport, implementation: Implementation, origin: str) -> list[str]:
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
