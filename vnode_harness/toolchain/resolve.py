"""Find every upstream binary the local environment needs, building what is missing.

Order of preference for each component: a directory named by `VNODE_BIN_DIR`, then `PATH` — each only
when every binary of the component answers its version probe with the pinned version — then a
completed build in the user cache, then a fresh build. A binary of the wrong version is never used:
it is reported and skipped, because a conformance verdict against an unknown Kubernetes is worthless.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from vnode_harness.plumbing.console import make_console
from vnode_harness.toolchain.build import build
from vnode_harness.toolchain.cache import component_dir, read_stamp
from vnode_harness.toolchain.errors import ToolchainError
from vnode_harness.toolchain.recipes import ALL_RECIPES, RECIPES, Binary, Recipe


@dataclass(frozen=True)
class Toolchain:
    """Absolute paths of every binary, by binary name (kube-apiserver, etcd, kwokctl, …)."""

    binaries: dict[str, Path]
    origins: dict[str, str]
    """component → where its binaries came from ("cache", "built", "PATH", "VNODE_BIN_DIR")."""

    def __getitem__(self, name: str) -> Path:
        return self.binaries[name]


def _probe_output(path: Path, binary: Binary) -> str:
    try:
        result = subprocess.run(
            [str(path), *binary.probe.args], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"<{error}>"
    return result.stdout + result.stderr


def _candidate(recipe: Recipe, directories: Iterable[Path], console: Console, origin: str) -> Path | None:
    """The directory holding every binary of `recipe` at the pinned version, if one does."""
    for directory in directories:
        found = [directory / binary.name for binary in recipe.binaries]
        if not all(path.is_file() and os.access(path, os.X_OK) for path in found):
            continue
        mismatched = [
            (path, binary)
            for path, binary in zip(found, recipe.binaries, strict=True)
            if binary.probe.expected not in _probe_output(path, binary)
        ]
        if not mismatched:
            return directory
        for path, binary in mismatched:
            console.print(
                f"[yellow]ignoring {path} from {origin}: it is not {recipe.label} "
                f"(`{path.name} {' '.join(binary.probe.args)}` does not say '{binary.probe.expected}')"
            )
    return None


def _path_directories(recipe: Recipe) -> list[Path]:
    first = shutil.which(recipe.binaries[0].name)
    return [Path(first).parent] if first else []


def resolve_component(recipe: Recipe, console: Console, *, allow_build: bool = True) -> tuple[Path, str]:
    configured = os.environ.get("VNODE_BIN_DIR")
    if configured:
        directory = _candidate(recipe, [Path(configured).expanduser()], console, "VNODE_BIN_DIR")
        if directory:
            return directory, "VNODE_BIN_DIR"
    directory = _candidate(recipe, _path_directories(recipe), console, "PATH")
    if directory:
        return directory, "PATH"
    cached = component_dir(recipe)
    if read_stamp(cached) == recipe.digest:
        return cached, "cache"
    if not allow_build:
        raise ToolchainError(
            f"{recipe.label} is not built yet (looked in VNODE_BIN_DIR, PATH and {cached}); "
            "run `vnode toolchain build`"
        )
    console.print(f"[bold]Building {recipe.label}[/bold] from Go modules (first use; cached afterwards)")
    with console.status(f"{recipe.label}: starting") as status:
        directory = build(recipe, status.update)
    console.print(f"[green]{recipe.label} ready[/green] in {directory}")
    return directory, "built"


def resolve_toolchain(
    components: Iterable[str] | None = None, *, console: Console | None = None, allow_build: bool = True
) -> Toolchain:
    """Resolve (and build when missing) the named components: the local environment's by default, or
    any of ALL_RECIPES by name (the kind image set's too)."""
    console = console or make_console(stderr=True)
    binaries: dict[str, Path] = {}
    origins: dict[str, str] = {}
    for name in components or RECIPES:
        recipe = ALL_RECIPES[name]
        directory, origin = resolve_component(recipe, console, allow_build=allow_build)
        origins[name] = origin
        for binary in recipe.binaries:
            binaries[binary.name] = directory / binary.name
    return Toolchain(binaries=binaries, origins=origins)
