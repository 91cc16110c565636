"""Render a conformance report as Markdown, for people: the JSON report is for machines.

The page answers, top to bottom, the questions a reader has: what was tested and did it conform, and
why not (failed, or broken by the environment); which features, counted in requirements; each
requirement's verdict with its tests; what failed or was skipped and why; what exactly was certified
(implementation, limits) and where (nodes, host, checkout); how to run it again. With the catalogue,
it also says what the suite does not certify (the catalogue's `scope`), so that no reader takes silence
for a pass.
"""

from __future__ import annotations

from collections.abc import Iterable

from vnode_harness.formats.catalogue import SCOPE_REASON_TEXT, Catalogue
from vnode_harness.report.markdown_environment import environment_section
from vnode_harness.report.markdown_table import cell, table
from vnode_harness.report.model import (
    ConformanceReport,
    RecordedTest,
    RequirementResult,
    RequirementSummary,
)
from vnode_harness.report.verdict import verdict_reason

_LIMIT_LABELS = {
    "profile_propagation_seconds": "Profile change takes effect",
    "pod_running_seconds": "Pod reaches Running",
    "volume_provisioning_seconds": "Volume is provisioned",
    "webhook_configuration_seconds": "Webhook configuration follows the profile",
    "hold_seconds": "What must stay so is watched for (hold window)",
}


