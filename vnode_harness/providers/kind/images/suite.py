"""The conformance suite's own image (`vnode/conformance:<version>`), for runs inside the cluster.

`vnode run --in-cluster` runs the suite as a Job in the cluster under test, so the suite must be an
image: the harness, the conformance tests, the catalogue and fixtures, installed on Debian's Python from
the wheelhouse the reference implementation's image uses (files/conformance.Dockerfile). Its key is the
content of those files, so an unchanged checkout reuses the image and any edit rebuilds it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from vnode_harness import __version__
from vnode_harness.formats.paths import REPO_ROOT
from vnode_harness.providers.kind.images.engine import Step, StepRun

SUITE_IMAGE = f"vnode/conformance:{__version__}"
DOCKERFILE = Path(__file__).parent / "files" / "conformance.Dockerfile"
SUITE_FILES = (
    "pyproject.toml",
    "README.md",
    "conftest.py",
    "vnode_harness",
    "conformance",
    "fixtures",
    "implementations",
    "docs/conformance-report.schema.json",
)
"""What the image holds of the checkout (relative to its root): what `pytest conformance` reads."""
_SKIPPED = ("__pycache__", ".egg-info", ".pyc", ".mypy_cache", ".pytest_cache")


def suite_files(root: Path = REPO_ROOT) -> Iterator[Path]:
    """Every file of SUITE_FILES under `root`, sorted, without caches and build metadata."""
    for entry in SUITE_FILES:
        path = root / entry
        candidates = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in candidates:
            relative = file.relative_to(root).as_posix()
            if not any(part.endswith(_SKIPPED) for part in relative.split("/")):
                yield file


def suite_digest(root: Path = REPO_ROOT) -> str:
    """The content of the suite's files, paths included: the image's cache key."""
    digest = hashlib.sha256()
    for file in suite_files(root):
        digest.update(file.relative_to(root).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def copy_suite(target: Path, root: Path = REPO_ROOT) -> None:
    """The build context's `suite/` directory: a copy of the suite's files, as in the checkout."""
    for file in suite_files(root):
        destination = target / file.relative_to(root)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, destination)


def suite_step() -> Step:
    """The image step: after the Debian base and the wheelhouse (their IDs join its key)."""

    def build(step: StepRun) -> None:
        context = step.workdir / "context"
        copy_suite(context / "suite")
        shutil.copy2(DOCKERFILE, context / "Dockerfile")
        step.progress("docker build (pip install from the wheelhouse, offline)")
        step.run(
            ["docker", "build", "--tag", SUITE_IMAGE, str(context)],
            what=f"docker build of {SUITE_IMAGE}",
            env={**os.environ, "DOCKER_BUILDKIT": "0"},
        )

    return Step(
        "conformance",
        SUITE_IMAGE,
        lambda: {"dockerfile": DOCKERFILE.read_text(), "suite": suite_digest()},
        build,
        after=("debian", "eci-reference-wheels"),
    )
