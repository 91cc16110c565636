"""A run on several clusters at once: one shard (cluster + implementation) per group of xdist workers.

Nearly every requirement changes the eci-profile, one object per cluster, so on one cluster the profile
tests take turns whatever the worker count. Shards give each worker group a cluster of its own: the
provider is chosen once, every shard is started (in parallel), and each xdist worker is pinned to one
shard. A verdict never depends on the shard: every shard is the same provider with the same topology and
the same implementation file, and a test runs on exactly one of them.

How many: `--clusters N`, or `auto` = as many as there are workers, at most what the cores carry and
what the machine's available memory holds at the provider's measured cost per cluster (`CLUSTER_COST`).
Asking for more than that is an error before anything starts, with the numbers. Clusters the run
starts itself come up a few at a time while the workers start, and each shard runs tests as soon as it is
ready (vnode_harness.lifecycle.staggered_start): a shard that does not start leaves its workers to the
ready shards and the report names it; when none starts, the run ends before the tests. A shard finishes
early too: once its workers are done, its cleanup runs beside the other shards' last tests.

Existing clusters are given, not started: `--kubeconfig` once per cluster (pytest-kind's option, read
repeated by vnode_harness.plugin.options.kubeconfigs) makes one shard per kubeconfig, shard K on the
K-th; `--clusters` may then only be auto or that count, and the run needs a worker per cluster. Two
kubeconfigs of one cluster (the same API server, or the same kube-system namespace behind two
addresses) are refused once the clusters answer, before readiness touches them: the two shards would
share its eci-profile, and the report would count one cluster twice.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, TypeVar, cast
from urllib.parse import urlsplit

import urllib3
from kubernetes import client
from rich.console import Console

from vnode_harness.formats.implementation import Implementation, ProviderName
from vnode_harness.lifecycle.run import ConformanceRun
from vnode_harness.lifecycle.staggered_start import StaggeredStart, start_at_once
from vnode_harness.plumbing.console import HeldStream, make_console
from vnode_harness.plumbing.kube import api_client
from vnode_harness.plumbing.phases import PhaseClock
from vnode_harness.plumbing.waits import WaitTimeout
from vnode_harness.providers.registry import GIVEN_CLUSTERS
from vnode_harness.report.model import Cleanup, RunObservation
from vnode_harness.run_context import ClusterError, ClusterHandle, RunContext, RunOptions
from vnode_harness.testapi.observe import DOWN_OBSERVATION_ID, DOWN_QUESTION

T = TypeVar("T")
FIRST_READY = "first shard ready"
"""Phases of a staggered start, both timed from its beginning: the first shard ready (the tests begin),
then every shard up (the tests ran meanwhile); `tests` runs from the first."""


@dataclass(frozen=True)
class ClusterCost:
    memory_mib: int
    """Memory the rule reserves for one cluster with the implementation: local above the 893 MiB one
    local cluster measured without it (`bench/run.py warm-start`); kind above the ≈ 1.7 GiB one kind
    cluster added to the machine's used memory at its peak during a run (README, Figures)."""
    cores: float
    """The share of a core one cluster takes while the suite runs (measured: README, Figures). A local
    cluster's tests mostly wait (hold windows, propagation), and its start is bound by CPU: on 2 cores
    the whole local run took 114.6 s with 4 clusters, 103.3 s with 5 and 121.3 s with 6, so 0.4 core
    (again with the staggered start: 6 clusters 93.3 s against 94.0 s for 5, measured as a pair). A
    kind cluster runs real kubelets, etcd and containerd in Docker, but its tests wait as a local
    cluster's do: on 2 cores two kind clusters started together ran the whole suite in 350.8 s against
    436.3 s for one (measured as a pair, 2026-12-06), so one core each. Three kind clusters started
    together (2026-12-07) took 345 s against 277 s for two right after: their creates and image loads
    on 2 cores doubled (first shard ready at 146.8 s against 80.9 s) and the tests gained only 8 s."""


CLUSTER_COST: dict[ProviderName, ClusterCost] = {
    "local": ClusterCost(memory_mib=1500, cores=0.4),
    "kind": ClusterCost(memory_mib=3000, cores=1.0),
    "existing": ClusterCost(memory_mib=0, cores=1.0),
}


class ShardPlanError(ClusterError):
    """More clusters were asked than this machine or run can hold: said before anything starts."""


@dataclass(frozen=True)
class ShardPlan:
    count: int
    why: str


