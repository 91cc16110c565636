"""One full conformance run against the soak's cluster, as a vendor runs it (`--cluster existing`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from vnode_harness.report.model import ConformanceReport

from .host_processes import MARKER_VARIABLE


@dataclass(frozen=True)
class Target:
    """The cluster every run of a soak certifies."""

    provider: str
    kubeconfig: Path
    implementation: Path
    implementation_pid: int | None = None
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SuiteRun:
    exit_code: int
    seconds: float
    run_id: str | None
    """The run directory's name: the value of the run label on everything the run created."""
    verdicts: dict[str, str]
    """nodeid → outcome (passed, failed, broken, skipped) from the run's conformance report."""
    result: str
    log: Path


def suite_command(target: Target, reports_dir: Path, workers: str, extra: list[str]) -> list[str]:
    command = [
        sys.executable, "-m", "pytest", "conformance", "-q", "-p", "no:cacheprovider", "-n", workers,
        "--cluster", "existing", "--kubeconfig", str(target.kubeconfig),
        "--implementation", str(target.implementation), "--reports-dir", str(reports_dir),
    ]  # fmt: skip
    if target.implementation_pid is not None:
        command += ["--implementation-pid", str(target.implementation_pid)]
    return command + extra


def run_suite(
    target: Target, repo: Path, reports_dir: Path, *, marker: str, workers: str, extra: list[str]
) -> SuiteRun:
    """Run the suite once; its output goes to `reports_dir/pytest.log`, its report is read back."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    log = reports_dir / "pytest.log"
    env = {**os.environ, **target.env, MARKER_VARIABLE: marker}
    started = time.monotonic()
    with log.open("wb") as output:
        code = subprocess.run(
            suite_command(target, reports_dir, workers, extra),
            cwd=repo,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            check=False,
        ).returncode
    seconds = round(time.monotonic() - started, 1)
    runs = sorted((reports_dir / "runs").glob("*/conformance-report.yaml"))
    if not runs:
        return SuiteRun(code, seconds, None, {}, f"no report (exit {code})", log)
    report = ConformanceReport.model_validate(yaml.safe_load(runs[-1].read_text()))
    totals = report.totals
    result = (
        f"{report.result}: {totals.passed} passed, {totals.failed} failed, {totals.broken} broken, "
        f"{totals.skipped} skipped"
    )
    verdicts: dict[str, str] = {test.nodeid: test.outcome for test in report.tests}
    return SuiteRun(code, seconds, runs[-1].parent.name, verdicts, result, log)
