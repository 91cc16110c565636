"""What the plugin writes when a run ends: its reports, its evidence, and the exit status they imply.

Two ends, two writers: a run whose tests ran (`write_finished_run`, at session finish: it first prints
the environment's dead components, cleans up and lists what was left behind, then observes what
happens while the implementation is down) and a run that stopped before its tests because the cluster
was not ready or the run was interrupted while it was set up (`write_unstarted_run`). The report files
themselves are made by vnode_harness.report.writer; this module gathers, from pytest's session, what
they need. Kept out of the plugin module so that its hooks say *when* reports are written, and this
module *what* goes in.
"""

from __future__ import annotations

import contextlib
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from rich.console import Console

from vnode_harness.formats.implementation import is_cluster_choice
from vnode_harness.lifecycle.shards import ShardedRun
from vnode_harness.plugin.options import allure_history, is_full_run
from vnode_harness.plumbing.console import make_console
from vnode_harness.report.bundle import REPORT_MARKDOWN
from vnode_harness.report.collector import ResultCollector
from vnode_harness.report.model import Cleanup, GeneratedCases, LockTakeover, Shard
from vnode_harness.report.verdict import verdict_reason
from vnode_harness.run_context import RunContext

if TYPE_CHECKING:
    from vnode_harness.report.writer import WrittenRun

EXIT_LEFT_BEHIND = 6
"""Exit status of a run whose tests all passed but that left its own objects in the cluster (pytest
uses 0-5; a failed test's status 1 wins)."""

GENERATED_REQUIREMENT = "GEN-ROUTING-EFFECTS"


def _command(config: pytest.Config) -> str:
    return shlex.join(["pytest", *config.invocation_params.args])


def write_unstarted_run(config: pytest.Config, run: ShardedRun, cause: str) -> WrittenRun | None:
    """A run that ends before its tests still leaves a report (not-tested, with the cause) and a bundle;
    pytest calls no session-finish hook after an exit in session start, so the plugin calls this there.
    None when the report could not be written (said on the console)."""
    from vnode_harness.report.writer import write_not_ready_report

    provider, reason = run.provider_choice or (config.getoption("cluster"), "")
    console = make_console(stderr=True)
    try:
        return write_not_ready_report(
            implementation=run.implementation,
            implementation_file=run.options.implementation_file,
            run_dir=run.options.run_dir,
            provider=provider if is_cluster_choice(provider) else "auto",
            cause=cause,
            full=is_full_run(config),
            command=_command(config),
            console=console,
            environment={"providerReason": reason} if reason else {},
        )
    except Exception as error:  # the exit and its cause matter more than the report of it
        console.print(f"[yellow]could not write the report of the failed start: {error}")
        return None


def closing_line(written: WrittenRun) -> str:
    """The run's last line: the verdict, why, and where the report is (relative when under the working
    directory), so that the tail of a CI log answers "did it conform, and where do I read why?"."""
    report = written.run_dir / REPORT_MARKDOWN
    with contextlib.suppress(ValueError):
        report = report.resolve().relative_to(Path.cwd().resolve())
    result = written.report
    return f"result: {result.result.upper()} — {verdict_reason(result)} (report: {report})"


def end_progress_line(config: pytest.Config) -> None:
    """pytest ends its progress line (`[100%]`) only in its own session finish, after the reports are
    written: end it first, or the reports' first line is glued to it."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.ensure_newline()
        reporter.flush()


def write_finished_run(
    session: pytest.Session,
    run: ShardedRun,
    collector: ResultCollector,
    context: RunContext,
    interrupted: str | None,
) -> WrittenRun:
    """The reports of a run whose tests ran (`interrupted`: what interrupted it, or None); the evidence
    bundle is left to `WrittenRun.write_bundle`, once junit.xml exists."""
    from vnode_harness.lifecycle.health import dead_components
    from vnode_harness.report.fingerprint import measure_fingerprint
    from vnode_harness.report.writer import write_run_reports

    config = session.config
    console = make_console(stderr=True)
    run.finish_starting()  # a shard still starting when the tests ended is waited for (and torn down)
    for shard in run.contexts:
        for message in dead_components(shard.cluster):
            console.print(
                f"[red]environment fault during the run{f' ({shard.shard})' if shard.shard else ''}:[/red]"
            )
            console.print(message, markup=False, highlight=False)
    # The leftovers first, while the implementation still runs (its provisioner reclaims the run's
    # volumes); only then is it stopped for the informative observation.
    cleanup = run.clean_up()
    observations = run.observe_implementation_down(interrupted=interrupted is not None)
    fingerprint = measure_fingerprint(context.cluster.kubeconfig)
    if interrupted is None:  # the last read of the clusters: they are deleted while the reports are written
        run.begin_teardown()
    fail_on_own_leaks(session, cleanup, console)
    run.clock.mark("reports")  # the report files, the Allure HTML report and (after junit.xml) the bundle
    return write_run_reports(
        collector=collector,
        implementation=run.implementation,
        context=context,
        full=is_full_run(config) and interrupted is None,
        interrupted=interrupted,
        lock_taken_over=[
            LockTakeover(
                by=f"run start{f' ({shard.shard})' if shard.shard else ''}", detail=shard.lock_taken_over
            )
            for shard in run.contexts
            if shard.lock_taken_over
        ],
        observations=observations,
        fingerprint=fingerprint,
        command=_command(config),
        console=console,
        allure_history=allure_history(config),
        generated_cases=generated_cases(config, collector),
        cleanup=cleanup,
        shards=[
            Shard(
                name=shard.shard,
                cluster=shard.cluster.name,
                kubernetes_version=shard.cluster.kubernetes_version,
            )
            for shard in run.contexts
            if shard.shard
        ]
        + [
            Shard(name=name, cluster="", kubernetes_version="", not_started=why)
            for name, why in run.not_started.items()
        ],
    )


def fail_on_own_leaks(session: pytest.Session, cleanup: Cleanup | None, console: Console) -> None:
    """An object the suite never deleted is the suite's bug in the vendor's cluster: the run must not
    exit 0 (the implementation's verdict is unchanged; the report lists the objects)."""
    if cleanup is None:
        return
    own = [leak for leak in cleanup.left_behind if leak.owner == "suite"]
    if own and session.exitstatus == pytest.ExitCode.OK:
        console.print(
            f"[red]the suite left {len(own)} of its own object(s) in the cluster: exit {EXIT_LEFT_BEHIND}"
        )
        session.exitstatus = EXIT_LEFT_BEHIND


def generated_cases(config: pytest.Config, collector: ResultCollector) -> GeneratedCases | None:
    """The seed and size of the generated cases, when the generative test ran in this run."""
    ran = any(
        GENERATED_REQUIREMENT in test.requirements and test.outcome != "skipped"
        for test in collector.results()
    )
    if not ran:
        return None
    return GeneratedCases(seed=config.getoption("gen_seed"), scenarios=config.getoption("gen_cases"))
