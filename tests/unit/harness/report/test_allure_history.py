"""`--allure-history FILE`: the HTML report's trend shows the runs the file kept, and the file gains each run.

The real test needs the pinned generator in this machine's cache and Node.js (as the privacy test); the
configuration and the option are checked without them."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from vnode_harness.formats.versions import ALLURE_NPM
from vnode_harness.plugin.options import allure_history
from vnode_harness.plumbing.cache_dir import cache_root
from vnode_harness.report.allure_html import (
    ALLURE_HISTORY_LIMIT,
    AllureUnavailable,
    allure_config,
    generate_html,
)


def _write_results(directory: Path, status: str) -> None:
    directory.mkdir(parents=True)
    result = {"uuid": f"r-{status}", "historyId": "h-pod-label", "name": "test_pod_label",
              "fullName": "conformance.test_pod_label", "status": status, "stage": "finished",
              "start": 1, "stop": 2, "labels": []}  # fmt: skip
    (directory / f"r-{status}-result.json").write_text(json.dumps(result))


def _embedded(report: Path, name: str) -> Any:
    """A data file of the single-file report: `d("<name>","<base64 JSON>")` inside its index.html."""
    found = re.search(rf'd\("{re.escape(name)}","([A-Za-z0-9+/=]+)"\)', (report / "index.html").read_text())
    assert found, f"{name} is not embedded in {report / 'index.html'}"
    return json.loads(base64.b64decode(found.group(1)))


def _status_dynamics(report: Path) -> list[dict[str, object]]:
    """The points of the "Status dynamics" trend chart: this report ("current") and each one before it."""
    charts = _embedded(report, "widgets/charts.json")["general"]
    (trend,) = [chart for chart in charts.values() if chart["type"] == "statusDynamics"]
    points: list[dict[str, object]] = trend["data"]
    return points


def test_the_generator_is_told_where_the_history_is_and_how_much_to_keep(tmp_path):
    assert "historyPath" not in allure_config("acme", ["feature"])
    config = allure_config("acme", ["feature"], tmp_path / "h.jsonl")
    assert config["historyPath"] == str(tmp_path / "h.jsonl")
    assert config["historyLimit"] == ALLURE_HISTORY_LIMIT
    assert config["appendHistory"] is True


def test_two_generations_with_one_history_file_show_a_trend_of_two(tmp_path):
    binary = cache_root() / "npm" / f"allure-{ALLURE_NPM}" / "node_modules" / ".bin" / "allure"
    if not binary.exists() or shutil.which("node") is None:
        pytest.skip(f"allure {ALLURE_NPM} is not in the cache, or no Node.js")
    history = tmp_path / "kept" / "history.jsonl"  # its directory does not exist yet: created
    console = Console(file=io.StringIO())
    try:
        for night, status in enumerate(("failed", "passed"), start=1):
            _write_results(tmp_path / f"results-{night}", status)
            generate_html(tmp_path / f"results-{night}", tmp_path / f"html-{night}", "acme", console,
                          history=history)  # fmt: skip
    except AllureUnavailable as error:
        pytest.fail(str(error))

    first, second = _status_dynamics(tmp_path / "html-1"), _status_dynamics(tmp_path / "html-2")
    assert len(first) == 1
    assert len(second) == 2, second
    # oldest first: the previous night (failed), then this report (passed)
    assert [point["statistic"] for point in second] == [{"total": 1, "failed": 1}, {"total": 1, "passed": 1}]
    assert second[-1]["id"] == "current"
    lines = history.read_text().splitlines()
    assert len(lines) == 2
    said = console.file.getvalue()  # type: ignore[attr-defined]
    assert f"Allure history: {history} (1 report(s) in the trend)" in said
    assert f"Allure history: {history} (2 report(s) in the trend)" in said
    statuses = [[item["status"] for item in json.loads(line)["testResults"].values()] for line in lines]
    assert statuses == [["failed"], ["passed"]]
    # the previous night is also in the second report's data, for the test's own history
    html = (tmp_path / "html-2" / "index.html").read_text()
    (previous,) = re.findall(r'd\("(data/history/[^"]+\.json)","', html)
    night_before = _embedded(tmp_path / "html-2", previous)["testResults"]
    assert [item["status"] for item in night_before.values()] == ["failed"]


class _Config:
    def __init__(self, given: str | None, directory: Path) -> None:
        self.given = given
        self.invocation_params = type("Params", (), {"dir": directory})()

    def getoption(self, name: str) -> str | None:
        assert name == "allure_history"
        return self.given


def test_the_option_is_a_file_relative_to_where_pytest_ran(tmp_path):
    assert allure_history(_Config(None, tmp_path)) is None  # type: ignore[arg-type]
    assert allure_history(_Config("h/history.jsonl", tmp_path)) == tmp_path / "h" / "history.jsonl"  # type: ignore[arg-type]
    (tmp_path / "h").mkdir()
    with pytest.raises(pytest.UsageError, match="is a directory; give a file in it"):
        allure_history(_Config("h", tmp_path))  # type: ignore[arg-type]
