"""A run that ends before its tests (the cluster is not ready) still leaves a verdict: a not-tested
report with the cause, and a bundle that verifies."""

from __future__ import annotations

import re
import subprocess
import sys

import yaml

from vnode_harness.formats.paths import REPO_ROOT
from vnode_harness.report.verify import verify

REPO = REPO_ROOT


def test_a_run_whose_cluster_is_not_ready_writes_its_report(tmp_path):
    missing = tmp_path / "no-such-kubeconfig"
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", "conformance/test_scheduling.py", "-p", "no:cacheprovider", "-q",
            "--cluster", "existing", "--kubeconfig", str(missing), "--reports-dir", str(tmp_path / "reports"),
        ],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 3, result.stdout + result.stderr
    run_dir = (tmp_path / "reports" / "latest").resolve()
    report = yaml.safe_load((run_dir / "conformance-report.yaml").read_text())
    assert report["result"] == "not-tested"
    assert report["tests"] == []
    assert report["clusterProvider"] == "existing"
    assert report["aborted"].startswith("the cluster is not ready, no test was run: ")
    assert str(missing) in report["aborted"]
    assert {r["result"] for r in report["requirements"]} == {"not-tested"}
    markdown = (run_dir / "conformance-report.md").read_text()
    assert "**The run ended before any test ran.** Cause:" in markdown
    verification = verify(run_dir / "bundle.tar.gz")
    assert verification.problems == []
    assert any("ended before any test ran" in note for note in verification.notes)
    last = result.stdout.splitlines()[-1]
    assert (
        last
        == f"result: NOT-TESTED — the run ended before any test ran (report: {run_dir}/conformance-report.md)"
    )
    assert re.search(
        r"^evidence bundle: \S+ \(check it with: vnode report verify \S+bundle\.tar\.gz\)$",
        result.stderr,
        re.MULTILINE,
    ), f"a line of the piped output was wrapped:\n{result.stderr}"


def test_a_run_that_ends_before_auto_chose_a_provider_says_auto_not_local(tmp_path):
    """The report names no provider the run never chose (it used to say `local`)."""
    from types import SimpleNamespace

    from vnode_harness.formats.implementation import load_implementation
    from vnode_harness.plugin.run_reports import write_unstarted_run

    option = SimpleNamespace(keyword="", markexpr="", deselect=[], lf=False)
    config = SimpleNamespace(
        getoption=lambda name: {"cluster": "auto"}[name],
        option=option,
        args=[str(REPO / "conformance")],
        invocation_params=SimpleNamespace(dir=REPO, args=("conformance",)),
    )
    implementation_file = REPO / "implementations" / "reference.yaml"
    run = SimpleNamespace(
        provider_choice=None,
        implementation=load_implementation(implementation_file),
        options=SimpleNamespace(implementation_file=implementation_file, run_dir=tmp_path / "run"),
    )
    (tmp_path / "run").mkdir()
    write_unstarted_run(config, run, "docker check crashed")  # type: ignore[arg-type]
    report = yaml.safe_load((tmp_path / "run" / "conformance-report.yaml").read_text())
    assert report["clusterProvider"] == "auto"
    assert report["result"] == "not-tested"
