"""The informative observation "while the implementation is down": on the local provider the harness
stops the implementation it started, after the tests, and shows what became of an ECI-labelled pod. The
reference implementation's webhook has failurePolicy Fail, so the pod is refused; the verdict is the
same as without the observation (it is never certified)."""

from __future__ import annotations

import subprocess
import sys

import yaml

from tests.faults.scenario import REPO, RUN_TIMEOUT_SECONDS

ONE_TEST = "test_pod_label_runs_pod_on_virtual_node"


def test_local_run_observes_the_reference_refusing_pods_while_down(tmp_path):
    reports = tmp_path / "reports"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider", "-n", "0", "-q",
         "--cluster", "local", "--reports-dir", str(reports), "-k", ONE_TEST],
        cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS, check=False,
    )  # fmt: skip
    output = result.stdout[-3000:] + result.stderr[-3000:]
    assert result.returncode == 0, output
    (run_dir,) = (reports / "runs").iterdir()
    report = yaml.safe_load((run_dir / "conformance-report.yaml").read_text())
    (observation,) = report["observations"]
    assert observation["id"] == "implementation-down"
    assert observation["answer"] == "refused", observation
    assert "vk-webhook" in observation["detail"], observation
    assert report["totals"]["passed"] == 1
    markdown = (run_dir / "conformance-report.md").read_text()
    assert "## Observations (informative, not certified)" in markdown
    assert "| **refused** |" in markdown