def render_markdown(report: ConformanceReport, catalogue: Catalogue | None = None) -> str:
    """The report as a Markdown page; with the catalogue, requirement statements and what the suite does
    not certify are shown too."""
    sections = [
        _heading(report),
        _features(report),
        _requirements(report),
        _failed(report, catalogue),
        _skipped(report, catalogue),
        _not_tested(report, catalogue),
        _implementation(report),
        _limits(report),
        _not_certified(catalogue),
        _cleanup(report),
        _observations(report),
        environment_section(report),
        _reproduce(report),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


def _shards(report: ConformanceReport) -> list[str]:
    if not report.shards:
        return []
    started = [shard for shard in report.shards if not shard.not_started]
    clusters = ", ".join(f"{shard.name} = {shard.cluster}" for shard in started)
    lines = [f"- Shards: {len(started)} clusters at once, each test on one ({clusters})"]
    lines += [
        f"- Shard {shard.name} did not start (its workers ran on the others): {shard.not_started}"
        for shard in report.shards
        if shard.not_started
    ]
    return lines


def _heading(report: ConformanceReport) -> str:
    implementation = report.implementation
    totals = report.totals
    return "\n".join(
        [
            f"# Conformance report: {implementation.project} {implementation.version}",
            "",
            f"**Overall result: {report.result.upper()}** ({report.mode} run): {verdict_reason(report)}",
            "",
            *_aborted(report),
            *_interrupted(report),
            *(f"> **Does not certify:** {weakened}\n" for weakened in report.weakened_limits),
            f"- Implementation: {implementation.organization} {implementation.project} "
            f"{implementation.version}",
            f"- Suite version: {report.suite_version}",
            f"- Cluster: {report.cluster_provider}, Kubernetes {report.kubernetes_version}",
            *_shards(report),
            f"- Date: {report.date.strftime('%Y-%m-%dT%H:%M:%SZ')}",
            f"- Tests: {totals.passed} passed, {totals.failed} failed, {totals.broken} broken, "
            f"{totals.skipped} skipped",
            *_isolation(report),
        ]
    )


def _isolation(report: ConformanceReport) -> list[str]:
    """How the tests held the eci-profile lock (per test in the YAML report, `profileLock`)."""
    modes = [test.profile_lock for test in report.tests]
    if not any(modes):
        return []
    return [
        f"- eci-profile lock: {modes.count('exclusive')} tests held it exclusively (they changed the "
        f"profile, nothing ran beside them), {modes.count('shared')} shared (they assumed the profile as "
        "found, no profile change ran beside them)"
    ]


def _interrupted(report: ConformanceReport) -> list[str]:
    lines = []
    if report.interrupted:
        lines += [
            f"**Interrupted: partial report.** {report.interrupted}; the tests not run are not tested.",
            "",
        ]
    lines += [f"**eci-profile lock taken over** by {t.by}: {t.detail}." for t in report.lock_taken_over]
    return [*lines, ""] if report.lock_taken_over else lines


def _aborted(report: ConformanceReport) -> list[str]:
    if not report.aborted:
        return []
    return [f"**The run ended before any test ran.** Cause:\n\n```text\n{report.aborted}\n```", ""]


_REQUIREMENT_COLUMNS: tuple[RequirementResult, ...] = ("passed", "failed", "broken", "skipped", "not-tested")


def _features(report: ConformanceReport) -> str:
    """Counted in requirements (what is certified), with the number of tests beside."""
    rows = []
    for summary in report.features:
        results = [r.result for r in report.requirements if r.feature == summary.feature]
        rows.append(
            [
                f"`{summary.feature}`",
                "yes" if summary.supported else "no",
                ", ".join(f"`{needed}`" for needed in summary.requires) or "—",
                _words(summary.result),
                str(len(results)),
                *(str(results.count(result)) for result in _REQUIREMENT_COLUMNS),
                str(summary.passed + summary.failed + summary.broken + summary.skipped),
            ]
        )
    header = ["Feature", "Declared", "Requires", "Result", "Requirements", "Passed", "Failed", "Broken",
              "Skipped", "Not tested", "Tests"]  # fmt: skip
    return (
        "## Features\n\nRequirements by verdict; `Tests` is how many tests ran for them. A feature not "
        "declared is not claimed: never certified.\n\n" + table(header, rows)
    )


def _requirements(report: ConformanceReport) -> str:
    """Every requirement with its verdict and tests, in catalogue order: what was certified, by what."""
    declared = set(report.implementation.declared_features)
    rows = [
        [
            f"`{summary.id}`",
            summary.feature,
            summary.severity,
            _words(summary.result) + ("" if summary.feature in declared else " (not claimed)"),
            "<br>".join(f"`{nodeid}`" for nodeid in summary.tests) or "—",
        ]
        for summary in report.requirements
    ]
    return (
        "## Requirements\n\nA requirement is certified when it passed and its feature is declared.\n\n"
        + table(["Requirement", "Feature", "Severity", "Verdict", "Tests"], rows)
    )


def _words(result: str) -> str:
    return result.replace("-", " ")


def _failed(report: ConformanceReport, catalogue: Catalogue | None) -> str:
    rows = _requirement_rows(report, catalogue, {"failed", "broken"}, {"failed", "broken"})
    header = ["Requirement", "Feature", "Severity", "Test", "Outcome", "Reason"]
    body = table(header, rows) if rows else "None."
    return "## Failed requirements\n\n" + body


def _skipped(report: ConformanceReport, catalogue: Catalogue | None) -> str:
    rows = [row[:4] + row[5:] for row in _requirement_rows(report, catalogue, {"skipped"}, {"skipped"})]
    header = ["Requirement", "Feature", "Severity", "Test", "Reason"]
    body = table(header, rows) if rows else "None."
    return "## Skipped requirements\n\nA skipped requirement is not certified.\n\n" + body


def _not_tested(report: ConformanceReport, catalogue: Catalogue | None) -> str:
    untested = [summary for summary in report.requirements if summary.result == "not-tested"]
    if not untested:
        return ""
    lines = [
        f"- `{summary.id}` ({summary.feature}){_statement(summary.id, catalogue, ': ')}"
        for summary in untested
    ]
    return "## Requirements not tested in this run\n\n" + "\n".join(lines)


def _requirement_rows(
    report: ConformanceReport,
    catalogue: Catalogue | None,
    requirement_results: set[str],
    test_outcomes: set[str],
) -> list[list[str]]:
    tests_by_nodeid = {test.nodeid: test for test in report.tests}
    rows = []
    for summary in report.requirements:
        if summary.result not in requirement_results:
            continue
        for test in _tests_of(summary, tests_by_nodeid):
            if test.outcome in test_outcomes:
                rows.append(
                    [
                        f"`{summary.id}`{_statement(summary.id, catalogue, '<br>')}",
                        summary.feature,
                        summary.severity,
                        f"`{test.nodeid}`" + (f" ({test.shard})" if test.shard else ""),
                        test.outcome,
                        test.reason or "",
                    ]
                )
    return rows


def _tests_of(
    summary: RequirementSummary, tests_by_nodeid: dict[str, RecordedTest]
) -> Iterable[RecordedTest]:
    return (tests_by_nodeid[nodeid] for nodeid in summary.tests if nodeid in tests_by_nodeid)


def _statement(requirement_id: str, catalogue: Catalogue | None, separator: str) -> str:
    if catalogue is None or not catalogue.has_requirement(requirement_id):
        return ""
    return separator + catalogue.requirement(requirement_id).statement


def _implementation(report: ConformanceReport) -> str:
    implementation = report.implementation
    rows = [
        ["Organization", implementation.organization],
        ["Project", implementation.project],
        ["Version", implementation.version],
        ["URL", implementation.url],
        ["Contact", implementation.contact],
        ["Declared features", ", ".join(implementation.declared_features)],
    ]
    return "## Implementation\n\n" + table(["Field", "Value"], rows)


def _limits(report: ConformanceReport) -> str:
    limits = report.implementation.limits
    rows = [
        [label, f"{getattr(limits, name)} s"]
        for name, label in _LIMIT_LABELS.items()
        if hasattr(limits, name)
    ]
    return (
        "## Declared limits\n\nThe longest each kind of wait may take for the implementation to conform, and "
        "how long each claim that something stays as it was is watched.\n\n" + table(["Wait", "Limit"], rows)
    )


def _not_certified(catalogue: Catalogue | None) -> str:
    if catalogue is None or not (catalogue.scope.out_of_scope or catalogue.scope.unspecified):
        return ""
    lines = [
        "## Not certified by this suite",
        "",
        "Statements of the documents that no requirement certifies, and why "
        "(`conformance/catalogue.yaml`, `scope`). This report says nothing about them.",
        "",
    ]
    lines.extend(
        f"- `{entry.id}` ({SCOPE_REASON_TEXT[entry.reason]}): “{cell(entry.source.quote)}” — "
        f"{cell(entry.explanation)}"
        for entry in catalogue.scope.out_of_scope
    )
    if catalogue.scope.unspecified:
        lines += ["", "### Left open by the documents", "", "No outcome of these cases is certified.", ""]
        lines.extend(
            f"- `{entry.id}`: {cell(entry.case)} {cell(entry.explanation)}"
            for entry in catalogue.scope.unspecified
        )
    return "\n".join(lines)


def _cleanup(report: ConformanceReport) -> str:
    cleanup = report.cleanup
    if cleanup is None:
        return ""
    restored = {True: "yes", False: "**no**", None: "not known (unreadable at the end)"}
    text = (
        "## Left in the cluster\n\n"
        f"eci-profile restored as found: {restored[cleanup.profile_restored]}. "
        f"Objects of the run still present after {cleanup.settle_seconds:g} s: "
        f"{len(cleanup.left_behind) or 'none'}."
    )
    if cleanup.left_behind:
        rows = [
            [leak.kind, _qualified(leak.namespace, leak.name), leak.owner, leak.detail]
            for leak in cleanup.left_behind
        ]
        text += "\n\n" + table(["Kind", "Name", "Left by", "Detail"], rows)
    return text


def _observations(report: ConformanceReport) -> str:
    if not report.observations:
        return ""
    rows = [[o.question, f"**{o.answer}**", o.detail] for o in report.observations]
    return (
        "## Observations (informative, not certified)\n\n"
        "Shown beside the verdict for every implementation; no requirement, never part of a result.\n\n"
        + table(["Question", "Answer", "How it was seen"], rows)
    )


def _qualified(namespace: str | None, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


def _reproduce(report: ConformanceReport) -> str:
    text = f"## Reproduce\n\n```sh\n{report.command}\n```"
    generated = report.generated_cases
    if generated is not None:
        text += (
            f"\n\nGenerated routing cases: seed {generated.seed}, {generated.scenarios} scenarios "
            f"(`--gen-seed {generated.seed} --gen-cases {generated.scenarios}` draws the same cases)."
        )
    return text
