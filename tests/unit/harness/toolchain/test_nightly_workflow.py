"""The nightly workflow cannot run here, so what it must keep is checked here: it runs only commands CI
runs (.ci/run), every action pinned by commit, and the Allure history reaches the kind conformance run
and nothing else (a mutant's run added to it would be a night of the trend)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from vnode_harness.formats.paths import REPO_ROOT

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "nightly.yml"
AS_ROOT = 'sudo -E env "PATH=$PATH" "HOME=$HOME" '
RUNNER_PREPARATION = ("sudo rm -rf /usr/local/lib/android ", "df -h /")
"""Commands that prepare the hosted runner itself, not the project."""


def _jobs() -> dict[str, Any]:
    jobs: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    return jobs


def _run_lines() -> list[tuple[str, str]]:
    return [
        (name, line.strip())
        for name, job in _jobs().items()
        for step in job["steps"]
        for line in step.get("run", "").splitlines()
        if line.strip()
    ]


def test_every_project_command_is_one_ci_runs():
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    commands = [line for _, line in _run_lines() if not line.startswith(RUNNER_PREPARATION)]
    assert commands
    for line in commands:
        assert line.startswith(AS_ROOT), f"not run as CI runs it (root, the runner's PATH and HOME): {line}"
        assert line.removeprefix(AS_ROOT) in ci, f"not a command .ci/run runs: {line}"
    ran = {line.removeprefix(AS_ROOT) for line in commands}
    assert "python3 -m tox run -e conformance -- --cluster kind" in ran
    assert "python3 -m tox run -e mutation -- --full" in ran


def test_every_action_is_pinned_by_commit_with_its_version_named():
    uses = re.findall(r"uses:\s*(\S+)(.*)", WORKFLOW.read_text())
    assert uses
    for action, comment in uses:
        assert re.fullmatch(r"actions/[\w-]+(/[\w-]+)?@[0-9a-f]{40}", action), action
        assert re.fullmatch(r"\s*# v\d+\.\d+\.\d+", comment), f"{action}: no version comment"


def test_the_allure_history_reaches_the_kind_conformance_run_only():
    document = yaml.safe_load(WORKFLOW.read_text())
    assert "VNODE_ALLURE_HISTORY" not in document.get("env", {})
    fed = []
    for name, job in _jobs().items():
        assert "VNODE_ALLURE_HISTORY" not in job.get("env", {}), name
        for step in job["steps"]:
            if "VNODE_ALLURE_HISTORY" in step.get("env", {}):
                fed.append((name, step["run"].removeprefix(AS_ROOT)))
    assert fed == [("conformance-kind", "python3 -m tox run -e conformance -- --cluster kind")]
    history = Path(_jobs()["conformance-kind"]["env"]["ALLURE_HISTORY"])
    cached = [
        step["with"]["path"]
        for step in _jobs()["conformance-kind"]["steps"]
        if str(step.get("uses", "")).startswith("actions/cache/")
    ]
    assert cached.count(str(history.parent)) == 2  # restored before the run, saved after it
