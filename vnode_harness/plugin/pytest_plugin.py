"""The pytest plugin of the conformance suite: options, the run's clusters (shards), reports.

Loaded by the repository's top-level conftest.py. It only acts on runs that include the `conformance/`
directory; a run of the project's own tests (`tests/`) never starts a cluster.

Lifecycle (controller = the xdist controller, or the only process with `-n 0`):
1. configure: the controller picks the run directory `reports/runs/<timestamp>/` and points Allure
   results and JUnit XML into it;
2. session start: the controller brings the run's clusters up (one per shard, `--clusters`, or one per
   `--kubeconfig` on existing clusters; vnode_harness.lifecycle.shards), installs the implementation in
   each and checks readiness (a cluster that is not ready ends the run at once, exit code 3, with the
   reason, leaving a not-tested report and bundle that say why) — before xdist starts any worker; or,
   for several clusters the run starts itself, in the background (lifecycle.staggered_start): xdist's
   workers start meanwhile, and the controller waits for the first shard in `pytest_runtestloop`;
3. each worker gets its shard's `RunContext` through xdist's workerinput (worker gwK → shard K mod N),
   or, with a staggered start, waits for its shard's published context before its first test;
4. every test report reaches the controller with its requirement ids, where the result collector turns
   them into the conformance report (YAML + Markdown), written at session finish with the Allure
   environment files and the Allure HTML report; the evidence bundle follows once junit.xml is written;
5. unconfigure: the controller tears down what it created and prints `N passed, N failed`, the phases'
   times and, last, the verdict with the report's path (`run_reports.closing_line`).

This module holds the lifecycle and the run's state; its concerns live next to it: the command-line
options in vnode_harness.plugin.options, why a failed test failed (implementation down, its webhook,
the environment, a lock takeover) in vnode_harness.plugin.failure_causes, and what is written at the end in
vnode_harness.plugin.run_reports. Hooks defined there are registered from here, imported by name.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from kubernetes.client.exceptions import ApiException

from vnode_harness.formats.applicability import not_testable_reason, requirement_ids
from vnode_harness.formats.catalogue import load_catalogue
from vnode_harness.formats.implementation import Implementation, load_implementation
from vnode_harness.lifecycle.shards import ShardedRun, ShardPlanError, auto_workers
from vnode_harness.lifecycle.staggered_start import wait_for_shard
from vnode_harness.plugin import interrupts
from vnode_harness.plugin.failure_causes import (
    environment_fault,
    forbidden_fault,
    give_up_waiting_once_control_plane_down,
    implementation_webhook_fault,
    led_by_cause,
    raise_if_control_plane_down,
    raise_if_implementation_down,
    record_lock_takeover,
    remember_implementation_pods,
)
from vnode_harness.plugin.interrupts import interruption, is_worker
from vnode_harness.plugin.options import (
    allure_history,
    implementation_pids,
    is_conformance_run,
    kubeconfigs,
    pytest_addoption,
    xdist_workers,
)
from vnode_harness.plugin.ordering import load_durations, longest_first
from vnode_harness.plugin.run_reports import (
    closing_line,
    end_progress_line,
    write_finished_run,
    write_unstarted_run,
)
from vnode_harness.plumbing.console import make_console
from vnode_harness.plumbing.forbidden import missing_permission
from vnode_harness.plumbing.processes import ProcessStartError
from vnode_harness.plumbing.waits import WaitTimeout
from vnode_harness.providers.select import choose_provider
from vnode_harness.report.allure_labels import label_item
from vnode_harness.report.collector import SHARD_PROPERTY, ResultCollector, failure_kind_property
from vnode_harness.run_context import ClusterError, RunContext, RunOptions
from vnode_harness.testapi.workloads import TEST_IMAGE_VARIABLE
from vnode_harness.toolchain import ToolchainError

if TYPE_CHECKING:
    from vnode_harness.report.writer import WrittenRun

CONTEXT_KEY = "vnode_run_context"
SHARD_KEY = "vnode_shard"
SHARDS_KEY = "vnode_shards"
RUN_DIR_KEY = "vnode_run_dir"
REQUIREMENTS_PROPERTY = "requirements"
EXIT_NOT_READY = 3

_run_key = pytest.StashKey[ShardedRun]()
_context_key = pytest.StashKey[RunContext]()
_collector_key = pytest.StashKey[ResultCollector]()
_started_key = pytest.StashKey[float]()
_written_key = pytest.StashKey["WrittenRun"]()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if not is_conformance_run(config) or config.option.collectonly:
        return
    if config.getoption("fail_fast"):
        config.option.maxfail = 1
    if not config.pluginmanager.is_registered(interrupts):  # SIGINT/SIGTERM: every process tears down
        config.pluginmanager.register(interrupts, interrupts.__name__)
    if is_worker(config):
        workerinput = config.workerinput  # type: ignore[attr-defined]
        if CONTEXT_KEY not in workerinput:  # its shard is still starting: known before its first test
            config.option.allure_report_dir = str(Path(workerinput[RUN_DIR_KEY]) / "allure-results")
            return
        context = RunContext.from_json(workerinput[CONTEXT_KEY])
        _use_context(config, context)
        config.option.allure_report_dir = str(context.run_dir / "allure-results")
        return
    given = kubeconfigs(config)
    pids = implementation_pids(config, len(given))  # a usage error before the run directory exists
    allure_history(config)  # the same
    if getattr(config.option, "maxschedchunk", 0) is None:
        # xdist refills a worker with up to pending/workers/2 tests at once, in collection order: the
        # generated parts (adjacent in the longest-first order) then all landed on one shard. One at
        # a time keeps the longest-first order across the workers (plugin.ordering).
        config.option.maxschedchunk = 1
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_dir = Path(config.getoption("reports_dir")).resolve() / "runs" / f"{stamp}-{os.getpid()}"
    run_dir.mkdir(parents=True, exist_ok=True)
    config.option.allure_report_dir = config.option.allure_report_dir or str(run_dir / "allure-results")
    config.option.xmlpath = config.option.xmlpath or str(run_dir / "junit.xml")
    latest = run_dir.parent.parent / "latest"
    latest.unlink(missing_ok=True)
    latest.symlink_to(run_dir.relative_to(latest.parent), target_is_directory=True)
    options = RunOptions(
        cluster=config.getoption("cluster"),
        implementation_file=Path(config.getoption("implementation")),
        run_dir=run_dir,
        kubeconfig=given[0] if given else None,
        kubeconfigs=tuple(given),
        cluster_name=None
        if config.getoption("cluster_name") == "pytest-kind"
        else config.getoption("cluster_name"),
        keep_cluster=bool(config.getoption("keep_cluster")),
        kind_bin=config.getoption("kind_bin"),
        kind_kubectl_bin=config.getoption("kind_kubectl_bin"),
        kind_image=config.getoption("kind_image"),
        kind_images=config.getoption("kind_images"),
        implementation_pid=pids[0] if pids else None,
        implementation_pids=tuple(pids),
    )
    try:
        config.stash[_run_key] = ShardedRun(options, config.getoption("clusters"), xdist_workers(config))
    except ValueError as error:  # a broken implementation file: say which field, then stop
        raise pytest.UsageError(str(error)) from error
    config.stash[_collector_key] = ResultCollector(load_catalogue())
    _controller[:] = [config]


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    run = config.stash.get(_run_key, None)
    if run is None or config.option.collectonly:
        return
    config.stash[_started_key] = time.monotonic()
    started = _until_ready(config, run, run.start)
    if started:  # else: the shards start in the background; the first ready one is waited for below
        _tests_begin(config, run, started[0])


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> Generator[None, object, object]:
    """Shards that start in the background (lifecycle.staggered_start): the controller waits here for
    the first one to be ready — xdist's workers are already importing and collecting — and each worker
    for its own shard, before its first test."""
    config = session.config
    if is_conformance_run(config) and not config.option.collectonly:
        run = config.stash.get(_run_key, None)
        if run is not None and run.staggered is not None and _context_key not in config.stash:
            _tests_begin(config, run, _until_ready(config, run, lambda: [run.wait_first_ready()])[0])
        if is_worker(config) and _context_key not in config.stash:
            workerinput = config.workerinput  # type: ignore[attr-defined]
            try:
                context = wait_for_shard(
                    Path(workerinput[RUN_DIR_KEY]), workerinput[SHARD_KEY], workerinput[SHARDS_KEY]
                )
            except ClusterError as error:  # the controller ends the run as not ready, naming each shard
                pytest.exit(str(error), returncode=EXIT_NOT_READY)
            _use_context(config, context)
    return (yield)


def _tests_begin(config: pytest.Config, run: ShardedRun, context: RunContext) -> None:
    config.stash[_context_key] = context
    if xdist_workers(config) == 0:  # this process runs the tests on its one cluster
        give_up_waiting_once_control_plane_down(context)
    _use_provider_test_image(context)
    run.clock.mark("tests")


def _use_context(config: pytest.Config, context: RunContext) -> None:
    """A worker's shard: what its tests run against."""
    config.stash[_context_key] = context
    give_up_waiting_once_control_plane_down(context)
    _use_provider_test_image(context)


