"""Builds a component from its recipe with the machine's Go toolchain, into the user cache.

A build writes into a temporary directory beside its destination and renames it into place only
when every binary linked, with a stamp recording the recipe digest: an interrupted build (Ctrl-C,
a crash, a full disk) never leaves a half-built component that a later run would trust. A file lock
per component makes two checkouts or xdist workers that need the same build wait for one another
instead of building twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from vnode_harness.formats.versions import MINIMUM_GO
from vnode_harness.plumbing.cache_dir import cache_root
from vnode_harness.plumbing.file_lock import file_lock
from vnode_harness.plumbing.processes import log_tail
from vnode_harness.toolchain.cache import STAMP_NAME, component_dir, read_stamp
from vnode_harness.toolchain.errors import ToolchainError
from vnode_harness.toolchain.recipes import Recipe

ProgressCallback = Callable[[str], None]

_GO_VERSION = re.compile(r"go(\d+)\.(\d+)")
_STAGING_REPLACE = re.compile(r"^\s*(k8s\.io/[\w.-]+)\s+=>\s+\./staging/", re.MULTILINE)


def go_binary() -> str:
    """The `go` command to build with, or a clear error saying how to get one."""
    go = shutil.which("go")
    if go is None:
        raise ToolchainError(
            "the Go toolchain is not on PATH: the local environment builds Kubernetes, etcd, kwok, "
            f"virtual-kubelet and Istio from Go modules and needs Go >= {MINIMUM_GO[0]}.{MINIMUM_GO[1]}. "
            "Install Go, or put prebuilt binaries of the pinned versions in a directory named by "
            "VNODE_BIN_DIR."
        )
    output = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=False).stdout
    match = _GO_VERSION.search(output)
    if match is None or (int(match[1]), int(match[2])) < MINIMUM_GO:
        raise ToolchainError(
            f"{go} reports {output.strip() or 'no version'}; the pinned components need Go >= "
            f"{MINIMUM_GO[0]}.{MINIMUM_GO[1]}"
        )
    return go


@contextlib.contextmanager
def _component_lock(recipe: Recipe) -> Iterator[None]:
    with file_lock(cache_root() / "locks" / f"{recipe.directory_name}.lock"):
        yield


def _run_logged(command: list[str], cwd: Path, log: Path, step: str, recipe: Recipe) -> None:
    settings = " ".join(f"{name}={value}" for name, value in recipe.build_env)
    with open(log, "a") as out:
        out.write(f"\n$ (cd {cwd} && {settings + ' ' if settings else ''}{' '.join(command)})\n")
        out.flush()
        result = subprocess.run(
            command,
            cwd=cwd,
            env={**os.environ, **dict(recipe.build_env)},
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if result.returncode != 0:
        raise ToolchainError(
            f"building {recipe.label} failed at '{step}' (exit {result.returncode}); full log: {log}\n"
            f"{log_tail(log)}"
        )


def _staging_replaces(go: str, recipe: Recipe, workdir: Path, log: Path) -> list[tuple[str, str]]:
    """Read the staging-module list of the pinned Kubernetes release from its own go.mod."""
    gomod_path = Path(download_module(go, recipe.module, recipe.module_version, workdir, log)["GoMod"])
    staging_version = "v0." + recipe.module_version.lstrip("v").split(".", 1)[1]
    modules = _STAGING_REPLACE.findall(gomod_path.read_text())
    if not modules:
        raise ToolchainError(f"{gomod_path} lists no staging modules: cannot build {recipe.label}")
    return [(module, staging_version) for module in modules]


def download_module(go: str, module: str, version: str, workdir: Path, log: Path) -> dict[str, str]:
    """`go mod download -json` of one module: its Dir (source in the module cache) and GoMod paths."""
    result = subprocess.run(
        [go, "mod", "download", "-json", f"{module}@{version}"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
    )
    with open(log, "a") as out:
        out.write(result.stdout + result.stderr)
    if result.returncode != 0:
        raise ToolchainError(f"go mod download {module}@{version} failed; log: {log}")
    info: dict[str, str] = json.loads(result.stdout)
    return info


PATCHED_MODULE_DIR = "patched-upstream"
"""Directory, inside the wrapper module, holding the patched copy of the upstream module."""


def _prepare_patched_module(go: str, recipe: Recipe, workdir: Path, log: Path) -> str:
    """Copy the upstream module out of the read-only module cache, apply the recipe's patches with
    `git apply`, and return the relative path the wrapper's `replace` points at."""
    source = Path(download_module(go, recipe.module, recipe.module_version, workdir, log)["Dir"])
    target = workdir / PATCHED_MODULE_DIR
    shutil.copytree(source, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    # GIT_CEILING_DIRECTORIES keeps git from finding an enclosing repository (a TMPDIR inside a
    # checkout), so `git apply` patches these plain files relative to the module root.
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(workdir)}
    for patch in recipe.patch_paths():
        with open(log, "a") as out:
            out.write(f"\n$ git apply {patch.name}\n")
            out.flush()
            result = subprocess.run(
                ["git", "apply", "--verbose", str(patch)],
                cwd=target,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if result.returncode != 0:
            raise ToolchainError(
                f"patch {patch.name} does not apply to {recipe.module}@{recipe.module_version}: update or "
                f"drop it together with the pin in vnode_harness/formats/versions.py; log: {log}"
            )
    return f"./{PATCHED_MODULE_DIR}"


def _write_wrapper_module(
    workdir: Path, recipe: Recipe, replaces: list[tuple[str, str]], local_replace: str | None = None
) -> None:
    lines = [
        "module example.invalid/vnode-toolchain-wrapper",
        "",
        f"go {recipe.go_directive}",
        "",
        f"require {recipe.module} {recipe.module_version}",
    ]
    lines += [f"require {module} {version}" for module, version in recipe.extra_requires]
    if replaces:
        lines += ["", "replace ("]
        lines += [f"\t{module} => {module} {version}" for module, version in replaces]
        lines.append(")")
    if local_replace:
        lines += ["", f"replace {recipe.module} => {local_replace}"]
    (workdir / "go.mod").write_text("\n".join(lines) + "\n")
    imports = "\n".join(f'\t_ "{binary.package}"' for binary in recipe.binaries)
    (workdir / "tools.go").write_text(f"//go:build tools\n\npackage tools\n\nimport (\n{imports}\n)\n")


def _go_output_name(package: str) -> str:
    """The file name `go build -o dir/` gives a command: its last path element, or the one before a
    major-version suffix (go.etcd.io/etcd/server/v3 → server)."""
    parts = package.split("/")
    if len(parts) > 1 and re.fullmatch(r"v\d+", parts[-1]):
        return parts[-2]
    return parts[-1]


def build(recipe: Recipe, progress: ProgressCallback) -> Path:
    """Build `recipe` into the cache unless an up-to-date build is already there; return its directory."""
    destination = component_dir(recipe)
    with _component_lock(recipe):
        if read_stamp(destination) == recipe.digest:
            return destination
        go = go_binary()
        logs = cache_root() / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = logs / f"build-{recipe.directory_name}.log"
        log.write_text(f"building {recipe.label} (recipe {recipe.digest}) with {go}\n")
        started = time.monotonic()
        destination.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{recipe.directory_name}-", dir=destination.parent))
        try:
            with tempfile.TemporaryDirectory(prefix="vnode-wrapper-") as tmp:
                workdir = Path(tmp)
                replaces = list(recipe.replaces)
                # A throw-away module to run `go mod download` in; the wrapper's go.mod replaces it.
                (workdir / "go.mod").write_text("module example.invalid/probe\n\ngo 1.25.0\n")
                if recipe.replace_staging_from_gomod:
                    progress(f"{recipe.label}: reading the staging module list")
                    replaces += _staging_replaces(go, recipe, workdir, log)
                local_replace = None
                if recipe.patches:
                    progress(f"{recipe.label}: applying {len(recipe.patches)} patch(es)")
                    local_replace = _prepare_patched_module(go, recipe, workdir, log)
                _write_wrapper_module(workdir, recipe, replaces, local_replace)
                progress(f"{recipe.label}: resolving modules (go mod tidy)")
                _run_logged([go, "mod", "tidy"], workdir, log, "go mod tidy", recipe)
                progress(f"{recipe.label}: compiling {', '.join(b.name for b in recipe.binaries)}")
                command = [
                    go,
                    "build",
                    "-trimpath",
                    "-ldflags",
                    " ".join(recipe.ldflags),
                    "-o",
                    str(staging) + os.sep,
                    *(binary.package for binary in recipe.binaries),
                ]
                _run_logged(command, workdir, log, "go build", recipe)
            for binary in recipe.binaries:
                built = staging / _go_output_name(binary.package)
                if built.is_file() and built.name != binary.name:
                    built.rename(staging / binary.name)
                if not (staging / binary.name).is_file():
                    raise ToolchainError(f"go build of {recipe.label} produced no {binary.name}; log: {log}")
            (staging / STAMP_NAME).write_text(recipe.digest + "\n")
            if destination.exists():
                shutil.rmtree(destination)
            staging.rename(destination)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        progress(f"{recipe.label}: built in {time.monotonic() - started:.0f} s ({log})")
        return destination
