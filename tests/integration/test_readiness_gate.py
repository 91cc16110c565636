"""The readiness gate judges no documented behaviour: an implementation that does not route by the pod
label (a real third-party implementation does exactly that) gets per-requirement verdicts and exit 1 —
SCHED-POD-LABEL failed with the cause, the rules it does meet passed — never "the cluster is not ready"."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml
from rich.console import Console

from tests.mutation.runner import run_suite
from vnode_harness.providers.local.cluster import LocalCluster
from vnode_harness.run_context import ClusterHandle

NOT_ROUTING_BY_LABEL = "pod-label-ignored"


@pytest.fixture
def own_cluster(tmp_path) -> Iterator[ClusterHandle]:
    """A cluster of its own: the mutant leaves its webhook configuration behind when it stops."""
    cluster = LocalCluster(logs_dir=tmp_path / "cluster", console=Console(stderr=True, quiet=True))
    try:
        yield cluster.up()
    finally:
        cluster.down()


@pytest.mark.integration
def test_an_implementation_that_ignores_the_pod_label_gets_verdicts_not_a_readiness_stop(
    tmp_path, own_cluster
):
    run = run_suite(
        NOT_ROUTING_BY_LABEL, own_cluster, ["conformance/test_scheduling.py"], tmp_path, timeout=900
    )
    assert not run.aborted, f"the run stopped before its tests: {run.aborted}\n{run.output_tail}"
    assert run.exit_code == 1, run.output_tail
    assert run.outcomes["SCHED-POD-LABEL"] == "failed", run.outcomes
    assert run.outcomes["SCHED-NS-LABEL"] == "passed", run.outcomes
    assert run.outcomes["SCHED-NOT-TRUE"] == "passed", run.outcomes
    assert (
        "does not run on a virtual node" in run.output_tail
        or "known before the tests" in (tmp_path / "pytest.log").read_text()
    ), run.output_tail
    assert run.report is not None
    report = yaml.safe_load(run.report.read_text())
    assert report["result"] == "failure"
