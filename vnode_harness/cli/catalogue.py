"""`vnode catalogue`: browse the requirements, their tests and fixtures, and preview a run — no cluster.

The tests of a requirement are not written in the catalogue: they are the conformance tests whose
`@pytest.mark.requirement` names it. So the browser collects `conformance/` with `pytest --collect-only`
in-process (the plugin starts no cluster for a collection) and reads each test's markers, the pytest
fixtures it asks for, and the seed examples (`fixtures/`) its code loads.

With `--implementation FILE` each requirement is marked as that implementation's run would treat it:
`certify` (its tests run; it is certified if they pass), `skip` (the feature, or a feature it `requires`,
is not declared, or its test always skips: reported skipped, never certified), or `not run` (no
collected test names it, e.g. deselected by `-k`). The skip rule is the plugin's own.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import io
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest
from rich.console import Console
from rich.table import Table

from vnode_harness.formats.applicability import not_testable_reason, requirement_ids
from vnode_harness.formats.catalogue import (
    DOCUMENT_TITLES,
    SCOPE_REASON_TEXT,
    Catalogue,
    OpenCase,
    Requirement,
    ScopedOut,
)
from vnode_harness.formats.implementation import Implementation
from vnode_harness.formats.paths import CONFORMANCE_DIR, REPO_ROOT

Status = Literal["certify", "skip", "not run"]
_EXAMPLE_CALL = re.compile(r"\b(profile_fixture|selectors_of)\(\s*[\"']([^\"']+)[\"']")
_EXAMPLE_DIRS = {"profile_fixture": "profiles", "selectors_of": "profiles"}
_STATUS_STYLE = {"certify": "green", "skip": "yellow", "not run": "red"}


class CollectionError(RuntimeError):
    """Collecting conformance/ failed (a syntax error in a test, an unknown marker, ...)."""


@dataclass(frozen=True)
class CollectedTest:
    """One conformance test as the browser shows it."""

    nodeid: str
    requirements: tuple[str, ...]
    fixtures: tuple[str, ...]
    """The pytest fixtures the test function asks for (not autouse ones or parameters)."""
    examples: tuple[str, ...]
    """The seed examples its code loads, as paths under the repository (fixtures/...)."""
    always_skips: str | None
    """The reason of a `pytest.skip(...)` the test body always reaches first, if any."""


@dataclass(frozen=True)
class Plan:
    status: Status
    reason: str


class _Recorder:
    def __init__(self) -> None:
        self.tests: list[CollectedTest] = []

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.tests = [_collected(item) for item in session.items]  # after -k deselected


def collect_tests(keyword: str | None = None) -> list[CollectedTest]:
    """The conformance tests (only those `-k keyword` selects, when given), without starting a cluster."""
    recorder = _Recorder()
    args = ["--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "--rootdir", str(REPO_ROOT)]
    if keyword:
        args += ["-k", keyword]
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = pytest.main([*args, str(CONFORMANCE_DIR)], plugins=[recorder])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise CollectionError(
            f"collecting conformance/ failed (exit {int(code)}):\n{output.getvalue()[-3000:]}"
        )
    return recorder.tests


def _collected(item: pytest.Item) -> CollectedTest:
    function = getattr(item, "obj", None)
    parameters = set(getattr(getattr(item, "callspec", None), "params", {}))
    fixtures: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    always_skips = None
    if callable(function):
        with contextlib.suppress(TypeError, ValueError):
            fixtures = tuple(
                name for name in inspect.signature(function).parameters if name not in parameters
            )
        with contextlib.suppress(OSError, TypeError):
            source = textwrap.dedent(inspect.getsource(function))
            examples = tuple(
                dict.fromkeys(
                    f"fixtures/{_EXAMPLE_DIRS[call]}/{name}.yaml"
                    for call, name in _EXAMPLE_CALL.findall(source)
                )
            )
            always_skips = _unconditional_skip(source)
    return CollectedTest(item.nodeid, tuple(requirement_ids(item)), fixtures, examples, always_skips)


def _unconditional_skip(source: str) -> str | None:
    """The reason of a `pytest.skip("...")` statement at the top level of the function body."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    function = tree.body[0] if tree.body else None
    if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
        return None
    for statement in function.body:
        call = statement.value if isinstance(statement, ast.Expr) else None
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "skip"
            and isinstance(call.func.value, ast.Name)
            and call.func.value.id == "pytest"
        ):
            reason = call.args[0] if call.args else None
            return (
                " ".join(str(ast.literal_eval(reason)).split()) if isinstance(reason, ast.expr) else "skipped"
            )
    return None


def tests_of(requirement_id: str, tests: Sequence[CollectedTest]) -> list[CollectedTest]:
    return [test for test in tests if requirement_id in test.requirements]


