"""`bench/run.py faults [--points N] [--seed S] [-k EXPR]`: the fault scenarios' long variant.

The scenarios of tests/faults (docs/faults.md), with N seeded SIGINT/SIGTERM points instead of the fast
subset's two: every scenario's outcome and duration, from pytest's JUnit XML, printed and written to
reports/bench/faults-<timestamp>.json. A benchmark, not a test: it reports, it does not judge.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from xml.etree import ElementTree


def scenarios(junit: Path) -> list[dict[str, Any]]:
    """One entry per test case: its name, outcome and seconds."""
    cases = []
    for case in ElementTree.parse(junit).iter("testcase"):
        problem = next((child.tag for child in case if child.tag in ("failure", "error", "skipped")), None)
        cases.append({"scenario": case.get("name"), "outcome": problem or "passed",
                      "seconds": round(float(case.get("time") or 0), 1)})  # fmt: skip
    return cases


def main(argv: list[str], *, repo: Path, results: Path) -> int:
    parser = argparse.ArgumentParser(prog="bench/run.py faults", description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=20, help="seeded SIGINT/SIGTERM points (default 20)")
    parser.add_argument("--seed", type=int, default=20261202, help="seed of the points (default 20261202)")
    parser.add_argument("-k", dest="keyword", default="", help="only the scenarios matching EXPR (pytest -k)")
    arguments = parser.parse_args(argv)
    results.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    junit = results / f"faults-{stamp}-junit.xml"
    command = [sys.executable, "-m", "pytest", "tests/faults", "-p", "no:cacheprovider", "-n", "0", "-q",
               f"--junitxml={junit}", *(["-k", arguments.keyword] if arguments.keyword else [])]  # fmt: skip
    environment = {
        **os.environ,
        "VNODE_FAULTS_POINTS": str(arguments.points),
        "VNODE_FAULTS_SEED": str(arguments.seed),
    }
    started = time.monotonic()
    finished = subprocess.run(command, cwd=repo, env=environment, check=False)
    cases = scenarios(junit) if junit.is_file() else []
    figures = {
        "points": arguments.points,
        "seed": arguments.seed,
        "scenarios": len(cases),
        "passed": sum(case["outcome"] == "passed" for case in cases),
        "not_passed": [case for case in cases if case["outcome"] != "passed"],
        "wall_seconds": round(time.monotonic() - started, 1),
        "each": cases,
        "goal": "every scenario passed: verdict names the cause, profile restored, nothing left",
    }
    (results / f"faults-{stamp}.json").write_text(json.dumps(figures, indent=2))
    print("faults: " + ", ".join(f"{k}={v}" for k, v in figures.items() if k != "each"), flush=True)
    return finished.returncode
