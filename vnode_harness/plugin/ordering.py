"""Longest tests first on a parallel run, so that no worker starts a long test while the others finish.

xdist hands tests out in collection order and keeps one queued per worker; with the suite's own order a
14-second test could start last on one shard while the other shards sat idle (a 68 s test phase for 56 s of
work per shard, measured). Ordered by expected duration, longest first, the last tests handed out are
the short ones. The expected durations are the reference run's, kept in `conformance/durations.yaml`
(`python -m vnode_harness.plugin.ordering REPORT` rewrites it from a run's conformance report); a test
not listed there counts as the median. The order changes no verdict: every test is independent, and
`-n 0` keeps the suite's own order.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

import yaml

from vnode_harness.formats.paths import CONFORMANCE_DIR

DURATIONS_PATH = CONFORMANCE_DIR / "durations.yaml"
HEADER = (
    "# Expected seconds per test on the reference implementation, longest first: the order a parallel\n"
    "# run hands tests out in (vnode_harness/plugin/ordering.py). Rewrite it from a run's report with\n"
    "#   python -m vnode_harness.plugin.ordering reports/latest/conformance-report.yaml\n"
)


class HasNodeId(Protocol):
    @property
    def nodeid(self) -> str: ...


Item = TypeVar("Item", bound=HasNodeId)


def load_durations(path: Path = DURATIONS_PATH) -> dict[str, float]:
    """nodeid → seconds; empty when the file is missing or not a mapping (the suite's own order then)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float)}


def longest_first(items: Sequence[Item], durations: Mapping[str, float]) -> list[Item]:
    """`items` by expected duration, longest first; ties (and unlisted tests, at the median) keep their
    collection order, so every worker collects the same order (xdist requires it)."""
    default = statistics.median(durations.values()) if durations else 0.0
    ranked = sorted(enumerate(items), key=lambda pair: (-durations.get(pair[1].nodeid, default), pair[0]))
    return [item for _, item in ranked]


def durations_from_report(report: Mapping[str, object]) -> dict[str, float]:
    """The `durationSeconds` of every test that ran (passed or failed) in a conformance report."""
    tests = report.get("tests")
    found: dict[str, float] = {}
    for test in tests if isinstance(tests, list) else []:
        if isinstance(test, dict) and test.get("outcome") in ("passed", "failed"):
            found[str(test["nodeid"])] = round(float(test["durationSeconds"]), 1)
    return dict(sorted(found.items(), key=lambda pair: (-pair[1], pair[0])))


def main(arguments: Sequence[str]) -> int:
    if len(arguments) != 1:
        print("usage: python -m vnode_harness.plugin.ordering CONFORMANCE-REPORT.yaml", file=sys.stderr)
        return 2
    report = yaml.safe_load(Path(arguments[0]).read_text(encoding="utf-8"))
    durations = durations_from_report(report if isinstance(report, dict) else {})
    if not durations:
        print(f"{arguments[0]}: no test ran in that report", file=sys.stderr)
        return 1
    DURATIONS_PATH.write_text(HEADER + yaml.safe_dump(durations, sort_keys=False), encoding="utf-8")
    print(f"{DURATIONS_PATH.name}: {len(durations)} tests")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
