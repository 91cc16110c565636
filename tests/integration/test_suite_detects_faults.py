"""The suite fails where the implementation is wrong — and says so in the report.

Each case runs part of the conformance suite, on its own local cluster, against the reference
implementation with one deliberate defect (tests/integration/mutants/run_mutant.py), and checks that
the conformance report marks exactly the requirement the defect breaks as *failed* (not broken: the
implementation does not conform; the suite did not break). The last case stops the implementation and
checks that the run ends at once, naming the webhook, instead of hanging or timing out test by test.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
RUN_MUTANT = Path(__file__).parent / "mutants" / "run_mutant.py"


def mutant_implementation(tmp_path: Path, mutant: str) -> Path:
    reference = yaml.safe_load((REPO / "implementations" / "reference.yaml").read_text())
    reference["metadata"]["project"] = f"eci-reference-mutant-{mutant}"
    reference["install"]["local"]["command"] = [
        "{python}", str(RUN_MUTANT), mutant,
        "--kubeconfig", "{kubeconfig}", "--listen", "127.0.0.1:{port}", "--workdir", "{workdir}",
    ]  # fmt: skip
    path = tmp_path / f"{mutant}.yaml"
    path.write_text(yaml.safe_dump(reference))
    return path


def run_suite(tmp_path: Path, implementation: Path, selection: str) -> tuple[int, dict, str]:
    reports = tmp_path / "reports"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider", "-n", "0", "-q",
         "--cluster", "local",  # the mutant is a host process; `auto` may pick kind where Docker runs
         "--implementation", str(implementation), "--reports-dir", str(reports), "-k", selection],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    found = sorted(reports.glob("runs/*/conformance-report.yaml"))
    report = yaml.safe_load(found[-1].read_text()) if found else {}
    return result.returncode, report, result.stderr + result.stdout  # the closing line last


def requirement_outcomes(report: dict) -> dict[str, str]:
    return {entry["id"]: entry["result"] for entry in report.get("requirements", [])}


@pytest.mark.parametrize(
    ("mutant", "selection", "broken_requirement", "intact_requirement"),
    [
        (
            "last-effect-wins",
            "first_matching_selector_wins or effect_annotations_are_injected",
            "EFF-ORDER",
            "EFF-ANNOTATIONS",
        ),
        (
            "namespace-label-ignored",
            "namespace_label_runs_every_pod or pod_label_runs_pod",
            "SCHED-NS-LABEL",
            "SCHED-POD-LABEL",
        ),
        (
            "no-parameter-defaults",
            "profile_values_are_defaults or effect_labels_are_injected",
            "PARAM-DEFAULTS",
            "EFF-LABELS",
        ),
    ],
)
def test_defect_fails_exactly_its_requirement(
    tmp_path, mutant, selection, broken_requirement, intact_requirement
):
    code, report, output = run_suite(tmp_path, mutant_implementation(tmp_path, mutant), selection)
    outcomes = requirement_outcomes(report)
    assert code == 1, output[-3000:]
    assert outcomes.get(broken_requirement) == "failed", (outcomes, output[-3000:])
    assert outcomes.get(intact_requirement) == "passed", (outcomes, output[-3000:])
    assert "1 passed, 1 failed" in output.splitlines()[-1]


def test_implementation_down_fails_the_run_at_once_naming_the_webhook(tmp_path):
    from rich.console import Console

    from vnode_harness.implementation import load_implementation
    from vnode_harness.install_local import start_local_implementation
    from vnode_harness.providers.local.cluster import LocalCluster

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
