"""actionlint in `tox -e lint`: pinned and built like the upstream binaries, a clear error without Go, and
(where this machine has built it) a verdict that passes the project's workflows and fails a broken one."""

from __future__ import annotations

import pytest

from vnode_harness.formats import versions
from vnode_harness.toolchain.actionlint import WORKFLOWS_DIR, lint_workflows, main, workflow_files
from vnode_harness.toolchain.cache import component_dir, read_stamp
from vnode_harness.toolchain.recipes import ALL_RECIPES, DEV_RECIPES, RECIPES

RECIPE = DEV_RECIPES["actionlint"]
BROKEN = """name: broken
on: push
jobs:
  j:
    runs-on: ubuntu-24.04
    steps:
      - run: echo "${{ github.event.no_such_context.x }}"
        if: ${{ steps.missing.outputs.x }}
      - uses: actions/checkout
"""


def test_actionlint_is_pinned_and_stamped_with_its_version():
    assert RECIPE.module == "github.com/rhysd/actionlint"
    assert RECIPE.module_version == versions.ACTIONLINT
    assert f"-X github.com/rhysd/actionlint.version={versions.ACTIONLINT}" in RECIPE.ldflags
    assert RECIPE.binaries[0].probe.expected == versions.ACTIONLINT
    # buildable by name like every component, but not part of the local environment's toolchain
    assert ALL_RECIPES["actionlint"] is RECIPE
    assert "actionlint" not in RECIPES


def test_the_project_has_workflows_to_check():
    assert WORKFLOWS_DIR / "nightly.yml" in workflow_files()


def test_without_go_the_lint_says_what_it_needs(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv("VNODE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("VNODE_BIN_DIR", raising=False)
    assert main([str(WORKFLOWS_DIR / "nightly.yml")]) == 2
    said = " ".join(capsys.readouterr().err.split())
    assert f"tox -e lint checks .github/workflows with actionlint {versions.ACTIONLINT}" in said
    assert "Go toolchain is not on PATH" in said


def test_the_built_actionlint_passes_the_workflows_and_fails_a_broken_one(tmp_path, capfd):
    if read_stamp(component_dir(RECIPE)) != RECIPE.digest:
        pytest.skip(f"{RECIPE.label} is not built on this machine yet (tox -e lint builds it)")
    from rich.console import Console

    console = Console(stderr=True)
    assert lint_workflows(workflow_files(), console) == 0
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN)
    assert lint_workflows([broken], console) == 1
    found = capfd.readouterr().out
    assert 'property "missing" is not defined' in found, found
    assert "ref is missing" in found, found
