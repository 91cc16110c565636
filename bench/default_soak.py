"""Soak of the default run: the README's `tox -e conformance -- --cluster local` command, several times.

The other soak (bench/soak) runs the suite again and again against one long-lived cluster, as a vendor
would. This one runs what a release engineer runs: each run starts its own shards (`--clusters auto`,
`-n auto`), so what it proves is that the sharded default gives the same verdicts every time, restores
every shard's eci-profile and leaves no object, cluster process or cluster directory behind.

    python bench/run.py default-soak --runs 5
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml


def _cluster_processes() -> list[str]:
    """Host processes of local clusters (their command lines name the clusters' directory)."""
    found = subprocess.run(["pgrep", "-af", "vnode-clusters-"], capture_output=True, text=True, check=False)
    return [line for line in found.stdout.splitlines() if "pgrep" not in line]


def _clusters_rss_mib() -> float:
    """Resident memory of every local cluster's processes and the implementations beside them."""
    total_kib = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes()
            if b"vnode-clusters-" not in argv and b"eci_reference" not in argv:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
        except OSError:
            continue
    return total_kib / 1024


class PeakMemory(threading.Thread):
    """Samples the clusters' resident memory every second while a run goes on; `peak_mib` the most."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_mib = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(1.0):
            self.peak_mib = max(self.peak_mib, _clusters_rss_mib())


def _one_run(repo: Path, reports: Path) -> dict[str, Any]:
    started = time.monotonic()
    memory = PeakMemory()
    memory.start()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "conformance", "-q", "-p", "no:cacheprovider", "-n", "auto",
         "--cluster", "local", "--reports-dir", str(reports)],
        cwd=repo, capture_output=True, text=True, check=False,
    )  # fmt: skip
    memory.done.set()
    seconds = round(time.monotonic() - started, 1)
    report_files = sorted(reports.glob("runs/*/conformance-report.yaml"))
    report = yaml.safe_load(report_files[-1].read_text()) if report_files else {}
    cleanup = report.get("cleanup") or {}
    phases = [line for line in result.stdout.splitlines() if line.startswith("phases:")]
    return {
        "seconds": seconds,
        "exit": result.returncode,
        "result": report.get("result", "no report"),
        "totals": report.get("totals"),
        "shards": len(report.get("shards") or []) or 1,
        "profile_restored": cleanup.get("profileRestored"),
        "left_behind": len(cleanup.get("leftBehind") or []),
        "outcomes": {test["nodeid"]: test["outcome"] for test in report.get("tests") or []},
        "phases": phases[-1] if phases else "",
        "clusters_peak_rss_mib": round(memory.peak_mib),
        "processes_left": _cluster_processes(),
    }


def main(arguments: Sequence[str], *, repo: Path, results: Path) -> int:
    parser = argparse.ArgumentParser(prog="bench/run.py default-soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args(arguments)
    runs = []
    for index in range(options.runs):
        with tempfile.TemporaryDirectory(prefix="vnode-default-soak-") as reports:
            run = _one_run(repo, Path(reports))
        runs.append(run)
        print(
            f"run {index + 1}/{options.runs}: {run['seconds']} s, exit {run['exit']}, {run['result']}, "
            f"{run['totals']}, {run['shards']} shards, profile restored {run['profile_restored']}, "
            f"{run['left_behind']} left, {len(run['processes_left'])} cluster processes left, "
            f"clusters' peak RSS {run['clusters_peak_rss_mib']} MiB; "
            f"{run['phases']}",
            flush=True,
        )
    outcomes: dict[str, set[str]] = {}
    for run in runs:
        for nodeid, outcome in run["outcomes"].items():
            outcomes.setdefault(nodeid, set()).add(outcome)
    flaky = sorted(nodeid for nodeid, seen in outcomes.items() if len(seen) > 1)
    seconds = sorted(run["seconds"] for run in runs)
    figures = {
        "runs": len(runs),
        "results": sorted({str(run["result"]) for run in runs}),
        "seconds_min_median_max": [seconds[0], seconds[len(seconds) // 2], seconds[-1]],
        "flaky_tests": flaky,
        "profile_restored_every_run": all(run["profile_restored"] is True for run in runs),
        "objects_left": sum(run["left_behind"] for run in runs),
        "cluster_processes_left": sum(len(run["processes_left"]) for run in runs),
        "clusters_peak_rss_mib_max": max(run["clusters_peak_rss_mib"] for run in runs),
    }
    results.mkdir(parents=True, exist_ok=True)
    each = [{key: value for key, value in run.items() if key != "outcomes"} for run in runs]
    (results / f"default-soak-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(
        json.dumps({**figures, "each": each}, indent=2)
    )
    print("default-soak: " + ", ".join(f"{k}={v}" for k, v in figures.items()), flush=True)
    healthy = (
        figures["results"] == ["success"]
        and not flaky
        and figures["profile_restored_every_run"]
        and not figures["objects_left"]
        and not figures["cluster_processes_left"]
    )
    return 0 if healthy else 1
