"""The pytest plugin of the conformance suite: options, one cluster per run, reports.

Loaded by the repository's top-level conftest.py. It only acts on runs that include the `conformance/`
directory; a run of the project's own tests (`tests/`) never starts a cluster.

Lifecycle (controller = the xdist controller, or the only process with `-n 0`):
1. configure: the controller picks the run directory `reports/runs/<timestamp>/` and points Allure
   results and JUnit XML into it;
2. session start: the controller brings the cluster up, installs the implementation and checks readiness
   (a cluster that is not ready ends the run at once, exit code 3, with the reason, leaving a
   not-tested report and bundle that say why) — before xdist starts any worker, so every worker shares
   the one cluster;
3. workers get the `RunContext` through xdist's workerinput;
4. every test report reaches the controller with its requirement ids, where the result collector turns
   them into the conformance report (YAML + Markdown), written at session finish with the Allure
   environment files and the Allure HTML report; the evidence bundle follows once junit.xml is written;
5. unconfigure: the controller tears down what it created and prints the closing `N passed, N failed`.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from rich.console import Console

from vnode_harness.catalogue import Catalogue, load_catalogue
from vnode_harness.generative.strategies import DEFAULT_SCENARIOS, DEFAULT_SEED
from vnode_harness.implementation import Implementation, load_implementation
from vnode_harness.processes import ProcessStartError
from vnode_harness.providers.base import ClusterError
from vnode_harness.report.collector import ResultCollector, failure_kind_property
from vnode_harness.report.model import GeneratedCases
from vnode_harness.run import ConformanceRun, RunContext, RunOptions
from vnode_harness.testkit.workloads import TEST_IMAGE_VARIABLE
from vnode_harness.toolchain import ToolchainError
from vnode_harness.waits import WaitTimeout

if TYPE_CHECKING:
    from vnode_harness.report.writer import WrittenRun

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFORMANCE_DIR = REPO_ROOT / "conformance"
DEFAULT_IMPLEMENTATION = REPO_ROOT / "implementations" / "reference.yaml"
CONTEXT_KEY = "vnode_run_context"
REQUIREMENTS_PROPERTY = "requirements"
EXIT_NOT_READY = 3

_run_key = pytest.StashKey[ConformanceRun]()
_context_key = pytest.StashKey[RunContext]()
_collector_key = pytest.StashKey[ResultCollector]()
_started_key = pytest.StashKey[float]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("vnode", "virtual-node conformance")
    group.addoption(
        "--cluster",
        choices=("auto", "local", "kind", "existing"),
        default=os.environ.get("VNODE_CLUSTER", "auto"),
        help="cluster provider: auto (kind where Docker works, else local), local, kind, existing",
    )
    group.addoption(
        "--implementation",
        default=os.environ.get("VNODE_IMPLEMENTATION", str(DEFAULT_IMPLEMENTATION)),
        help="implementation file of the implementation under test (default: the reference implementation)",
    )
    group.addoption(
        "--implementation-pid",
        type=int,
        default=None,
        help="with --cluster existing: pid of a host-process implementation you started yourself (its "
        "identity for the 'without restarting' checks)",
    )
    group.addoption(
        "--reports-dir", default=str(REPO_ROOT / "reports"), help="where runs write their reports"
    )
    group.addoption(
        "--kind-images",
        choices=("auto", "built", "upstream"),
        default=os.environ.get("VNODE_KIND_IMAGES", "auto"),
        help="with --cluster kind: the image set — built (every image made here from package registries, "
        "`vnode kind images`), upstream (the pinned upstream images, pulled), auto (upstream where its node "
        "image is already in Docker, else built)",
    )
    group.addoption(
        "--gen-seed",
        type=int,
        default=int(os.environ.get("VNODE_GEN_SEED", DEFAULT_SEED)),
        help=f"seed of the generated routing cases (GEN-ROUTING-EFFECTS; default {DEFAULT_SEED}, so runs "
        "are comparable; the report records it)",
    )
    group.addoption(
        "--gen-cases",
        type=int,
        default=int(os.environ.get("VNODE_GEN_CASES", DEFAULT_SCENARIOS)),
        help=f"number of generated scenarios (one profile and its namespaces and pods each; default "
        f"{DEFAULT_SCENARIOS}); more for deeper nightly runs",
    )
    group.addoption(
        "--gen-only",
        default=None,
        metavar="SCENARIO[:POD]",
        help="replay one generated scenario (or one pod of it) of --gen-seed/--gen-cases, as failures print",
    )
    group.addoption(
        "--fail-fast",
        action="store_true",
        default=False,
        help="stop at the first failed or broken test (as pytest -x); the report lists what was not run",
    )
    # --kubeconfig, --cluster-name, --keep-cluster, --kind-bin, --kind-kubectl-bin and --kind-image are
    # pytest-kind's own options, shared with it.


def is_conformance_run(config: pytest.Config) -> bool:
    """Whether the run includes conformance/ (or tests inside it)."""
    invocation = Path(config.invocation_params.dir)
    for arg in config.args:
        path = (invocation / arg.split("::", 1)[0]).resolve()
        if path == CONFORMANCE_DIR or CONFORMANCE_DIR in path.parents:
            return True
    return False


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _is_full_run(config: pytest.Config) -> bool:
    if (
        config.option.keyword
        or config.option.markexpr
        or getattr(config.option, "lf", False)
        or config.option.deselect
    ):
        return False
    invocation = Path(config.invocation_params.dir)
    return all((invocation / arg).resolve() == CONFORMANCE_DIR for arg in config.args)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if not is_conformance_run(config) or config.option.collectonly:
        return
    if config.getoption("fail_fast"):
        config.option.maxfail = 1
    if _is_worker(config):
        context = RunContext.from_json(config.workerinput[CONTEXT_KEY])  # type: ignore[attr-defined]
        config.stash[_context_key] = context
        config.option.allure_report_dir = str(context.run_dir / "allure-results")
        _use_provider_test_image(context)
        return
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_dir = Path(config.getoption("reports_dir")).resolve() / "runs" / f"{stamp}-{os.getpid()}"
    run_dir.mkdir(parents=True, exist_ok=True)
    config.option.allure_report_dir = config.option.allure_report_dir or str(run_dir / "allure-results")
    config.option.xmlpath = config.option.xmlpath or str(run_dir / "junit.xml")
    latest = run_dir.parent.parent / "latest"
    latest.unlink(missing_ok=True)
    latest.symlink_to(run_dir.relative_to(latest.parent), target_is_directory=True)
    kubeconfig = config.getoption("kubeconfig")
    options = RunOptions(
        cluster=config.getoption("cluster"),
        implementation_file=Path(config.getoption("implementation")),
        run_dir=run_dir,
        kubeconfig=Path(kubeconfig) if kubeconfig else None,
        cluster_name=None
        if config.getoption("cluster_name") == "pytest-kind"
        else config.getoption("cluster_name"),
        keep_cluster=bool(config.getoption("keep_cluster")),
        kind_bin=config.getoption("kind_bin"),
        kind_kubectl_bin=config.getoption("kind_kubectl_bin"),
        kind_image=config.getoption("kind_image"),
        kind_images=config.getoption("kind_images"),
        implementation_pid=config.getoption("implementation_pid"),
    )
    try:
        config.stash[_run_key] = ConformanceRun(options)
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
    try:
        config.stash[_context_key] = run.start()
        _use_provider_test_image(config.stash[_context_key])
    except (ClusterError, ToolchainError, ProcessStartError, WaitTimeout) as error:
        run.stop()
        cause = f"the cluster is not ready, no test was run: {error}"
        _write_not_ready_report(config, run, cause)
        pytest.exit(cause, returncode=EXIT_NOT_READY)
    except BaseException:
        run.stop()
        raise


def _write_not_ready_report(config: pytest.Config, run: ConformanceRun, cause: str) -> None:
    """A run that ends before its tests still leaves a report (not-tested, with the cause) and a bundle;
    pytest calls no session-finish hook after an exit in session start, so it is written here."""
    from vnode_harness.report.writer import write_not_ready_report

    provider, reason = run.provider_choice or (config.getoption("cluster"), "")
    console = Console(stderr=True)
    try:
        write_not_ready_report(
            implementation=run.implementation,
            implementation_file=run.options.implementation_file,
            run_dir=run.options.run_dir,
            provider=provider if provider in ("local", "kind", "existing") else "local",  # type: ignore[arg-type]
            cause=cause,
            full=_is_full_run(config),
            command=shlex.join(["pytest", *config.invocation_params.args]),
            console=console,
            environment={"providerReason": reason} if reason else {},
        )
    except Exception as error:  # the exit and its cause matter more than the report of it
        console.print(f"[yellow]could not write the report of the failed start: {error}")


def _use_provider_test_image(context: RunContext) -> None:
    """Test pods on regular nodes run the image the provider loaded (kind's built set), unless the user
    chose one with VNODE_TEST_IMAGE."""
    image = context.cluster.facts.get("testImage")
    if image:
        os.environ.setdefault(TEST_IMAGE_VARIABLE, image)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller → worker: the shared cluster's context."""
    context = node.config.stash.get(_context_key, None)
    if context is not None:
        node.workerinput[CONTEXT_KEY] = context.to_json()


def requirement_ids(item: pytest.Item) -> list[str]:
    ids: list[str] = []
    for marker in item.iter_markers("requirement"):
        ids.extend(str(arg) for arg in marker.args)
    return ids


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip, with the reason, every test of a feature the implementation does not declare."""
    if not is_conformance_run(config):
        return
    catalogue = load_catalogue()
    implementation = load_implementation(Path(config.getoption("implementation")))
    for item in items:
        reason = _not_testable_reason(catalogue, implementation, requirement_ids(item))
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


def _not_testable_reason(catalogue: Catalogue, implementation: Implementation, ids: list[str]) -> str | None:
    """Why a test of these requirements cannot certify anything for this implementation, or None."""
    project = implementation.metadata.project
    for requirement in ids:
        feature = catalogue.feature(catalogue.requirement(requirement).feature)
        if not implementation.supports(feature.id):
            return (
                f"{project} does not declare feature '{feature.id}' ({requirement}): not tested, "
                "reported as not conformant (partial)"
            )
        missing = [needed for needed in feature.requires if not implementation.supports(needed)]
        if missing:
            return (
                f"feature '{feature.id}' ({requirement}) requires {', '.join(missing)} (the suite sees a "
                f"profile change in force through a selector's effect), which {project} does not declare: "
                "not tested, reported as not conformant (partial)"
            )
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Re-raise an API error caused by the implementation's own webhook as that assertion failure, so the
    report, JUnit and Allure all say "failed" and quote the cause (vnode_harness.blame)."""
    try:
        return (yield)
    except Exception as error:
        if is_conformance_run(item.config):
            blamed = _implementation_webhook_fault(item, error)
            if blamed:
                from vnode_harness.blame import ImplementationWebhookRefused

                raise ImplementationWebhookRefused(blamed) from error
        raise


def _implementation_webhook_fault(item: pytest.Item, error: BaseException) -> str | None:
    from vnode_harness.blame import blame_implementation, implementation_webhook_names, webhooks_named

    if not webhooks_named(error):
        return None
    funcargs = getattr(item, "funcargs", {})
    context, implementation = funcargs.get("run_context"), funcargs.get("implementation")
    if context is None or implementation is None:
        return None
    names = implementation_webhook_names(context.cluster.kubeconfig, implementation)
    return blame_implementation(error, names)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, Any, Any]:
    report = yield
    report.user_properties.append((REQUIREMENTS_PROPERTY, requirement_ids(item)))
    fault = ""
    if report.failed and is_conformance_run(item.config):
        from vnode_harness.environment_health import environment_fault_text

        context = getattr(item, "funcargs", {}).get("run_context")
        fault = environment_fault_text(context.cluster) if context is not None else ""
        if fault:
            report.sections.append(("environment", fault))
    kind = failure_kind_property(call, environment_broken=bool(fault))
    if kind is not None:
        report.user_properties.append(kind)
    if report.when == "call" and report.failed and is_conformance_run(item.config):
        from vnode_harness.diagnostics import attach_failure_diagnostics

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
    written = _write_reports(session)
    yield
    if written is not None:
        written.write_bundle(Console(stderr=True))


