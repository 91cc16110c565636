"""One matrix entry: start the (mutated) implementation beside the cluster, run the selected tests
against it with ``--cluster existing``, stop it, and read what the conformance report says.

The implementation file is reference.yaml with its project renamed and ``install.local.command``
pointing at tests/mutation/run_implementation.py, so the harness starts it exactly as it starts the
reference (free port, workdir, readiness URL, recorded process), and the suite sees it through the
same observation contract.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vnode_harness.formats.implementation import load_implementation
from vnode_harness.providers.local.implementation import start_local_implementation
from vnode_harness.run_context import ClusterHandle

REPO = Path(__file__).resolve().parents[2]
RUN_IMPLEMENTATION = Path(__file__).resolve().parent / "run_implementation.py"
REFERENCE = REPO / "implementations" / "reference.yaml"
EXIT_NOT_READY = 3
"""The plugin's exit code when the run stopped at readiness (vnode_harness.plugin.pytest_plugin)."""
EXIT_TIMED_OUT = -1


@dataclass(frozen=True)
class RunResult:
    """What one suite run against one implementation showed."""

    exit_code: int
    outcomes: dict[str, str] = field(default_factory=dict)
    """Requirement id -> result in the run's conformance report (empty when no report was written)."""
    seconds: float = 0.0
    output_tail: str = ""
    report: Path | None = None
    aborted: str = ""
    """Why the run stopped before the tests (the report's ``aborted``, e.g. the readiness gate)."""


def implementation_file(name: str, directory: Path) -> Path:
    """reference.yaml, renamed and started through run_implementation.py NAME."""
    data = yaml.safe_load(REFERENCE.read_text())
    data["metadata"]["project"] = f"eci-reference-{name}"
    data["install"]["local"]["command"] = [
        "{python}", str(RUN_IMPLEMENTATION), name,
        "--kubeconfig", "{kubeconfig}", "--listen", "127.0.0.1:{port}", "--workdir", "{workdir}",
    ]  # fmt: skip
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run_suite(
    name: str,
    cluster: ClusterHandle,
    selection: Sequence[str],
    reports_dir: Path,
    timeout: float,
    *,
    workers: str = "0",
    extra_args: Sequence[str] = (),
) -> RunResult:
    """Start implementation NAME, run pytest on ``selection`` (node ids, or ["conformance"]) with
    ``-n workers`` and ``extra_args`` (a self-test's plugin, tests/integration/isolation_gate.py), stop it."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    file = implementation_file(name, reports_dir)
    workdir = Path(tempfile.mkdtemp(prefix=f"vnode-mutant-{name}-"))
    started_at = time.monotonic()
    started = start_local_implementation(load_implementation(file), cluster, workdir)
    try:
        exit_code = _pytest(
            [*selection, "-n", workers, "--cluster", "existing", "--kubeconfig", str(cluster.kubeconfig),
             "--implementation", str(file), "--implementation-pid", str(started.process.pid),
             "--reports-dir", str(reports_dir), *extra_args],
            reports_dir, timeout,
        )  # fmt: skip
    finally:
        started.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return _result(exit_code, reports_dir, time.monotonic() - started_at)


def run_suite_on_shards(name: str, selection: Sequence[str], reports_dir: Path, timeout: float) -> RunResult:
    """Run pytest on ``selection`` in the suite's default parallel mode (``-n auto --cluster local``):
    the suite starts its own local clusters, one instance of implementation NAME on each, as a user's
    run does; the matrix's verdicts in this mode must equal those of ``run_suite`` (issue 23)."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    file = implementation_file(name, reports_dir)
    started_at = time.monotonic()
    exit_code = _pytest(
        [*selection, "-n", "auto", "--cluster", "local", "--implementation", str(file),
         "--reports-dir", str(reports_dir)],
        reports_dir, timeout,
    )  # fmt: skip
    return _result(exit_code, reports_dir, time.monotonic() - started_at)


def _pytest(arguments: Sequence[str], reports_dir: Path, timeout: float) -> int:
    """Run the suite with ``arguments``, its output to reports_dir/pytest.log; its exit code.

    The suite runs in its own session, and a Ctrl-C (or SIGINT) of the matrix is passed on to it once,
    then waited for: the suite tears down its clusters and restores the profile itself. subprocess.run
    would SIGKILL it 0.25 s after the interrupt and leave its clusters running."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *arguments]
    with (reports_dir / "pytest.log").open("w") as log:
        suite = subprocess.Popen(
            command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            return suite.wait(timeout=timeout)
        except subprocess.TimeoutExpired:  # killed; whatever report it wrote is incomplete
            _kill(suite)
            log.write(f"\nmatrix: the run exceeded {timeout:.0f} s and was killed\n")
            return EXIT_TIMED_OUT
        except KeyboardInterrupt:
            interrupt_and_wait(suite, INTERRUPTED_TEARDOWN_SECONDS)
            raise


INTERRUPTED_TEARDOWN_SECONDS = 300.0
"""How long an interrupted suite run may take to tear its clusters down before it is killed."""


def interrupt_and_wait(suite: subprocess.Popen[bytes], seconds: float) -> None:
    """SIGINT to the suite (as a terminal's Ctrl-C would), then wait for its teardown; a second Ctrl-C,
    or a teardown longer than ``seconds``, kills it."""
    if suite.poll() is not None:
        return
    print(f"matrix: interrupted; the suite run (pid {suite.pid}) is tearing down", file=sys.stderr)
    suite.send_signal(signal.SIGINT)
    try:
        suite.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        _kill(suite)
        print(
            f"matrix: the suite run did not tear down within {seconds:.0f} s and was killed", file=sys.stderr
        )
    except KeyboardInterrupt:
        _kill(suite)
        raise


def _kill(suite: subprocess.Popen[bytes]) -> None:
    suite.kill()
    suite.wait()


def _result(exit_code: int, reports_dir: Path, seconds: float) -> RunResult:
    """What the run's conformance report says, with the tail of its output."""
    tail = "\n".join((reports_dir / "pytest.log").read_text(errors="replace").splitlines()[-40:])
    report = _latest_report(reports_dir)
    data: dict[str, Any] = (yaml.safe_load(report.read_text()) or {}) if report else {}
    outcomes = {str(entry["id"]): str(entry["result"]) for entry in data.get("requirements", [])}
    return RunResult(exit_code, outcomes, seconds, tail, report, str(data.get("aborted") or ""))


def _latest_report(reports_dir: Path) -> Path | None:
    found = sorted(reports_dir.glob("runs/*/conformance-report.yaml"))
    return found[-1] if found else None
