"""Every file of the evidence bundle, from the report: the one place the writer and `verify` share.

The writer packs what `bundle_members` gives; `vnode report verify` calls `derived_members` on the
report it read and compares each file byte for byte, so a bundle's Markdown, JUnit, environment or
reproduce data can say only what its report says. The implementation file is the one file not derived:
it is the vendor's own, named in the report by its SHA-256.
"""

from __future__ import annotations

from vnode_harness.formats.catalogue import Catalogue
from vnode_harness.report.bundle import (
    ENVIRONMENT,
    IMPLEMENTATION,
    JUNIT,
    REPORT_MARKDOWN,
    REPORT_YAML,
    REPRODUCE,
)
from vnode_harness.report.fingerprint import render_environment
from vnode_harness.report.junit import render_junit
from vnode_harness.report.markdown import render_markdown
from vnode_harness.report.model import ConformanceReport
from vnode_harness.report.reproduce import render_reproduce


def derived_members(report: ConformanceReport, catalogue: Catalogue) -> dict[str, bytes]:
    """The files rendered from `report` (and the catalogue it names by digest, for the Markdown)."""
    return {
        REPORT_YAML: report.to_yaml().encode(),
        REPORT_MARKDOWN: render_markdown(report, catalogue).encode(),
        JUNIT: render_junit(report).encode(),
        ENVIRONMENT: render_environment(report).encode(),
        REPRODUCE: render_reproduce(report).encode(),
    }


def bundle_members(
    report: ConformanceReport, catalogue: Catalogue, implementation: bytes
) -> dict[str, bytes]:
    """Every file of the bundle but its MANIFEST; `implementation` is the implementation file as run."""
    return {**derived_members(report, catalogue), IMPLEMENTATION: implementation}