def _write_reports(session: pytest.Session) -> WrittenRun | None:
    config = session.config
    run = config.stash.get(_run_key, None)
    collector = config.stash.get(_collector_key, None)
    context = config.stash.get(_context_key, None)
    if run is None or collector is None or context is None or config.option.collectonly:
        return None
    from vnode_harness.environment_health import dead_components
    from vnode_harness.report.writer import write_run_reports

    console = Console(stderr=True)
    for message in dead_components(context.cluster):
        console.print("[red]environment fault during the run:[/red]")
        console.print(message, markup=False, highlight=False)
    return write_run_reports(
        collector=collector,
        implementation=run.implementation,
        context=context,
        full=_is_full_run(config),
        command=shlex.join(["pytest", *config.invocation_params.args]),
        console=console,
        generated_cases=_generated_cases(config, collector),
    )


GENERATED_REQUIREMENT = "GEN-ROUTING-EFFECTS"


def _generated_cases(config: pytest.Config, collector: ResultCollector) -> GeneratedCases | None:
    """The seed and size of the generated cases, when the generative test ran in this run."""
    ran = any(
        GENERATED_REQUIREMENT in test.requirements and test.outcome != "skipped"
        for test in collector.results()
    )
    if not ran:
        return None
    return GeneratedCases(seed=config.getoption("gen_seed"), scenarios=config.getoption("gen_cases"))


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(_run_key, None)
    if run is None:
        return
    run.stop()
    _controller[:] = []
    collector = config.stash.get(_collector_key, None)
    if collector is not None and not config.option.collectonly and config.stash.get(_context_key, None):
        sys.stdout.write(collector.summary_line() + "\n")
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
