"""Writes everything a run leaves behind, once, from the controlling process.

Under the run directory: `conformance-report.yaml` (the submittable report), `conformance-report.md`,
the Allure environment files in `allure-results/`, and the HTML report in `allure-report/`. The JUnit
XML is written by pytest itself (the plugin points `--junitxml` into the run directory).
"""

from __future__ import annotations

import os

import yaml
from rich.console import Console

from vnode_harness import __version__
from vnode_harness.catalogue import load_catalogue
from vnode_harness.implementation import Implementation
from vnode_harness.report.allure_env import executor_from_environment, write_allure_environment
from vnode_harness.report.allure_html import AllureUnavailable, generate_html
from vnode_harness.report.collector import ResultCollector
from vnode_harness.report.markdown import render_markdown
from vnode_harness.report.model import RecordedImage, RunInfo
from vnode_harness.run import RunContext

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
) -> None:
    run = RunInfo(
        suite_version=__version__,
        cluster_provider=context.cluster.provider,  # type: ignore[arg-type]
        kubernetes_version=context.cluster.kubernetes_version or "unknown",
        mode="full" if full else "focused",
        command=command,
        environment=environment_facts(context.cluster.facts),
        images=recorded_images(context.cluster.facts),
    )
    report = collector.build_report(implementation, run)
    run_dir = context.run_dir
    yaml_path = run_dir / "conformance-report.yaml"
    yaml_path.write_text(yaml.safe_dump(report.model_dump(mode="json", by_alias=True), sort_keys=False))
    (run_dir / "conformance-report.md").write_text(render_markdown(report, load_catalogue()))
    results_dir = run_dir / "allure-results"
    write_allure_environment(results_dir, implementation, run, executor_from_environment(os.environ))
    try:
        html = generate_html(
            results_dir, run_dir / "allure-report", f"{implementation.metadata.project} conformance", console
        )
        console.print(f"Allure HTML report: {html}")
    except AllureUnavailable as error:
        console.print(f"[yellow]no Allure HTML report: {error}")
    console.print(f"conformance report: {yaml_path} (result: {report.result})")
