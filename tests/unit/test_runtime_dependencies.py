"""What the code imports at run time is what pyproject installs with it: the suite (the harness, the
conformance tests) imports only the project's dependencies, so `pip install` of the suite runs it, and
the reference implementation's image installs only its `[reference]` extra (eci_reference/deploy/
Dockerfile), so that extra names every distribution eci_reference imports, with the harness's pins."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _requirements(lines: list[str]) -> dict[str, Requirement]:
    return {canonicalize_name(requirement.name): requirement for requirement in map(Requirement, lines)}


def _imported_top_level_modules(*trees: str) -> set[str]:
    modules: set[str] = set()
    for source in (path for tree in trees for path in (ROOT / tree).rglob("*.py")):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"__future__", *(tree.split("/")[0] for tree in trees)}


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


def _imported_distributions(*trees: str) -> set[str]:
    distributions = metadata.packages_distributions()
    return {
        canonicalize_name(distribution)
        for module in _imported_top_level_modules(*trees)
        for distribution in distributions.get(module, [module])
    }


def test_the_suite_imports_only_what_the_project_depends_on() -> None:
    """hypothesis once sat in the `dev` extra while the generated cases imported it at run time."""
    installed = _with_their_requirements(set(_requirements(PROJECT["dependencies"])))
    missing = _imported_distributions("vnode_harness", "conformance") - installed
    assert not missing, f"the suite imports {sorted(missing)}, which `pip install` of it would not bring"


def test_the_reference_extra_names_every_distribution_eci_reference_imports() -> None:
    extra = set(_requirements(PROJECT["optional-dependencies"]["reference"]))
    imported = _imported_distributions("eci_reference")
    missing = imported - _with_their_requirements(extra)
    assert not missing, f"eci_reference imports {sorted(missing)}, which its image would not have"
    unused = extra - imported
    assert not unused, f"the [reference] extra installs {sorted(unused)}, which eci_reference never imports"


def test_what_the_extra_shares_with_the_harness_has_the_harnesss_pins() -> None:
    harness = _requirements(PROJECT["dependencies"])
    for name, requirement in _requirements(PROJECT["optional-dependencies"]["reference"]).items():
        if name in harness:
            assert requirement.specifier == harness[name].specifier, f"{requirement} vs {harness[name]}"
