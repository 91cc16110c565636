"""From a run's conformance report to a verdict on a mutant or a variant, and coverage per requirement.

A mutant is *killed* when its requirement is ``failed`` — the suite says "the implementation does not
conform", not "the suite broke" (``broken``) or "not checked" (``skipped``) — while every control
requirement ``passed``: a defect that takes its neighbours down with it shows a test that cannot tell
rules apart. A variant (a correct implementation built differently) *passes* when every requirement of
the declared features passed in a run of the whole suite.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from tests.mutation.runner import EXIT_NOT_READY, RunResult

Verdict = Literal["killed", "survived", "inconclusive", "error", "passed", "failed"]


@dataclass(frozen=True)
class EntryResult:
    """One row of the matrix."""

    name: str
    kind: Literal["mutant", "variant"]
    requirement: str
    description: str
    verdict: Verdict
    why: str
    controls: tuple[str, ...] = ()
    collateral: tuple[str, ...] = ()
    """Requirements other than the mutant's own that failed (for a variant: every one not passed)."""
    seconds: float = 0.0
    outcomes: dict[str, str] = field(default_factory=dict)


def judge_mutant(
    requirement: str, controls: Sequence[str], run: RunResult
) -> tuple[Verdict, str, tuple[str, ...]]:
    """(verdict, reason, collateral) for one mutant run. A run that stopped before its tests is an
    error, never a kill: the readiness gate judges no documented behaviour, so a wrong implementation
    must be failed on the rule it breaks."""
    if run.exit_code == EXIT_NOT_READY or run.aborted:
        reason = (run.aborted or "no test was run").splitlines()[0]
        return "error", f"the run stopped before the tests (exit code {run.exit_code}): {reason}", ()
    if not run.outcomes:
        return "error", f"no conformance report (exit code {run.exit_code})", ()
    own = run.outcomes.get(requirement, "not-tested")
    collateral = tuple(sorted(r for r, o in run.outcomes.items() if o == "failed" and r != requirement))
    unhealthy = [
        f"{c} {run.outcomes.get(c, 'not-tested')}" for c in controls if run.outcomes.get(c) != "passed"
    ]
    if own == "passed":
        return "survived", f"{requirement} passed", collateral
    if own != "failed":
        return "inconclusive", f"{requirement} {own}, not failed", collateral
    if unhealthy:
        return "inconclusive", f"{requirement} failed, but control {', '.join(unhealthy)}", collateral
    return "killed", f"{requirement} failed, controls passed", collateral


def judge_variant(declared: Iterable[str], run: RunResult) -> tuple[Verdict, str, tuple[str, ...]]:
    """(verdict, reason, requirements not passed) for one variant run of the whole suite."""
    if run.aborted:
        return "failed", f"the run stopped before the tests: {run.aborted.splitlines()[0]}", ()
    if not run.outcomes:
        return "error", f"no conformance report (exit code {run.exit_code})", ()
    not_passed = tuple(f"{r} {run.outcomes.get(r, 'not-tested')}" for r in declared
                       if run.outcomes.get(r) != "passed")  # fmt: skip
    if not_passed:
        return "failed", f"{len(not_passed)} declared requirement(s) not passed", not_passed
    return "passed", "every declared requirement passed", ()


Coverage = dict[str, str]


def coverage(
    requirements: Mapping[str, bool],
    results: Sequence[EntryResult],
    registered: Mapping[str, Sequence[str]],
    no_mutant: Mapping[str, str],
) -> Coverage:
    """Requirement id -> "killed by A, B" / "not killed (mutants: …)" / "uncovered" / "no mutant: …" /
    "not applicable (feature not declared)". ``requirements`` maps each catalogue id to whether its
    feature is declared; ``registered`` maps it to the names of the mutants that target it."""
    ran = {result.name for result in results}
    killers: dict[str, list[str]] = {}
    for result in results:
        if result.kind == "mutant" and result.verdict == "killed":
            killers.setdefault(result.requirement, []).append(result.name)
    table: Coverage = {}
    for requirement, declared in requirements.items():
        if not declared:
            table[requirement] = "not applicable (feature not declared)"
        elif requirement in killers:
            table[requirement] = "killed by " + ", ".join(killers[requirement])
        elif requirement in no_mutant:
            table[requirement] = f"no mutant: {no_mutant[requirement]}"
        elif registered.get(requirement):
            names = ", ".join(registered[requirement])
            not_run = not ran.intersection(registered[requirement])
            table[requirement] = (
                f"not run (mutants: {names})" if not_run else f"not killed (mutants: {names})"
            )
        else:
            table[requirement] = "uncovered"
    return table


def covered(entry: str) -> bool:
    return entry.startswith(("killed by", "not applicable", "no mutant"))
