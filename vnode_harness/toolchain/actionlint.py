"""`python -m vnode_harness.toolchain.actionlint`: check the project's GitHub Actions workflows (tox -e lint).

A workflow that cannot run here (the nightly) is only ever checked by a linter, so `tox -e lint` runs
actionlint on `.github/workflows/`. actionlint is a Go module: it is resolved like every pinned upstream
binary (VNODE_BIN_DIR, PATH, the user cache) and built on first use with the toolchain's builder, so a
fresh clone's `tox` needs nothing but Go. Its shellcheck and pyflakes integrations are switched off:
they run only where those tools happen to be installed, and a lint verdict must not depend on the
machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from vnode_harness.formats.paths import REPO_ROOT
from vnode_harness.plumbing.console import make_console
from vnode_harness.toolchain.errors import ToolchainError
from vnode_harness.toolchain.recipes import DEV_RECIPES
from vnode_harness.toolchain.resolve import resolve_component

WORKFLOWS_DIR = REPO_ROOT / ".github" / "workflows"
REPRODUCIBLE_FLAGS = ("-shellcheck=", "-pyflakes=")
"""Only actionlint's own checks, so the verdict is the same on every machine."""


def workflow_files(directory: Path = WORKFLOWS_DIR) -> list[Path]:
    """Every workflow file, as GitHub finds them (*.yml and *.yaml directly in the directory)."""
    return sorted(path for pattern in ("*.yml", "*.yaml") for path in directory.glob(pattern))


def actionlint_binary(console: Console) -> Path:
    """The pinned actionlint, built into the user cache on first use (with progress on `console`)."""
    recipe = DEV_RECIPES["actionlint"]
    try:
        directory, _ = resolve_component(recipe, console)
    except ToolchainError as error:
        raise ToolchainError(
            f"tox -e lint checks .github/workflows with {recipe.label}, built from Go modules on first use, "
            f"and could not get it: {error}"
        ) from error
    return directory / recipe.binaries[0].name


def lint_workflows(files: list[Path], console: Console) -> int:
    """actionlint's exit status on `files` (0: no problem); its findings go to stdout as it prints them."""
    if not files:
        console.print(f"no workflow files in {WORKFLOWS_DIR}: nothing for actionlint to check")
        return 0
    binary = actionlint_binary(console)
    result = subprocess.run([str(binary), *REPRODUCIBLE_FLAGS, *map(str, files)], cwd=REPO_ROOT, check=False)
    if result.returncode == 0:
        names = ", ".join(os.path.relpath(path, REPO_ROOT) for path in files)
        console.print(f"actionlint {DEV_RECIPES['actionlint'].version}: {names}: no problems")
    return result.returncode


def main(argv: list[str] | None = None) -> int:
    console = make_console(stderr=True)
    files = [Path(arg).resolve() for arg in argv] if argv else workflow_files()
    try:
        return lint_workflows(files, console)
    except ToolchainError as error:
        console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
