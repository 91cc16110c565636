"""The suite fails where the implementation is wrong — and says so in the report.

The first test runs CI's always-on subset of the mutation matrix (tests/mutation, docs/mutation.md) on
the shared local cluster: each mutant is the reference implementation with one deliberate defect, and
the conformance report must mark exactly the requirement the defect breaks as *failed* (not broken: the
implementation does not conform; the suite did not break) while its control requirements pass. The
next test stops the implementation and checks that the run ends at once, naming the webhook, instead of
hanging or timing out test by test. The last kills one shard's API server in a run on two local
clusters: that shard's tests end broken naming it, the other shard's pass (docs/faults.md).
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from tests.faults.scenario import (
    processes_mentioning,
    shard_kubeconfig,
    start_sharded_suite,
    when_tests_started,
)
from tests.mutation.matrix import plan, run_matrix
from vnode_harness.faults.apiserver import kill_apiserver
from vnode_harness.plumbing.kube import api_client

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def test_every_mutant_of_the_fast_subset_fails_exactly_its_requirement(tmp_path, local_cluster):
    entries = plan([], fast=True)
    summary, ok = run_matrix(
        entries, full=False, report_dir=tmp_path, console=Console(stderr=True), cluster=local_cluster
    )
    verdicts = {r.name: (r.verdict, r.why) for r in summary.results}
    assert [entry.kind for entry in entries] == ["mutant"] * len(entries)
    assert ok, verdicts
    assert summary.killed == len(entries), verdicts


def test_implementation_down_fails_the_run_at_once_naming_the_webhook(tmp_path):
    from rich.console import Console

    from vnode_harness.formats.implementation import load_implementation
    from vnode_harness.providers.local.cluster import LocalCluster
    from vnode_harness.providers.local.implementation import start_local_implementation

    cluster = LocalCluster(logs_dir=tmp_path / "cluster", console=Console(stderr=True, quiet=True))
    handle = cluster.up()
    try:
        implementation = load_implementation(REPO / "implementations" / "reference.yaml")
        started = start_local_implementation(implementation, handle, tmp_path / "impl")
        started.stop()  # vk-webhook stays configured, with nothing answering it
        reports = tmp_path / "reports"
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider", "-n", "0", "-q",
             "--cluster", "existing", "--kubeconfig", str(handle.kubeconfig), "--reports-dir", str(reports)],
            cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    finally:
        cluster.down()
    output = result.stdout + result.stderr
    assert result.returncode == 3, output[-3000:]
    assert "no test was run" in output
    assert "vk-webhook" in output


DOES_NOT_ROUTE = (
    "test_namespace_label_other_than_true_does_not_route or test_pod_label_other_than_true_does_not_route"
)
"""16 short cases (about a second each) of one file: enough for both shards' workers to run several."""


def test_a_shard_whose_api_server_dies_breaks_its_own_tests_only(tmp_path):
    name = f"sf{os.getpid()}"
    started = time.monotonic()
    run = start_sharded_suite(tmp_path / "reports", cluster_name=name, select=DOES_NOT_ROUTE)
    try:
        kubeconfig = shard_kubeconfig(run, name, "shard-2")
        with api_client(kubeconfig, "fault-scenario") as api:
            when_tests_started(api, run)
        killed = kill_apiserver(kubeconfig)
        exit_code = run.wait()
    finally:
        if run.process.poll() is None:
            run.signal(15)
            run.wait()
    seconds = time.monotonic() - started
    report = run.report()
    by_shard: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)
    for test in report["tests"]:
        by_shard[test["shard"]].append((test["outcome"], test.get("reason") or ""))
    counts = {shard: collections.Counter(o for o, _ in tests) for shard, tests in by_shard.items()}
    print(f"{seconds:.0f} s; verdicts per shard: {counts}")
    assert exit_code not in (0, 3), run.output()
    assert [shard["name"] for shard in report["shards"]] == ["shard-1", "shard-2"]
    assert by_shard["shard-1"], counts
    assert {o for o, _ in by_shard["shard-1"]} == {"passed"}, counts
    not_passed = [(o, reason) for o, reason in by_shard["shard-2"] if o != "passed"]
    assert not_passed, counts
    assert all(o == "broken" for o, _ in not_passed), not_passed
    cause = f"shard-2: kube-apiserver (pid {killed}) is no longer running"
    assert all(cause in reason for _, reason in not_passed), not_passed
    assert report["cleanup"]["profileRestored"] is None, report["cleanup"]
    observed = {o["detail"].split(":")[0]: o["answer"] for o in report["observations"]}
    assert observed == {"shard-1": "refused", "shard-2": "not observed"}, report["observations"]
    assert "shard-2: what the run left in its cluster is not known" in run.log.read_text(errors="replace")
    assert not processes_mentioning(name), processes_mentioning(name)


def test_a_shard_that_does_not_start_leaves_its_tests_to_the_other_and_the_report_names_it(tmp_path):
    """The reference implementation, refusing to start on shard-2's cluster (its kubeconfig's path names
    the shard): shard-2 does not start, its worker runs on shard-1, every test passes there, the report
    and `vnode report verify` say which shard did not start and why, and nothing is left running."""
    name = f"ns{os.getpid()}"
    reference = yaml.safe_load((REPO / "implementations" / "reference.yaml").read_text())
    refuse = "case '{kubeconfig}' in *-shard-2/*) echo 'refusing shard-2' >&2; exit 3;; esac; exec \"$@\""
    reference["install"]["local"]["command"] = [
        "sh",
        "-c",
        refuse,
        "sh",
        *reference["install"]["local"]["command"],
    ]
    implementation = tmp_path / "refuses-shard-2.yaml"
    implementation.write_text(yaml.safe_dump(reference))
    run = start_sharded_suite(
        tmp_path / "reports",
        cluster_name=name,
        select=DOES_NOT_ROUTE,
        extra=["--implementation", str(implementation)],
    )
    try:
        exit_code = run.wait()
    finally:
        if run.process.poll() is None:
            run.signal(15)
            run.wait()
    report = run.report()
    assert exit_code == 0, run.output()
    shards = {shard["name"]: shard for shard in report["shards"]}
    assert sorted(shards) == ["shard-1", "shard-2"], report["shards"]
    assert shards["shard-1"].get("notStarted") is None
    assert "refusing shard-2" in shards["shard-2"]["notStarted"], shards["shard-2"]
    assert {test["shard"] for test in report["tests"]} == {"shard-1"}
    assert {test["outcome"] for test in report["tests"]} == {"passed"}
    assert run.run_dir is not None
    assert "Shard shard-2 did not start" in (run.run_dir / "conformance-report.md").read_text()
    bundle = str(run.run_dir / "bundle.tar.gz")
    verified = subprocess.run(
        [sys.executable, "-m", "vnode_harness.cli.main", "report", "verify", bundle],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert not processes_mentioning(name), processes_mentioning(name)
