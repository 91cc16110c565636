"""Writes everything a run leaves behind, once, from the controlling process.

Under the run directory: `conformance-report.yaml` (the submittable report), `conformance-report.md`,
the Allure environment files in `allure-results/`, and the HTML report in `allure-report/`. The JUnit
XML is written by pytest itself (the plugin points `--junitxml` into the run directory), after this
writer has run; so the evidence bundle (`bundle.tar.gz`, vnode_harness.report.bundle) is packed by
`WrittenRun.write_bundle`, which the plugin calls once every other plugin has finished the session: its
files are rendered from the report (vnode_harness.report.bundle_members), and pytest's junit.xml is only
compared with the report. A run that ends before its tests still leaves a report and a bundle
(`write_not_ready_report`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from vnode_harness import __version__
from vnode_harness.formats.catalogue import catalogue_digest, load_catalogue
from vnode_harness.formats.implementation import ClusterChoice, Implementation
from vnode_harness.report.allure_env import executor_from_environment, write_allure_environment
from vnode_harness.report.allure_html import AllureUnavailable, generate_html
from vnode_harness.report.bundle import JUNIT, REPORT_MARKDOWN, REPORT_YAML, sha256_hex, write_bundle
from vnode_harness.report.bundle_members import bundle_members
from vnode_harness.report.collector import ResultCollector
from vnode_harness.report.fingerprint import measure_fingerprint
from vnode_harness.report.junit import compare_junit
from vnode_harness.report.markdown import render_markdown
from vnode_harness.report.model import (
    Cleanup,
    ConformanceReport,
    Fingerprint,
    GeneratedCases,
    LockTakeover,
    RecordedImage,
    RunInfo,
    RunObservation,
    Shard,
)
from vnode_harness.run_context import RunContext

IMAGE_FACT = "image:"
STAND_IN_FACT = "standIn:"
"""Prefixes of the provider facts that name an image (→ its ID) and a stand-in (→ what it replaces)."""


def environment_facts(facts: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in facts.items() if not k.startswith((IMAGE_FACT, STAND_IN_FACT))}


def recorded_images(facts: dict[str, str]) -> list[RecordedImage]:
    return [
        RecordedImage(name=key.removeprefix(IMAGE_FACT), id=value,
                      stand_in=facts.get(STAND_IN_FACT + key.removeprefix(IMAGE_FACT)))
        for key, value in sorted(facts.items())
        if key.startswith(IMAGE_FACT)
    ]  # fmt: skip


def write_run_reports(
    *,
    collector: ResultCollector,
    implementation: Implementation,
    context: RunContext,
    full: bool,
    command: str,
    console: Console,
    allure_history: Path | None = None,
    generated_cases: GeneratedCases | None = None,
    cleanup: Cleanup | None = None,
    interrupted: str | None = None,
    lock_taken_over: list[LockTakeover] | None = None,
    observations: list[RunObservation] | None = None,
    shards: list[Shard] | None = None,
    fingerprint: Fingerprint | None = None,
) -> WrittenRun:
    """`fingerprint`: taken by the caller while the cluster still answered (the clusters may be torn
    down while the reports are written); measured here when not given."""
    implementation_bytes = context.implementation_file.read_bytes()
    run = RunInfo(
        suite_version=__version__,
        cluster_provider=context.cluster.provider,
        kubernetes_version=context.cluster.kubernetes_version or "unknown",
        mode="full" if full else "focused",
        command=command,
        environment=environment_facts(context.cluster.facts),
        images=recorded_images(context.cluster.facts),
        generated_cases=generated_cases,
        catalogue_digest=catalogue_digest(),
        cleanup=cleanup,
        interrupted=interrupted,
        lock_taken_over=list(lock_taken_over or []),
        observations=list(observations or []),
        shards=list(shards or []),
        fingerprint=fingerprint or measure_fingerprint(context.cluster.kubeconfig),
        implementation_sha256=sha256_hex(implementation_bytes),
    )
    report = collector.build_report(implementation, run)
    run_dir = context.run_dir
    yaml_path = _write_report_files(report, run_dir)
    results_dir = run_dir / "allure-results"
    write_allure_environment(results_dir, implementation, run, executor_from_environment(os.environ))
    try:
        html = generate_html(
            results_dir,
            run_dir / "allure-report",
            f"{implementation.metadata.project} conformance",
            console,
            history=allure_history,
        )
        console.print(f"Allure HTML report: {html}")
    except AllureUnavailable as error:
        console.print(f"[yellow]no Allure HTML report: {error}")
    console.print(f"conformance report: {yaml_path} (result: {report.result})")
    return WrittenRun(run_dir=run_dir, report=report, implementation_file=implementation_bytes)


@dataclass(frozen=True)
class WrittenRun:
    """A run whose reports are written: its report (fingerprint included, taken while the cluster was
    up) and the implementation file's bytes as the run read them."""

    run_dir: Path
    report: ConformanceReport
    implementation_file: bytes

    def write_bundle(self, console: Console) -> Path:
        """Pack the evidence bundle; call it after pytest has written junit.xml, which it compares with the
        report (a disagreement is the suite's bug, printed; the bundle's JUnit is the report's)."""
        pytest_junit = self.run_dir / JUNIT
        if pytest_junit.is_file():
            for problem in compare_junit(self.report, pytest_junit.read_bytes(), str(pytest_junit)):
                console.print(f"[yellow]the report and pytest's JUnit disagree: {problem}", highlight=False)
        files = bundle_members(self.report, load_catalogue(), self.implementation_file)
        path = write_bundle(self.run_dir, files)
        console.print(f"evidence bundle: {path} (check it with: vnode report verify {path})")
        return path


def write_not_ready_report(
    *,
    implementation: Implementation,
    implementation_file: Path,
    run_dir: Path,
    provider: ClusterChoice,
    cause: str,
    full: bool,
    command: str,
    console: Console,
    environment: dict[str, str] | None = None,
) -> WrittenRun:
    """The report and bundle of a run that ended before any test ran: no test, the cause, the environment.

    Its result is `not-tested` (never conformant), so CI and a reviewer see why instead of nothing."""
    implementation_bytes = implementation_file.read_bytes()
    run = RunInfo(
        suite_version=__version__,
        cluster_provider=provider,
        kubernetes_version="unknown",
        mode="full" if full else "focused",
        command=command,
        environment=dict(environment or {}),
        catalogue_digest=catalogue_digest(),
        aborted=cause,
        fingerprint=measure_fingerprint(None),
        implementation_sha256=sha256_hex(implementation_bytes),
    )
    report = ResultCollector(load_catalogue()).build_report(implementation, run)
    yaml_path = _write_report_files(report, run_dir)
    console.print(f"conformance report: {yaml_path} (result: {report.result}: {cause})", highlight=False)
    written = WrittenRun(run_dir=run_dir, report=report, implementation_file=implementation_bytes)
    written.write_bundle(console)
    return written


def _write_report_files(report: ConformanceReport, run_dir: Path) -> Path:
    yaml_path = run_dir / REPORT_YAML
    yaml_path.write_text(report.to_yaml())
    (run_dir / REPORT_MARKDOWN).write_text(render_markdown(report, load_catalogue()))
    return yaml_path