def available_memory_mib() -> int:
    """MemAvailable from /proc/meminfo (what the kernel can give without swapping)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def plan_shards(
    requested: str,
    *,
    workers: int,
    provider: ProviderName,
    kubeconfigs: int = 1,
    cores: int | None = None,
    memory_mib: int | None = None,
) -> ShardPlan:
    """How many clusters the run uses, and why; ShardPlanError when `requested` cannot be honoured.
    `kubeconfigs`: how many `--kubeconfig` were given (each an existing cluster)."""
    if provider in GIVEN_CLUSTERS:
        return _plan_given_clusters(requested, workers=workers, kubeconfigs=kubeconfigs)
    if kubeconfigs > 1:
        raise ShardPlanError(
            f"{kubeconfigs} kubeconfigs (--kubeconfig) name existing clusters, but the run's provider is "
            f"{provider}, which starts clusters of its own and reads no kubeconfig: pass --cluster existing"
        )
    cores = cores if cores is not None else (os.cpu_count() or 1)
    memory_mib = memory_mib if memory_mib is not None else available_memory_mib()
    cost = CLUSTER_COST[provider].memory_mib
    carried = max(1, int(cores / CLUSTER_COST[provider].cores))
    fits = memory_mib // cost if cost else carried
    if requested == "auto":
        if workers <= 1:
            return ShardPlan(1, f"{workers or 'no'} xdist worker(s): one cluster")
        count = max(1, min(workers, carried, fits))
        return ShardPlan(
            count,
            f"--clusters auto: {workers} workers; {cores} cores carry {carried} {provider} cluster(s); "
            f"{memory_mib} MiB available at about {cost} MiB per cluster → {count}",
        )
    try:
        count = int(requested)
    except ValueError:
        raise ShardPlanError(f"--clusters takes a number or auto, not {requested!r}") from None
    if count < 1:
        raise ShardPlanError(f"--clusters {count}: at least one cluster")
    problems = []
    if count > 1 and count > workers:
        problems.append(f"{workers or 'no'} xdist worker(s) (-n) to run tests on {count} clusters")
    if count > carried:
        problems.append(f"{cores} cores for {count} clusters (they carry {carried} {provider} cluster(s))")
    if count > 1 and count * cost > memory_mib:
        problems.append(
            f"{memory_mib} MiB available for {count} clusters of {cost} MiB ({provider} clusters)"
        )
    if problems:
        raise ShardPlanError(f"--clusters {count} cannot run here: " + "; ".join(problems))
    return ShardPlan(count, f"--clusters {count} was requested")


def _plan_given_clusters(requested: str, *, workers: int, kubeconfigs: int) -> ShardPlan:
    """Clusters the suite does not start: one per kubeconfig (one kubeconfig, or the default one: one)."""
    if kubeconfigs <= 1:
        if requested not in ("auto", "1"):
            raise ShardPlanError(
                f"--clusters {requested}: an existing cluster is one cluster (its kubeconfig); the suite "
                "starts no more (to run on several, pass --kubeconfig once per cluster)"
            )
        return ShardPlan(1, "an existing cluster: one cluster")
    if requested != "auto" and requested.strip() != str(kubeconfigs):
        raise ShardPlanError(
            f"--clusters {requested}: {kubeconfigs} kubeconfigs were given (--kubeconfig), so the run has "
            f"{kubeconfigs} clusters, one per kubeconfig; leave --clusters out or pass --clusters "
            f"{kubeconfigs}"
        )
    if workers < kubeconfigs:
        raise ShardPlanError(
            f"{kubeconfigs} kubeconfigs need at least {kubeconfigs} xdist workers, one per cluster, for "
            f"every cluster to run tests; the run has {workers or 'no'} worker(s): pass -n {kubeconfigs} "
            "or -n auto"
        )
    return ShardPlan(kubeconfigs, f"{kubeconfigs} kubeconfigs: one existing cluster each")


def auto_workers(requested: str, provider: ProviderName, kubeconfigs: int = 1) -> int | None:
    """xdist's `-n auto` for a conformance run: one worker per cluster `--clusters` will start (the
    tests mostly wait, so a machine runs more clusters than it has cores), or per kubeconfig given for
    existing clusters; None: xdist's own default (one per core), for a single cluster."""
    if provider in GIVEN_CLUSTERS:
        return kubeconfigs if kubeconfigs > 1 else None
    if requested == "auto":
        count = plan_shards("auto", workers=1 << 16, provider=provider).count
    else:
        try:
            count = int(requested)
        except ValueError:
            return None  # plan_shards says what is wrong, once the run starts
    return count if count > 1 else None


def _worker_index(worker_id: str) -> int:
    return int(worker_id.removeprefix("gw")) if worker_id.startswith("gw") else 0


