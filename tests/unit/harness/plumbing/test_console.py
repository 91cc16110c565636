"""Consoles print whole lines when their output is not a terminal, and the harness makes no other."""

from __future__ import annotations

import io
import re

from vnode_harness.formats.paths import REPO_ROOT
from vnode_harness.plumbing.console import PIPE_WIDTH, make_console

LONG = "vnode report verify " + "/very/long/path" * 20 + "/bundle.tar.gz"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_pipe_gets_whole_lines(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    out = io.StringIO()
    console = make_console(file=out)
    console.print(f"evidence bundle: (check it with: {LONG})")
    assert console.width == PIPE_WIDTH
    assert out.getvalue() == f"evidence bundle: (check it with: {LONG})\n"


def test_columns_still_decides_when_set(monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    assert make_console(file=io.StringIO()).width == 120


def test_a_terminal_keeps_its_width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    out = _Terminal()
    make_console(file=out).print(LONG)
    assert "\n" in out.getvalue().rstrip("\n"), "on a terminal rich wraps at its width"


def test_the_harness_makes_every_console_through_the_factory():
    constructions = [
        f"{path.relative_to(REPO_ROOT)}:{number}"
        for path in sorted((REPO_ROOT / "vnode_harness").rglob("*.py"))
        if path.name != "console.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"(?<![\w.])Console\(", line)
    ]
    assert constructions == []