def plan(
    catalogue: Catalogue, implementation: Implementation, tests: Sequence[CollectedTest], *, selected: bool
) -> dict[str, Plan]:
    """How the implementation's run treats each requirement (see the module docstring).

    A requirement takes its worst test, as in the report: one skipped test makes it skipped."""
    plans: dict[str, Plan] = {}
    for requirement in catalogue.requirements:
        own = tests_of(requirement.id, tests)
        if not own:
            why = "deselected by -k" if selected else "no conformance test names it"
            plans[requirement.id] = Plan("not run", why)
            continue
        reasons = [not_testable_reason(catalogue, implementation, list(test.requirements)) for test in own]
        reasons += [test.always_skips for test in own]
        skip = next((reason for reason in reasons if reason), None)
        if skip:
            plans[requirement.id] = Plan("skip", skip)
        else:
            plans[requirement.id] = Plan("certify", f"{len(own)} test(s) run; certified if they pass")
    return plans


def _short(nodeid: str) -> str:
    return nodeid.removeprefix("conformance/")


def _test_names(tests: Sequence[CollectedTest]) -> str:
    """Each test function once, with its number of parametrized cases."""
    counts: dict[str, int] = {}
    for test in tests:
        function = _short(test.nodeid).split("[", 1)[0]
        counts[function] = counts.get(function, 0) + 1
    return "\n".join(f"{name} ({count} cases)" if count > 1 else name for name, count in counts.items())


def render_list(
    console: Console,
    catalogue: Catalogue,
    tests: Sequence[CollectedTest],
    *,
    plans: dict[str, Plan] | None = None,
    feature: str | None = None,
) -> None:
    """The requirements as one table (of one feature, when given)."""
    requirements = catalogue.requirements_for_feature(feature) if feature else catalogue.requirements
    table = Table(show_lines=True)
    for name in ("id", "feature", "severity"):
        table.add_column(name, no_wrap=True)
    table.add_column("statement", ratio=3)
    table.add_column("tests", ratio=2, overflow="fold")
    if plans is not None:
        table.add_column("this run", no_wrap=True)
    for requirement in requirements:
        row = [
            requirement.id,
            requirement.feature,
            requirement.severity,
            requirement.statement,
            _test_names(tests_of(requirement.id, tests)) or "[red]none",
        ]
        if plans is not None:
            status = plans[requirement.id]
            row.append(f"[{_STATUS_STYLE[status.status]}]{status.status}[/]")
        table.add_row(*row)
    console.print(table)
    if plans is not None:
        shown = [plans[requirement.id] for requirement in requirements]
        summary = ", ".join(
            f"{sum(1 for entry in shown if entry.status == status)} {status}" for status in _STATUS_STYLE
        )
        console.print(f"{summary} (`vnode catalogue show ID --implementation FILE` says why)")


def render_requirement(
    console: Console,
    catalogue: Catalogue,
    requirement: Requirement,
    tests: Sequence[CollectedTest],
    *,
    plan_entry: Plan | None = None,
) -> None:
    """One requirement: statement, source with its quote, tests, fixtures, and the run's treatment."""
    feature = catalogue.feature(requirement.feature)
    source = requirement.source
    own = tests_of(requirement.id, tests)
    table = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.add_row("id", requirement.id)
    table.add_row("statement", requirement.statement)
    requires = f" (requires {', '.join(feature.requires)})" if feature.requires else ""
    optional = "optional" if feature.optional else "mandatory"
    table.add_row("feature", f"{feature.id}: {feature.title} — {optional}{requires}")
    table.add_row("severity", requirement.severity)
    document = DOCUMENT_TITLES.get(source.document, source.document)
    table.add_row("source", f"{document} ({source.document}), section “{source.section}”")
    table.add_row("quote", f"“{' '.join(source.quote.split())}”")
    table.add_row("tests", "\n".join(test.nodeid for test in own) or "[red]none")
    fixtures = sorted({name for test in own for name in test.fixtures})
    examples = sorted({path for test in own for path in test.examples})
    table.add_row("fixtures", ", ".join(fixtures) or "—")
    table.add_row("seed examples", "\n".join(examples) or "—")
    if plan_entry is not None:
        style = _STATUS_STYLE[plan_entry.status]
        table.add_row("this run", f"[{style}]{plan_entry.status}[/]: {plan_entry.reason}")
    console.print(table, highlight=False)


def render_scope_entry(console: Console, entry: ScopedOut | OpenCase) -> None:
    """A scope entry, as a report's "Not certified by this suite" names it: why no requirement certifies
    it, its quote and the requirements beside it."""
    table = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.add_row("id", entry.id)
    if isinstance(entry, ScopedOut):
        table.add_row("scope", f"not certified: {SCOPE_REASON_TEXT[entry.reason]}")
    else:
        table.add_row("scope", "left open by the documents: no outcome is certified")
        table.add_row("case", entry.case)
    table.add_row("explanation", " ".join(entry.explanation.split()))
    if entry.source is not None:
        document = DOCUMENT_TITLES.get(entry.source.document, entry.source.document)
        table.add_row("source", f"{document} ({entry.source.document}), section “{entry.source.section}”")
        table.add_row("quote", f"“{' '.join(entry.source.quote.split())}”")
    table.add_row("related", ", ".join(entry.related) or "—")
    console.print(table, highlight=False)


def preview_notes(implementation_file: Path, keyword: str | None) -> list[str]:
    """What the preview cannot say by itself."""
    notes = [f"run of {implementation_file}: a test may still skip at run time on what the cluster shows"]
    if keyword:
        notes.append("-k makes a focused run: its report is never success, whatever it certifies")
    return notes
