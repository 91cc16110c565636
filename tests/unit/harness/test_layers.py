"""The harness's layers, checked over every import (inside functions too), so the design holds as the
code grows: a package imports only from the layers below it; the suite imports the test API, the run's
data and the formats, never the run's machinery; no module imports another's private name; no cycle."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from vnode_harness.formats.paths import REPO_ROOT

HARNESS = REPO_ROOT / "vnode_harness"

LAYERS: list[set[str]] = [
    {"formats"},  # the files and names the suite is defined by
    {"plumbing"},  # API clients, host processes, ports, locks, waits, probe pods
    {"run_context", "toolchain", "faults"},  # the run as data; upstream builds; fault injectors
    {"testapi", "report"},  # what a conformance test imports; the report
    {"providers"},  # clusters and the implementation in them
    {"lifecycle", "incluster"},  # one run from start to end; the suite run as a Job in the cluster
    {"plugin", "cli"},  # the two faces: pytest and `vnode`
]
LAYER_OF = {package: index for index, layer in enumerate(LAYERS) for package in layer}

SUITE_MAY_IMPORT = {"testapi", "formats", "run_context", "plumbing.waits", "plumbing.kube"}
"""The conformance tests act and judge through the test API; they never start, stop or report."""


def imported_modules(path: Path) -> Iterator[tuple[str, list[str]]]:
    """(module, names) for every `import`/`from … import` of the harness in the file."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vnode_harness"):
            yield node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("vnode_harness"):
                    yield alias.name, []


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def harness_files() -> list[Path]:
    return sorted(HARNESS.rglob("*.py"))


def test_every_package_has_a_layer():
    packages = {p.name for p in HARNESS.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules = {p.stem for p in HARNESS.glob("*.py") if p.stem != "__init__"}
    assert packages | modules == set(LAYER_OF)


def upward_imports(root: Path) -> list[str]:
    """Imports of a package from its own layer or one above (the harness lives at `root/vnode_harness`)."""
    upward = []
    for path in sorted((root / "vnode_harness").rglob("*.py")):
        source = package_of(".".join(path.relative_to(root).with_suffix("").parts))
        for module, _ in imported_modules(path):
            target = package_of(module)
            if target and target != source and LAYER_OF[target] >= LAYER_OF[source]:
                upward.append(f"{path.relative_to(root)} imports {module}")
    return upward


def test_imports_run_down_the_layers_only():
    assert upward_imports(REPO_ROOT) == []


def test_no_private_name_is_imported_across_modules():
    private = []
    for path in [*harness_files(), *sorted((REPO_ROOT / "conformance").glob("*.py"))]:
        for module, names in imported_modules(path):
            private += [
                f"{path.relative_to(REPO_ROOT)}: {module}.{name}"
                for name in names
                if name.startswith("_") and not name.endswith("__")
            ]
    assert private == []


def test_the_suite_imports_the_test_api_and_the_run_data_only():
    outside = []
    for path in sorted((REPO_ROOT / "conformance").glob("*.py")):
        for module, _ in imported_modules(path):
            dotted = module.removeprefix("vnode_harness.")
            if not any(dotted == allowed or dotted.startswith(f"{allowed}.") for allowed in SUITE_MAY_IMPORT):
                outside.append(f"{path.relative_to(REPO_ROOT)} imports {module}")
    assert outside == []


def test_the_layer_check_sees_upward_and_sideways_imports(tmp_path):
    """The check can fail: formats importing the plugin (inside a function) and testapi importing the
    report (its own layer) are both found; plugin importing formats is not."""
    formats, testapi, plugin = (
        tmp_path / "vnode_harness" / name for name in ("formats", "testapi", "plugin")
    )
    for package in (formats, testapi, plugin):
        package.mkdir(parents=True)
    (formats / "a.py").write_text("def f():\n    from vnode_harness.plugin.options import is_full_run\n")
    (testapi / "b.py").write_text("from vnode_harness.report import model\n")
    (plugin / "c.py").write_text("from vnode_harness.formats import names\n")
    assert upward_imports(tmp_path) == [
        "vnode_harness/formats/a.py imports vnode_harness.plugin.options",
        "vnode_harness/testapi/b.py imports vnode_harness.report",
    ]
