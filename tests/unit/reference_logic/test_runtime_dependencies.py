"""The reference implementation's image installs only its `[reference]` extra (eci_reference/deploy/
Dockerfile), so that extra must name every distribution eci_reference imports, with the harness's pins."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[3]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _requirements(lines: list[str]) -> dict[str, Requirement]:
    return {canonicalize_name(requirement.name): requirement for requirement in map(Requirement, lines)}


def _imported_top_level_modules() -> set[str]:
    modules: set[str] = set()
    for source in (ROOT / "eci_reference").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"eci_reference", "__future__"}


def _with_their_requirements(names: set[str]) -> set[str]:
    """The extra's distributions and what they require in turn (pydantic brings pydantic-core)."""
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for line in metadata.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(requirement.name))
    return seen


def test_the_reference_extra_names_every_distribution_eci_reference_imports() -> None:
    extra = set(_requirements(PROJECT["optional-dependencies"]["reference"]))
    distributions = metadata.packages_distributions()
    imported = {
        canonicalize_name(distribution)
        for module in _imported_top_level_modules()
        for distribution in distributions.get(module, [module])
    }
    missing = imported - _with_their_requirements(extra)
    assert not missing, f"eci_reference imports {sorted(missing)}, which its image would not have"
    unused = extra - imported
    assert not unused, f"the [reference] extra installs {sorted(unused)}, which eci_reference never imports"


def test_what_the_extra_shares_with_the_harness_has_the_harnesss_pins() -> None:
    harness = _requirements(PROJECT["dependencies"])
    for name, requirement in _requirements(PROJECT["optional-dependencies"]["reference"]).items():
        if name in harness:
            assert requirement.specifier == harness[name].specifier, f"{requirement} vs {harness[name]}"
