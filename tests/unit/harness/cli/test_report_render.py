"""`vnode report render` reads what `verify` reads (a report, a bundle, a run directory) and names
bad input in a sentence, never a traceback."""

from __future__ import annotations

import pytest

from tests.unit.harness.submission import build_report, dump, report_data, write_run
from vnode_harness.cli.main import main

WHOLE = dump(report_data(build_report()))
TRUNCATED = WHOLE[: len(WHOLE) // 2].rstrip("\n")


@pytest.fixture
def bundle(tmp_path):
    return write_run(tmp_path / "20261122-080000-1", build_report())


@pytest.mark.parametrize("which", ["bundle", "run directory", "report file"])
def test_it_renders_a_bundle_a_run_directory_and_a_report(bundle, which, capsys):
    report_file = bundle.parent / "conformance-report.yaml"
    path = {"bundle": bundle, "run directory": bundle.parent}.get(which, report_file)
    assert main(["report", "render", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Conformance report: ")
    assert "**Overall result: " in out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "is empty (no YAML document in it)"),
        (TRUNCATED, "it looks truncated"),
        (b"\x1f\x8b\x08garbage", "bundle"),
    ],
)
def test_bad_input_is_named_without_a_traceback(tmp_path, content, expected, capsys):
    path = tmp_path / "conformance-report.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert main(["report", "render", str(path)]) == 2
    out = capsys.readouterr().out
    assert expected in out, out
    assert "Traceback" not in out


def test_a_missing_path_is_named(tmp_path, capsys):
    assert main(["report", "render", str(tmp_path / "nowhere.yaml")]) == 2
    assert "cannot read it" in capsys.readouterr().out
