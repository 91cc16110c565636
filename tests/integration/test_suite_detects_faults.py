"""The suite fails where the implementation is wrong — and says so in the report.

The first test runs CI's always-on subset of the mutation matrix (tests/mutation, docs/mutation.md) on
the shared local cluster: each mutant is the reference implementation with one deliberate defect, and
the conformance report must mark exactly the requirement the defect breaks as *failed* (not broken: the
implementation does not conform; the suite did not break) while its control requirements pass. The
last test stops the implementation and checks that the run ends at once, naming the webhook, instead of
hanging or timing out test by test.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from tests.mutation.matrix import plan, run_matrix

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