def shard_name(index: int, count: int) -> str:
    return f"shard-{index + 1}" if count > 1 else ""


def _server(url: str) -> str:
    """An API server URL as one address: scheme and host in lower case, the port explicit, no
    trailing slash (https://Host:443/ and https://host are one server)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower() or "https"
    port = parts.port or (443 if scheme == "https" else 80)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}{parts.path.rstrip('/')}"


def kube_system_uid(cluster: ClusterHandle) -> str:
    """The uid of the cluster's kube-system namespace: a cluster's identity whatever address it is
    reached at; "" when it cannot be read (the server URL alone then tells clusters apart)."""
    try:
        with api_client(cluster.kubeconfig, "shard-identity") as api:
            namespace = client.CoreV1Api(api).read_namespace("kube-system", _request_timeout=10)
    except (client.ApiException, urllib3.exceptions.HTTPError, OSError):
        return ""
    return str(namespace.metadata.uid or "")


def one_cluster_twice(shards: list[tuple[str, ClusterHandle, str]]) -> list[str]:
    """Which shards are one cluster given twice: (shard, cluster, kube-system uid) of each; a problem
    per later shard that has an earlier one's server URL or uid."""
    problems = []
    for index, (shard, cluster, uid) in enumerate(shards):
        for earlier, earlier_cluster, earlier_uid in shards[:index]:
            same_server = _server(cluster.name) == _server(earlier_cluster.name)
            if same_server or (uid and uid == earlier_uid):
                how = f"server {cluster.name}" if same_server else f"kube-system uid {uid}"
                problems.append(
                    f"{earlier} ({earlier_cluster.kubeconfig}) and {shard} ({cluster.kubeconfig}) are one "
                    f"cluster ({how})"
                )
                break
    return problems


