"""The mutation matrix: every mutant must fail its own requirement, every variant must pass the suite.

    python -m tests.mutation.matrix [--only NAME…] [--fast] [--full] [--parallel] [--report-dir DIR]

One local cluster serves the whole matrix; each mutant (tests/mutation/mutants.py) and variant
(tests/mutation/variants.py) in turn is started beside it and the suite runs against it with
``--cluster existing``. A mutant runs the tests of its requirement and of its control requirements
(``--full``: the whole suite, so every collateral failure shows); a variant always runs the whole suite.
``--fast`` is CI's always-on subset (mutants.FAST, no variants). ``--parallel`` runs each entry as a
user's default run does instead (``-n auto --cluster local``: the suite's own shards, an instance of the
entry on each), so the verdicts of the two modes can be compared. The verdicts, kill rate and coverage go
to DIR/matrix.yaml and DIR/matrix.md (default reports/mutation/). Exit code 0 only when every mutant
ran was killed, every variant ran passed, and — when the whole registry ran — every requirement of a
declared feature has a killing mutant. Why, and how to add a mutant: docs/mutation.md.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.table import Table

from tests.mutation.mutants import FAST, MUTANTS, NO_MUTANT
from tests.mutation.report import MatrixSummary, write_matrix
from tests.mutation.runner import REFERENCE, RunResult, run_suite, run_suite_on_shards
from tests.mutation.selection import TestIndex, collect_tests, default_controls, pytest_selection
from tests.mutation.variants import VARIANTS
from tests.mutation.verdicts import EntryResult, coverage, covered, judge_mutant, judge_variant
from vnode_harness.formats.catalogue import Catalogue, load_catalogue
from vnode_harness.formats.implementation import load_implementation
from vnode_harness.plumbing.console import make_console
from vnode_harness.run_context import ClusterHandle

REPO = Path(__file__).resolve().parents[2]
DEFAULT_REPORT_DIR = REPO / "reports" / "mutation"
TARGETED_TIMEOUT_SECONDS = 1200.0
FULL_TIMEOUT_SECONDS = 3600.0
WHOLE_SUITE = ("conformance",)


@dataclass(frozen=True)
class Entry:
    """A mutant or a variant, as the matrix runs it."""

    name: str
    kind: str
    requirement: str
    description: str
    controls: tuple[str, ...] = ()


def plan(names: Sequence[str], *, fast: bool) -> list[Entry]:
    """The entries to run: NAMEs (mutants or variants), the FAST subset, or everything."""
    unknown = [name for name in names if name not in MUTANTS and name not in VARIANTS]
    if unknown:
        known = ", ".join([*MUTANTS, *VARIANTS])
        raise SystemExit(f"unknown mutant or variant {', '.join(unknown)}; known: {known}")
    chosen = list(names) or (list(FAST) if fast else [*MUTANTS, *VARIANTS])
    entries = []
    for name in chosen:
        if name in MUTANTS:
            m = MUTANTS[name]
            entries.append(Entry(m.name, "mutant", m.requirement, m.description, m.controls))
        else:
            entries.append(Entry(name, "variant", "(every declared)", VARIANTS[name].description))
    return entries


def _selection(
    entry: Entry, catalogue: Catalogue, index: TestIndex, full: bool
) -> tuple[tuple[str, ...], list[str]]:
    """(controls, pytest arguments) for one entry."""
    if entry.kind == "variant":
        return (), list(WHOLE_SUITE)
    controls = tuple(c for c in entry.controls if catalogue.has_requirement(c)) or default_controls(
        catalogue, entry.requirement, index
    )
    return controls, list(WHOLE_SUITE) if full else pytest_selection(index, [entry.requirement, *controls])


def run_entry(
    entry: Entry,
    cluster: ClusterHandle | None,
    catalogue: Catalogue,
    index: TestIndex,
    report_dir: Path,
    full: bool,
) -> EntryResult:
    """Run one entry on ``cluster``, or on shards of its own (None: ``--parallel``), and judge it."""
    if entry.kind == "mutant" and not catalogue.has_requirement(entry.requirement):
        return EntryResult(entry.name, "mutant", entry.requirement, entry.description, "error",
                           f"{entry.requirement} is not in the catalogue (any more)")  # fmt: skip
    controls, selection = _selection(entry, catalogue, index, full)
    reports = report_dir / "runs" / entry.name
    shutil.rmtree(reports, ignore_errors=True)
    timeout = FULL_TIMEOUT_SECONDS if full or entry.kind == "variant" else TARGETED_TIMEOUT_SECONDS
    run: RunResult = (
        run_suite(entry.name, cluster, selection, reports, timeout)
        if cluster is not None
        else run_suite_on_shards(entry.name, selection, reports, timeout)
    )
    if entry.kind == "variant":
        declared = _declared_requirements(catalogue)
        verdict, why, collateral = judge_variant([r for r, d in declared.items() if d], run)
    else:
        verdict, why, collateral = judge_mutant(entry.requirement, controls, run)
    if verdict == "error":
        why += f"; see {reports / 'pytest.log'}"
    return EntryResult(entry.name, entry.kind, entry.requirement, entry.description, verdict,  # type: ignore[arg-type]
                       why, controls, collateral, run.seconds, run.outcomes)  # fmt: skip


def _declared_requirements(catalogue: Catalogue) -> dict[str, bool]:
    implementation = load_implementation(REFERENCE)
    return {r.id: implementation.supports(r.feature) for r in catalogue.requirements}


@contextmanager
def local_cluster(report_dir: Path, console: Console) -> Iterator[ClusterHandle]:
    """One local cluster for the whole matrix, torn down also on Ctrl-C."""
    from vnode_harness.providers.local.cluster import LocalCluster

    cluster = LocalCluster(logs_dir=report_dir / "cluster", console=console)
    try:
        yield cluster.up()
    finally:
        cluster.down()


def _table() -> Table:
    return Table("entry", "requirement", "verdict", "why", "collateral", "s", title="mutation matrix")


def _add_row(table: Table, result: EntryResult) -> None:
    style = "green" if result.verdict in ("killed", "passed") else "red"
    table.add_row(result.name, result.requirement, f"[{style}]{result.verdict}[/{style}]", result.why,
                  ", ".join(result.collateral) or "-", f"{result.seconds:.0f}")  # fmt: skip


def run_matrix(
    entries: Sequence[Entry],
    *,
    full: bool,
    report_dir: Path,
    console: Console,
    cluster: ClusterHandle | None = None,
    whole_registry: bool = False,
    command: str = "",
    parallel: bool = False,
) -> tuple[MatrixSummary, bool]:
    """Run ``entries`` (on ``cluster``, a local cluster of its own, or with ``parallel`` each on the
    suite's own shards); (summary, every check held)."""
    catalogue = load_catalogue()
    index = collect_tests()
    started = time.monotonic()
    results: list[EntryResult] = []
    table = _table()
    shared = nullcontext(cluster) if cluster or parallel else local_cluster(report_dir, console)
    with shared as handle:
        live = Live(table, console=console, auto_refresh=False) if console.is_terminal else nullcontext()
        with live:
            for entry in entries:
                console.print(f"[bold]{entry.kind} {entry.name}[/bold] ({entry.requirement})…")
                result = run_entry(entry, handle, catalogue, index, report_dir, full)
                results.append(result)
                _add_row(table, result)
                if isinstance(live, Live):
                    live.refresh()
                else:
                    console.print(f"  {result.verdict}: {result.why}; collateral {list(result.collateral)}, "
                                  f"{result.seconds:.0f} s")  # fmt: skip
    if not console.is_terminal:
        console.print(table)
    declared = _declared_requirements(catalogue)
    registered: dict[str, list[str]] = {}
    for mutant in MUTANTS.values():
        registered.setdefault(mutant.requirement, []).append(mutant.name)
    table_of_coverage = coverage(declared, results, registered, NO_MUTANT)
    mode = ("full" if full else "targeted") + (", default parallel" if parallel else "")
    summary = MatrixSummary(results, table_of_coverage, mode, time.monotonic() - started, command)
    yaml_path, md_path = write_matrix(summary, report_dir)
    ok = all(r.verdict in ("killed", "passed") for r in results)
    if whole_registry:
        uncovered = [r for r, entry in table_of_coverage.items() if not covered(entry)]
        ok = ok and not uncovered
        for requirement in uncovered:
            console.print(f"[red]{requirement}: {table_of_coverage[requirement]}")
    console.print(f"kill rate {summary.kill_rate}; matrix: {md_path} and {yaml_path}")
    return summary, ok


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.mutation.matrix", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--only", nargs="+", action="extend", default=[], metavar="NAME",
                        help="run only these mutants or variants")  # fmt: skip
    parser.add_argument(
        "--fast", action="store_true", help="CI's always-on subset (mutants.FAST, no variants)"
    )
    parser.add_argument("--full", action="store_true", help="the whole suite against every mutant")
    parser.add_argument(
        "--parallel", action="store_true",
        help="run each entry as a default run does (-n auto --cluster local: the suite's own shards)",
    )  # fmt: skip
    parser.add_argument(
        "--report-dir", type=Path, default=DEFAULT_REPORT_DIR, help="default: reports/mutation"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    console = make_console(stderr=True)  # CI logs: whole lines
    entries = plan(args.only, fast=args.fast)
    command = shlex.join(["python", "-m", "tests.mutation.matrix", *(sys.argv[1:] if argv is None else argv)])
    _, ok = run_matrix(entries, full=args.full, report_dir=args.report_dir.resolve(), console=console,
                       whole_registry=not args.only and not args.fast, command=command,
                       parallel=args.parallel)  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
