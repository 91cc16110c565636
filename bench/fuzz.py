"""The long fuzz run (`python bench/run.py fuzz [--examples N] [--seed S]`): the bounded CI fuzz tests
of `tests/fuzz`, with many more examples from a fresh seed, counted per target.

CI runs the same tests derandomized with a few hundred examples each (`tox -e faults`); this run
explores further and reports, per target, how many examples ran, in how long, and what failed. A
failure prints Hypothesis's `@reproduce_failure` blob, so it can be replayed and kept as a test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

#: Which fuzz test exercises which of issue 13's targets.
TARGETS = {
    "test_admission.py": "admission review (HTTP)",
    "test_profile.py::test_any_data": "profile parser",
    "test_profile.py::test_controller": "controller keeps the last valid profile",
    "test_implementation.py": "implementation-file loader",
}
_HEADER = re.compile(r"^(tests/fuzz/\S+::\S+):$")
_PHASE = re.compile(r"^\s+- during (\w+) phase \(([\d.]+) seconds\):")
_COUNTS = re.compile(r"^\s+- (\d+) passing, (\d+) failing, and (\d+) invalid test cases")


def target_of(test: str) -> str:
    return next((name for key, name in TARGETS.items() if key in test), test)


def parse_statistics(output: str) -> dict[str, dict[str, float]]:
    """Examples and seconds per test from pytest's `--hypothesis-show-statistics` section."""
    tests: dict[str, dict[str, float]] = {}
    test: str | None = None
    phase = ""
    for line in output.splitlines():
        if header := _HEADER.match(line):
            test = header.group(1)
            tests[test] = {"examples": 0, "failing": 0, "seconds": 0.0}
        elif test is not None and (found := _PHASE.match(line)):
            phase = found.group(1)
            tests[test]["seconds"] += float(found.group(2))
        elif test is not None and phase == "generate" and (counts := _COUNTS.match(line)):
            passing, failing = int(counts.group(1)), int(counts.group(2))
            tests[test]["examples"] += passing + failing
            tests[test]["failing"] += failing
    return tests


def run(repo: Path, examples: int, seed: int) -> dict[str, Any]:
    env = {**os.environ, "VNODE_FUZZ_EXAMPLES": str(examples), "VNODE_FUZZ_SEED": str(seed)}
    command = [sys.executable, "-m", "pytest", "tests/fuzz", "-p", "no:cacheprovider", "-n", "0", "-q",
               "--hypothesis-show-statistics",
               "-W", "ignore::hypothesis.errors.HypothesisWarning"]  # fmt: skip
    started = time.monotonic()
    completed = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    sys.stdout.write(completed.stdout[-20_000:])
    sys.stderr.write(completed.stderr[-5_000:])
    per_test = parse_statistics(completed.stdout)
    per_target: dict[str, dict[str, float]] = {}
    for test, figures in per_test.items():
        total = per_target.setdefault(target_of(test), {"examples": 0, "failing": 0, "seconds": 0.0})
        for key, value in figures.items():
            total[key] += value
    failed = re.findall(r"^FAILED (\S+)", completed.stdout, flags=re.MULTILINE)
    return {
        "seed": seed,
        "examples_per_test": examples,
        "examples": int(sum(figures["examples"] for figures in per_test.values())),
        "seconds": round(seconds, 1),
        "targets": {
            name: {k: round(v, 1) for k, v in figures.items()} for name, figures in per_target.items()
        },
        "failed_tests": failed,
        "exit_code": completed.returncode,
        "goal": "no failure: every bad input rejected with a clear message, no crash, no hang",
    }


def main(arguments: list[str], *, repo: Path, results: Path) -> int:
    parser = argparse.ArgumentParser(prog="bench/run.py fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=10_000, help="examples per fuzz test (default 10000)")
    parser.add_argument("--seed", type=int, default=None, help="default: a fresh random seed, printed")
    options = parser.parse_args(arguments)
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2**32)
    figures = run(repo, options.examples, seed)
    results.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (results / f"fuzz-{stamp}.json").write_text(json.dumps(figures, indent=2))
    print("fuzz: " + ", ".join(f"{key}={value}" for key, value in figures.items()), flush=True)
    return 0 if figures["exit_code"] == 0 else 1