class ShardedRun:
    """The run's clusters: `primary` is the one shard of an unsharded run (exactly today's run)."""

    def __init__(
        self, options: RunOptions, requested: str, workers: int, console: Console | None = None
    ) -> None:
        self.options = options
        self.requested = requested
        self.workers = workers
        self.console = console or make_console(stderr=True)
        self.primary = ConformanceRun(options, console=self.console)
        self.runs: list[ConformanceRun] = [self.primary]
        self.contexts: list[RunContext] = []
        self.plan: ShardPlan | None = None
        self.clock = PhaseClock()
        """The run's phase times (the plugin times the tests and the reports on it)."""
        self.start_output = HeldStream(sys.stderr)
        """What the shards print while they start: held while pytest's progress line runs."""
        self.staggered: StaggeredStart | None = None
        """The shards' start in the background (clusters the run starts itself, several of them)."""
        self._assigned: dict[str, str] = {}
        """xdist worker id → the shard it was given (staggered start)."""
        self._finished_workers: set[str] = set()
        self._early_cleanups: dict[str, Future[Cleanup | None]] = {}
        self._early_pool: ThreadPoolExecutor | None = None
        self._teardown: Future[list[tuple[ConformanceRun, BaseException | None]]] | None = None
        """The shards' teardown begun while the reports are written (`begin_teardown`)."""

    @property
    def implementation(self) -> Implementation:
        return self.primary.implementation

    @property
    def provider_choice(self) -> tuple[ProviderName, str] | None:
        return self.primary.provider_choice

    def start(self) -> list[RunContext]:
        """Choose the provider once, plan the shards, start every shard; ClusterError naming the shard.
        Several clusters the run starts itself are started in the background instead (`staggered`):
        then [] is returned and `wait_first_ready` gives the first shard that is ready."""
        choice = self.primary.choose_provider()
        plan = self.plan = plan_shards(
            self.requested,
            workers=self.workers,
            provider=choice[0],
            kubeconfigs=len(self.options.kubeconfigs),
        )
        if plan.count == 1:
            with self.clock.phase("cluster up"):
                self.primary.bring_up(choice)
            with self.clock.phase("readiness"):
                self.contexts = [self.primary.check_ready()]
            return self.contexts
        self.console.print(f"clusters: [bold]{plan.count}[/bold] ({plan.why})")
        quiet = make_console(
            file=cast(IO[str], self.start_output), force_interactive=False
        )  # no live spinners
        self.runs = [
            ConformanceRun(self.options.for_shard(index, shard_name(index, plan.count)), console=quiet)
            for index in range(plan.count)
        ]
        self.primary = self.runs[0]
        if choice[0] not in GIVEN_CLUSTERS:  # clusters the run starts: a few at a time, tests as each is up
            self.staggered = StaggeredStart(
                self.runs, choice, run_dir=self.options.run_dir, at_once=start_at_once(), console=quiet
            )
            self.staggered.begin()
            return []
        with self.clock.phase("clusters up"):
            started = self._each(lambda run: self._start_shard(run, choice))
        failed = [
            f"{run.options.shard}: {error or type(error).__name__}"
            for run, error in started
            if isinstance(error, BaseException)
        ]
        if failed:
            raise ClusterError(f"{len(failed)} of {plan.count} shards did not start: " + "; ".join(failed))
        if choice[0] in GIVEN_CLUSTERS:
            self._refuse_one_cluster_twice()
        contexts = []
        with self.clock.phase("readiness"):  # every shard at once: readiness reports no Allure step
            checked = self._each(lambda run: run.check_ready())
        for run, result in checked:
            if isinstance(result, ClusterError | WaitTimeout):
                where = f"{run.options.shard} ({run.cluster.name})"
                raise ClusterError(f"{where} is not ready: {result}") from result
            if isinstance(result, BaseException):
                raise result
            contexts.append(result)
        self.contexts = contexts
        return self.contexts

    def _refuse_one_cluster_twice(self) -> None:
        """Given clusters must be distinct: said once they answer, before readiness changes anything."""
        identities = self._each(lambda run: kube_system_uid(run.cluster))
        problems = one_cluster_twice(
            [(run.options.shard, run.cluster, uid if isinstance(uid, str) else "") for run, uid in identities]
        )
        if problems:
            raise ShardPlanError(
                "; ".join(problems) + ": two shards on one cluster would share its eci-profile and the "
                "report would certify it twice; pass each cluster's kubeconfig once"
            )

    def _start_shard(self, run: ConformanceRun, choice: tuple[ProviderName, str]) -> None:
        self.console.print(f"{run.options.shard}: starting")
        run.bring_up(choice)
        self.console.print(f"{run.options.shard}: cluster and implementation up")

    def _each(self, work: Callable[[ConformanceRun], T]) -> list[tuple[ConformanceRun, T | BaseException]]:
        """`work` on every shard at once; each shard's result or the exception it raised, in shard order.
        One shard runs in the calling thread, so Ctrl-C interrupts it exactly as an unsharded run."""
        if len(self.runs) == 1:
            return [(self.runs[0], work(self.runs[0]))]

        def guarded(run: ConformanceRun) -> T | BaseException:
            try:
                return work(run)
            except Exception as error:
                return error

        with ThreadPoolExecutor(max_workers=len(self.runs), thread_name_prefix="shard") as pool:
            results = list(pool.map(guarded, self.runs))
        return list(zip(self.runs, results, strict=True))

    def context_for_worker(self, worker_id: str) -> RunContext:
        """xdist worker `gwK` runs on shard K mod N, so the workers spread evenly over the shards."""
        return self.contexts[_worker_index(worker_id) % len(self.contexts)]

    def shard_for_worker(self, worker_id: str) -> str:
        """The shard a worker is given when shards start in the background (same rule, by name)."""
        shard = self.runs[_worker_index(worker_id) % len(self.runs)].options.shard
        self._assigned[worker_id] = shard
        return shard

    @property
    def shard_names(self) -> list[str]:
        return [run.options.shard for run in self.runs]

    def wait_first_ready(self) -> RunContext:
        """The first shard ready (staggered start); ClusterError naming every shard when none started.
        The clusters' start is timed from here: the first shard's readiness and every shard's."""
        assert self.staggered is not None
        try:
            first = self.staggered.wait_first_ready()
        finally:
            self.start_output.hold()  # pytest's progress line begins: the other shards' lines wait
        self.clock.phases.append((FIRST_READY, self.staggered.first_ready_seconds or 0.0))
        return first

    def finish_starting(self) -> None:
        """Once the tests are over: wait for any start still in flight; the ready shards become
        `contexts` (what the report lists), the ones that failed `not_started`."""
        if self.staggered is None or self.contexts:
            return
        self.staggered.finish()
        self.start_output.release()
        self.contexts = self.staggered.contexts()
        names = [name for name, _ in self.clock.phases]
        at = names.index(FIRST_READY) + 1 if FIRST_READY in names else len(names)
        self.clock.phases.insert(
            at, ("every shard up (tests meanwhile)", self.staggered.all_done_seconds or 0.0)
        )

    @property
    def not_started(self) -> dict[str, str]:
        """Shards that did not start while others ran the tests: shard → why."""
        return dict(self.staggered.failures) if self.staggered is not None else {}

    def worker_finished(self, worker_id: str) -> None:
        """A worker is done: once every worker given its shard is, that shard's cleanup starts now,
        beside the other shards' last tests (it waits for the shard's namespaces to go). Not when a
        shard failed to start: its workers may have run anywhere."""
        self._finished_workers.add(worker_id)
        shard = self._assigned.get(worker_id)
        if shard is None or self.not_started or shard in self._early_cleanups:
            return
        if any(
            given == shard and worker not in self._finished_workers
            for worker, given in self._assigned.items()
        ):
            return
        run = next((run for run in self.runs if run.options.shard == shard), None)
        if run is None or run.context is None:
            return
        if self._early_pool is None:
            self._early_pool = ThreadPoolExecutor(max_workers=len(self.runs), thread_name_prefix="cleanup")
        self._early_cleanups[shard] = self._early_pool.submit(run.clean_up)

    def clean_up(self) -> Cleanup | None:
        """Every shard's cleanup, as one: the profile restored only where every shard's was, not known
        where one shard's is not (its cluster went away, or its cleanup raised: said, never a crash that
        loses the other shards' results); each object left behind names its shard."""
        self.finish_starting()
        if len(self.runs) == 1:
            with self.clock.phase("cleanup"):
                return self.runs[0].clean_up()
        with self.clock.phase("cleanup"):
            cleanups = self._each(self._clean_up_shard)
        found = [(run, c) for run, c in cleanups if isinstance(c, Cleanup)]
        unknown = [(run, c) for run, c in cleanups if not isinstance(c, Cleanup) and run.context is not None]
        for run, c in unknown:
            why = f": {c}" if isinstance(c, BaseException) else " (its cluster did not answer)"
            self.console.print(
                f"[yellow]{run.options.shard}: what the run left in its cluster is not known{why}",
                highlight=False,
                soft_wrap=True,
            )
        if not found:
            return None
        restored = [c.profile_restored for _, c in found] + [None for _ in unknown]
        return Cleanup(
            profile_restored=False if False in restored else (None if None in restored else True),
            left_behind=[
                left.model_copy(update={"detail": f"{run.options.shard}: {left.detail}"})
                for run, cleanup in found
                for left in cleanup.left_behind
            ],
            settle_seconds=max(c.settle_seconds for _, c in found),
        )

    def _clean_up_shard(self, run: ConformanceRun) -> Cleanup | None:
        """A shard's cleanup: the one begun when its workers finished, or now."""
        early = self._early_cleanups.pop(run.options.shard, None)
        return early.result() if early is not None else run.clean_up()

    def observe_implementation_down(self, *, interrupted: bool) -> list[RunObservation]:
        """Each shard's observation, its shard named; a shard whose observation raised is "not observed"
        with the error, so the others' still count."""
        with self.clock.phase("implementation-down observation"):
            seen = self._each(lambda run: run.observe_implementation_down(interrupted=interrupted))
        observations = []
        for run, seen_here in seen:
            if isinstance(seen_here, BaseException):
                seen_here = RunObservation(  # noqa: PLW2901
                    id=DOWN_OBSERVATION_ID,
                    question=DOWN_QUESTION,
                    answer="not observed",
                    detail=f"the observation failed: {seen_here}",
                )
            if seen_here is None:
                continue
            if len(self.runs) > 1:
                detail = f"{run.options.shard}: {seen_here.detail}"
                seen_here = seen_here.model_copy(update={"detail": detail})  # noqa: PLW2901
            observations.append(seen_here)
        return observations

    def begin_teardown(self) -> None:
        """Begin tearing every shard down in the background, once nothing more is read from the clusters
        (after the implementation-down observation and the fingerprint): deleting kind clusters takes
        7 to 12 s, which then passes while the reports are written. `stop` waits for it; a background
        thread is not interrupted by Ctrl-C, and the interpreter waits for it before it exits."""
        if self._teardown is not None:
            return
        self._before_teardown()
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="teardown")
        self._teardown = pool.submit(self._each, lambda run: run.stop())
        pool.shutdown(wait=False)

    def stop(self) -> None:
        """Tear every shard down, each whatever happened to the others (a start still in flight ends
        first; one not begun yet never begins); or wait for the teardown `begin_teardown` began."""
        self._before_teardown()
        with self.clock.phase("teardown"):
            stopped = (
                self._teardown.result() if self._teardown is not None else self._each(lambda run: run.stop())
            )
        errors = [error for _, error in stopped if isinstance(error, BaseException)]
        if errors:
            raise errors[0]

    def _before_teardown(self) -> None:
        if self.staggered is not None:
            self.staggered.finish()
            self.start_output.release()
        if self._early_pool is not None:
            self._early_pool.shutdown(wait=True)