def _until_ready(
    config: pytest.Config, run: ShardedRun, start: Callable[[], list[RunContext]]
) -> list[RunContext]:
    """`start` (the clusters' start, or the wait for the first shard), ending the run as not ready —
    with a report that says why — when a cluster does not come up."""
    try:
        return start()
    except ShardPlanError as error:  # nothing was started: a usage error, not an unready cluster
        run.stop()
        pytest.exit(str(error), returncode=pytest.ExitCode.USAGE_ERROR)
    except (ClusterError, ToolchainError, ProcessStartError, WaitTimeout, ApiException) as error:
        run.stop()
        missing = missing_permission(error)  # an RBAC refusal (a run inside the cluster): name the rule
        if isinstance(error, ApiException) and missing is None:
            raise  # any other answer of the API server here is the suite's bug: its traceback
        cause = f"the cluster is not ready, no test was run: {missing.sentence() if missing else error}"
        _remember(config, write_unstarted_run(config, run, cause))
        pytest.exit(cause, returncode=EXIT_NOT_READY)
    except KeyboardInterrupt:  # SIGINT or SIGTERM while the cluster was being set up
        run.stop()
        cause = f"interrupted ({interruption() or 'SIGINT'}) while the cluster was being set up"
        _remember(config, write_unstarted_run(config, run, f"{cause}: no test was run"))
        raise
    except BaseException:
        run.stop()
        raise


