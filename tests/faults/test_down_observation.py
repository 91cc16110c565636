"""The informative observation "while the implementation is down": where the harness started the
implementation (a host process on local; installed in a kind cluster it deletes afterwards) it stops it
after the tests and shows what became of an ECI-labelled pod. The reference implementation's webhook has
failurePolicy Fail, so the pod is refused; the verdict is the same as without the observation (it is
never certified)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from tests.faults.scenario import REPO, RUN_TIMEOUT_SECONDS

ONE_TEST = "test_pod_label_runs_pod_on_virtual_node"


@pytest.mark.parametrize(
    ("cluster", "stopped"),
    [
        ("local", "the harness stopped the implementation (pid "),
        pytest.param(
            "kind",
            "the harness stopped the implementation: Deployment kube-system/eci-reference scaled to 0",
            marks=pytest.mark.kind,
        ),
    ],
)
def test_run_observes_the_reference_refusing_pods_while_down(cluster, stopped, tmp_path):
    reports = tmp_path / "reports"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider", "-n", "0", "-q",
         "--cluster", cluster, "--reports-dir", str(reports), "-k", ONE_TEST],
        cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS, check=False,
    )  # fmt: skip
    output = result.stdout[-3000:] + result.stderr[-3000:]
    assert result.returncode == 0, output
    (run_dir,) = (reports / "runs").iterdir()
    report = yaml.safe_load((run_dir / "conformance-report.yaml").read_text())
    (observation,) = report["observations"]
    assert observation["id"] == "implementation-down"
    assert observation["answer"] == "refused", observation
    assert stopped in observation["detail"], observation
    assert "vk-webhook" in observation["detail"], observation
    assert report["totals"]["passed"] == 1
    markdown = (run_dir / "conformance-report.md").read_text()
    assert "## Observations (informative, not certified)" in markdown
    assert "| **refused** |" in markdown
