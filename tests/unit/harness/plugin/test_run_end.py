"""The end of a run: the verdict is its last line, with why and where the report is."""

from __future__ import annotations

from types import SimpleNamespace

from tests.unit.harness.submission import REFERENCE, build_report
from vnode_harness.plugin.run_reports import closing_line, end_progress_line
from vnode_harness.report.writer import WrittenRun


def test_the_closing_line_says_failed_apart_from_broken_and_names_the_report(tmp_path, monkeypatch):
    report = build_report({"SCHED-POD-LABEL": "failed", "SEL-OBJECT": "failed", "SEL-NAMESPACE": "broken"})
    written = WrittenRun(run_dir=tmp_path / "runs" / "r1", report=report, implementation_file=b"")
    monkeypatch.chdir(tmp_path)
    assert closing_line(written) == (
        "result: FAILURE — 2 requirements failed, 1 broken by the environment "
        "(report: runs/r1/conformance-report.md)"
    )


def test_outside_the_working_directory_the_path_is_whole(tmp_path, monkeypatch):
    written = WrittenRun(run_dir=tmp_path / "r2", report=build_report(), implementation_file=b"")
    monkeypatch.chdir(REFERENCE.parent)
    assert closing_line(written).endswith(f"passed (report: {tmp_path}/r2/conformance-report.md)")
    assert closing_line(written).startswith("result: SUCCESS — all ")


def test_the_progress_line_is_ended_before_the_reports_are_printed():
    """pytest's `[100%]` line has no newline until its own session finish, which comes after ours; its
    reporter ends the line (ensure_newline) and must flush it before the reports go to stderr."""
    calls: list[str] = []
    reporter = SimpleNamespace(
        ensure_newline=lambda: calls.append("newline"), flush=lambda: calls.append("flush")
    )
    config = SimpleNamespace(pluginmanager=SimpleNamespace(get_plugin={"terminalreporter": reporter}.get))
    end_progress_line(config)  # type: ignore[arg-type]
    assert calls == ["newline", "flush"]
    end_progress_line(SimpleNamespace(pluginmanager=SimpleNamespace(get_plugin={}.get)))  # type: ignore[arg-type]