def _remember(config: pytest.Config, written: WrittenRun | None) -> None:
    if written is not None:
        config.stash[_written_key] = written


def _use_provider_test_image(context: RunContext) -> None:
    """Test pods on regular nodes run the image the provider loaded (kind's built set), unless the user
    chose one with VNODE_TEST_IMAGE."""
    image = context.cluster.facts.get("testImage")
    if image:
        os.environ.setdefault(TEST_IMAGE_VARIABLE, image)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto` on a conformance run: one worker per shard (vnode_harness.lifecycle.shards), so one
    per kubeconfig on existing clusters."""
    if not is_conformance_run(config):
        return None
    kind_bin = config.getoption("kind_bin")
    provider, _ = choose_provider(config.getoption("cluster"), kind_bin=Path(kind_bin) if kind_bin else None)
    return auto_workers(config.getoption("clusters"), provider, kubeconfigs=len(kubeconfigs(config)))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller → worker: the context of the worker's shard (the one cluster when unsharded)."""
    run = node.config.stash.get(_run_key, None)
    if run is not None and run.contexts:
        node.workerinput[CONTEXT_KEY] = run.context_for_worker(node.gateway.id).to_json()
    elif run is not None and run.staggered is not None:  # the worker waits for its shard's file
        node.workerinput[SHARD_KEY] = run.shard_for_worker(node.gateway.id)
        node.workerinput[SHARDS_KEY] = run.shard_names
        node.workerinput[RUN_DIR_KEY] = str(run.options.run_dir)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object | None) -> None:
    """A worker is done: its shard's cleanup may begin beside the others' last tests."""
    run = node.config.stash.get(_run_key, None)
    if run is not None and error is None:
        run.worker_finished(node.gateway.id)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip, with the reason, every test of a feature the implementation does not declare; label each
    test's Allure result like the catalogue: feature → requirement, a readable title, the MUST statement
    with the document's quote and section (markers, so skipped tests have them too)."""
    if not is_conformance_run(config):
        return
    catalogue = load_catalogue()
    implementation = load_implementation(Path(config.getoption("implementation")))
    for item in items:
        ids = requirement_ids(item)
        label_item(catalogue, item, ids)
        reason = not_testable_reason(catalogue, implementation, ids)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))
    if _workers_in_run(config) > 1:
        items[:] = longest_first(items, load_durations())


def _workers_in_run(config: pytest.Config) -> int:
    """The xdist worker count, also inside a worker (where xdist resets the controller's options)."""
    if is_worker(config):
        return int(config.workerinput.get("workercount", 1))  # type: ignore[attr-defined]
    return xdist_workers(config)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before the test's fixtures: a cluster whose control plane died breaks the test at once; else the
    implementation's declared pods, so that a failure can name one deleted or restarted while the test
    ran (the in-cluster counterpart of a dead host process)."""
    if is_conformance_run(item.config):
        context = item.config.stash.get(_context_key, None)
        raise_if_control_plane_down(context)
        remember_implementation_pods(item, context)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Re-raise an API error caused by the implementation's own webhook as that assertion failure, so the
    report, JUnit and Allure all say "failed" and quote the cause (vnode_harness.testapi.blame)."""
    try:
        return (yield)
    except Exception as error:
        if is_conformance_run(item.config):
            raise_if_implementation_down(item, error)
            blamed = implementation_webhook_fault(item, error)
            if blamed:
                from vnode_harness.testapi.blame import ImplementationWebhookRefused

                raise ImplementationWebhookRefused(blamed) from error
        raise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, Any, Any]:
    report = yield
    report.user_properties.append((REQUIREMENTS_PROPERTY, requirement_ids(item)))
    context = item.config.stash.get(_context_key, None) if item.config is not None else None
    if context is not None and context.shard:
        report.user_properties.append((SHARD_PROPERTY, context.shard))
    fault = ""
    if report.failed and is_conformance_run(item.config):
        fault = environment_fault(item, context) or forbidden_fault(call)
        if fault:
            report.sections.append(("environment", fault))
            report.longrepr = led_by_cause(fault, report.longrepr)
    if report.failed and context is not None and context.label_routing_failure:
        report.sections.append(("known before the tests: label routing", context.label_routing_failure))
    if report.when == "setup":
        record_lock_takeover(item, report)
    kind = failure_kind_property(call, environment_broken=bool(fault))
    if kind is not None:
        report.user_properties.append(kind)
    if report.when == "call" and report.failed and is_conformance_run(item.config):
        from vnode_harness.lifecycle.diagnostics import attach_failure_diagnostics

        attach_failure_diagnostics(item)
    return report


_controller: list[pytest.Config] = []
"""The controlling process's config (empty in workers and in runs without conformance/)."""


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    collector = _controller[0].stash.get(_collector_key, None) if _controller else None
    if collector is None:
        return
    ids: list[str] = []
    for name, value in report.user_properties:
        if name == REQUIREMENTS_PROPERTY:
            ids = [str(requirement) for requirement in value]  # type: ignore[attr-defined]
    collector.record_phase(report, ids)


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None, None, None]:
    """Reports before every other plugin's session finish; the evidence bundle after them, once pytest's
    junitxml has written junit.xml."""
    interrupted = session.exitstatus == pytest.ExitCode.INTERRUPTED
    run = session.config.stash.get(_run_key, None)
    if run is not None:
        run.clock.end("tests")
        end_progress_line(session.config)
    written = None if interrupted else _write_reports(session)
    yield
    if interrupted:  # the interrupted test's fixtures were torn down inside the yield: report now
        written = _write_reports(session)
    if written is not None:
        if run is not None:
            run.clock.end("reports")
        written.write_bundle(make_console(stderr=True))
        session.config.stash[_written_key] = written


def _write_reports(session: pytest.Session) -> WrittenRun | None:
    config = session.config
    run = config.stash.get(_run_key, None)
    collector = config.stash.get(_collector_key, None)
    context = config.stash.get(_context_key, None)
    if run is None or collector is None or context is None or config.option.collectonly:
        return None
    interrupted = (
        (interruption() or "interrupted") if session.exitstatus == pytest.ExitCode.INTERRUPTED else None
    )
    return write_finished_run(session, run, collector, context, interrupted)


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(_run_key, None)
    if run is None:
        return
    run.stop()
    _controller[:] = []
    collector = config.stash.get(_collector_key, None)
    if collector is not None and not config.option.collectonly and config.stash.get(_context_key, None):
        sys.stdout.write(collector.summary_line() + "\n")
        if run.clock.summary():
            sys.stdout.write(run.clock.summary() + "\n")
    written = config.stash.get(_written_key, None)
    if written is not None:  # the verdict is the run's last line, whatever printed before it
        sys.stdout.write(closing_line(written) + "\n")
    sys.stdout.flush()


# --- fixtures shared by every conformance test -------------------------------------------------------


@pytest.fixture(scope="session")
def run_context(pytestconfig: pytest.Config) -> RunContext:
    context = pytestconfig.stash.get(_context_key, None)
    if context is None:
        pytest.fail(
            "no conformance cluster: run the suite through `pytest conformance` (or tox -e conformance)"
        )
    return context


@pytest.fixture(scope="session")
def implementation(run_context: RunContext) -> Implementation:
    return load_implementation(run_context.implementation_file)


__all__ = [  # pytest_addoption is plugin_options' hook, registered here
    "CONTEXT_KEY",
    "EXIT_NOT_READY",
    "REQUIREMENTS_PROPERTY",
    "implementation",
    "is_conformance_run",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_configure_node",
    "pytest_runtest_call",
    "pytest_runtest_logreport",
    "pytest_runtest_makereport",
    "pytest_runtestloop",
    "pytest_sessionfinish",
    "pytest_sessionstart",
    "pytest_testnodedown",
    "pytest_unconfigure",
    "pytest_xdist_auto_num_workers",
    "requirement_ids",
    "run_context",
]
