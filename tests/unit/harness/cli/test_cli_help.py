"""`vnode` helps when called alone, says its version, and prints whole lines into a pipe."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from vnode_harness import __version__
from vnode_harness.cli.main import main
from vnode_harness.formats.catalogue import catalogue_digest, load_catalogue
from vnode_harness.formats.paths import REPO_ROOT


def test_vnode_alone_prints_every_command(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: vnode")
    assert "vnode report verify REPORT|BUNDLE" in out
    assert "vnode catalogue show ID" in out


def test_a_group_alone_prints_its_commands(capsys):
    assert main(["report"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: vnode report")
    assert "verify" in out


def test_version(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"vnode {__version__} (catalogue {catalogue_digest()[:12]})\n"


def test_a_scope_id_a_report_prints_is_shown(capsys, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)  # xdist's workers set 80
    scope = load_catalogue().scope
    scoped_out, left_open = scope.out_of_scope[0], scope.unspecified[0]
    assert main(["catalogue", "show", scoped_out.id]) == 0
    out = capsys.readouterr().out
    assert "not certified: " in out
    assert " ".join(scoped_out.source.quote.split()) in out
    assert main(["catalogue", "show", left_open.id]) == 0
    out = capsys.readouterr().out
    assert "left open by the documents: no outcome is certified" in out
    assert " ".join(left_open.case.split()) in out


def test_an_unknown_id_is_named_with_close_scope_matches(capsys):
    scoped_out = load_catalogue().scope.out_of_scope[0].id
    assert main(["catalogue", "show", scoped_out[:-1]]) == 2
    assert f"did you mean {scoped_out}" in capsys.readouterr().err


def test_piped_catalogue_prints_every_statement_whole():
    """`vnode catalogue > file` used to cut every MUST statement at 80 columns."""
    environment = {key: value for key, value in os.environ.items() if key != "COLUMNS"}
    environment["PYTHONPATH"] = str(REPO_ROOT)
    result = subprocess.run(
        [sys.executable, "-m", "vnode_harness.cli.main", "catalogue"],
        cwd=REPO_ROOT, env=environment, capture_output=True, text=True,  # stdout is a pipe
        timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    cut = [
        requirement.id
        for requirement in load_catalogue().requirements
        if not any(" ".join(requirement.statement.split()) in line for line in lines)
    ]
    assert cut == [], f"statements not on one line: {cut}"
