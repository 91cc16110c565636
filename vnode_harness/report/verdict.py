"""The run's verdict in one line, with why: the Markdown headline and the last line a run prints.

`FAILURE` alone does not say whether the implementation failed a requirement or the environment broke a
test (nothing learnt about the implementation); a reviewer and a CI log need the difference at a glance,
so the line counts both, from the report alone (the Markdown is rendered again by `vnode report verify`).
"""

from __future__ import annotations

from vnode_harness.report.model import ConformanceReport


def verdict_line(report: ConformanceReport) -> str:
    """`failure: 2 requirements failed, 1 broken by the environment` (the result, then why)."""
    return f"{report.result}: {verdict_reason(report)}"


def verdict_reason(report: ConformanceReport) -> str:
    """Why the overall result is what it is, counted in requirements of the declared features."""
    declared = set(report.implementation.declared_features)
    claimed = [summary for summary in report.requirements if summary.feature in declared]
    results = [summary.result for summary in claimed]
    if report.result == "not-tested":
        return "the run ended before any test ran" if report.aborted else "no test ran"
    if report.result == "success":
        features = _count(len(declared), "declared feature")
        return f"all {_count(len(claimed), 'requirement')} of {features} passed"
    if report.result == "failure":
        parts = [
            f"{_count(results.count('failed'), 'requirement')} failed" if "failed" in results else "",
            f"{results.count('broken')} broken by the environment" if "broken" in results else "",
            _unattributed(report),
        ]
        if "failed" not in results and "broken" in results:
            parts[1] = f"{_count(results.count('broken'), 'requirement')} broken by the environment"
        return ", ".join(part for part in parts if part)
    parts = [
        "a focused run never certifies" if report.mode == "focused" else "",
        "its declared limits are below the catalogue's minimums" if report.weakened_limits else "",
        "interrupted" if report.interrupted else "",
        f"{_count(results.count('skipped'), 'requirement')} skipped" if "skipped" in results else "",
        f"{_count(results.count('not-tested'), 'requirement')} not tested" if "not-tested" in results else "",
    ]
    return ", ".join(part for part in parts if part) or "no feature is declared"


def _unattributed(report: ConformanceReport) -> str:
    known = {summary.id for summary in report.requirements}
    count = sum(
        1
        for test in report.tests
        if test.outcome in ("failed", "broken") and not known.intersection(test.requirements)
    )
    return f"{_count(count, 'test')} naming no requirement failed or broke" if count else ""


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
