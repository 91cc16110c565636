"""Compare a run's JUnit XML with its conformance report, test by test.

The JUnit file is written by pytest, independently of the report; a report whose tests or outcomes
differ from it was edited, or belongs to another run. pytest names a test case by its node id mangled
into (classname, name) -- `conformance/test_a.py::test_b[x]` is `conformance.test_a` / `test_b[x]`.
Outcomes are compared by what both can say: JUnit has no "broken", so a broken test may be a JUnit
failure or error, and a failed test is a JUnit failure (with a teardown error beside it, perhaps).

The bundle's `junit.xml` is not pytest's file (its host name, timestamps and captured output could not be
checked) but `render_junit`, the report's tests as JUnit: what CI tools and reviewers read, rendered again
and compared by `vnode report verify`. pytest's own file stays in the run directory and is compared with
the report when the bundle is packed, and by `vnode report verify REPORT --junit FILE`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from xml.etree import ElementTree

from vnode_harness.report.model import ConformanceReport, TestOutcome

JunitKey = tuple[str, str]
"""(classname, name) of a test case."""

_COMPATIBLE: dict[TestOutcome, tuple[str, ...]] = {
    "passed": ("passed",),
    "skipped": ("skipped",),
    "failed": ("failure",),
    "broken": ("failure", "error"),
}
"""Report outcome → the JUnit results, any one of which shows it (a case may carry several)."""

_SUITE_COUNTS = (("failures", "failure"), ("errors", "error"), ("skipped", "skipped"))
_RENDERED: dict[TestOutcome, str] = {"failed": "failure", "broken": "error", "skipped": "skipped"}
"""Report outcome → the JUnit element `render_junit` gives it (a passed test has none)."""


def render_junit(report: ConformanceReport) -> str:
    """The report's tests as a JUnit XML file, deterministic: the same report gives the same bytes."""
    totals = report.totals
    suite = ElementTree.Element(
        "testsuite",
        {
            "name": "conformance",
            "tests": str(totals.total),
            "failures": str(totals.failed),
            "errors": str(totals.broken),
            "skipped": str(totals.skipped),
            "time": f"{sum(test.duration_seconds for test in report.tests):.3f}",
            "timestamp": report.date.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )
    for test in report.tests:
        classname, name = junit_key(test.nodeid)
        case = ElementTree.SubElement(
            suite, "testcase", {"classname": classname, "name": name, "time": f"{test.duration_seconds:.3f}"}
        )
        properties = ElementTree.SubElement(case, "properties")
        ElementTree.SubElement(
            properties, "property", {"name": "requirements", "value": " ".join(test.requirements)}
        )
        if test.shard:
            ElementTree.SubElement(properties, "property", {"name": "vnode.shard", "value": test.shard})
        if test.outcome in _RENDERED:
            ElementTree.SubElement(case, _RENDERED[test.outcome], {"message": test.reason or ""})
    root = ElementTree.Element("testsuites", {"name": f"{report.implementation.project} conformance"})
    root.append(suite)
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


def junit_key(nodeid: str) -> JunitKey:
    """The (classname, name) pytest's junitxml gives the test `nodeid` (its mangle_test_address)."""
    path, bracket, parameters = nodeid.partition("[")
    names = path.split("::")
    names[0] = re.sub(r"\.py$", "", names[0].replace("/", "."))
    names[-1] += bracket + parameters
    return ".".join(names[:-1]), names[-1]


def compare_junit(report: ConformanceReport, xml: bytes, origin: str) -> list[str]:
    """Every disagreement between `report` and the JUnit XML `xml` (read from `origin`)."""
    if not xml.strip():
        return [f"{origin}: the JUnit file is empty"]
    try:
        root = ElementTree.fromstring(xml)  # noqa: S314 -- expat expands no external entities
    except ElementTree.ParseError as error:
        return [f"{origin}: not well-formed XML ({error}): not a JUnit file, or one cut short"]
    if root.tag == "testsuites":
        suites = root.findall("testsuite")
    elif root.tag == "testsuite":
        suites = [root]
    else:
        return [f"{origin}: not a JUnit file (its root element is <{root.tag}>, not <testsuites>)"]
    problems: list[str] = []
    cases: dict[JunitKey, set[str]] = {}
    for suite in suites:
        problems.extend(_suite_count_problems(suite, origin))
        for case in suite.iter("testcase"):
            key = (case.get("classname", ""), case.get("name", ""))
            cases.setdefault(key, set()).update(_case_results(case))
    reported = {junit_key(test.nodeid): test for test in report.tests}
    for key, test in reported.items():
        results = cases.get(key)
        if results is None:
            problems.append(f"{origin}: no test case for {test.nodeid} (the report says {test.outcome})")
        elif not any(result in results for result in _COMPATIBLE[test.outcome]):
            problems.append(
                f"{origin}: {test.nodeid}: the report says {test.outcome}, the JUnit file says "
                f"{_listed(results)}"
            )
    for key in sorted(set(cases) - set(reported)):
        problems.append(
            f"{origin}: test case {key[0]}::{key[1]} ({_listed(cases[key])}) is not in the report"
        )
    return problems


def _case_results(case: ElementTree.Element) -> set[str]:
    results = {child.tag for child in case if child.tag in ("failure", "error", "skipped")}
    return results or {"passed"}


def _suite_count_problems(suite: ElementTree.Element, origin: str) -> list[str]:
    """The testsuite's own counters must agree with its test cases (an edited file rarely keeps both)."""
    cases = list(suite.iter("testcase"))
    problems = []
    counted = {"tests": len(cases)}
    for attribute, tag in _SUITE_COUNTS:
        counted[attribute] = sum(1 for case in cases if case.find(tag) is not None)
    for attribute, count in counted.items():
        declared = suite.get(attribute)
        if declared is not None and declared.isdigit() and int(declared) != count:
            problems.append(
                f"{origin}: testsuite {suite.get('name', '?')!r} says {attribute}={declared}, but counting "
                f"its test cases gives {count}"
            )
    return problems


def _listed(results: Iterable[str]) -> str:
    return " and ".join(sorted(results))
