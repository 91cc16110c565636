"""Builds and runs tests/kindconfig_check: kind's own config decoding and validation, without Docker.

The checker is a small Go program against sigs.k8s.io/kind at the pinned version (see its main.go).
It is built once per source digest into the user cache, like the toolchain's binaries.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from vnode_harness.formats.paths import REPO_ROOT
from vnode_harness.plumbing.cache_dir import cache_root

REPOSITORY = REPO_ROOT
SOURCE = REPOSITORY / "tests" / "kindconfig_check"
SOURCE_FILES = ("go.mod", "go.sum", "main.go")


def checker_binary() -> Path:
    go = shutil.which("go")
    if go is None:
        pytest.skip("the kind config check needs the Go toolchain (it builds kind's config package)")
    digest = hashlib.sha256(b"".join((SOURCE / name).read_bytes() for name in SOURCE_FILES)).hexdigest()[:12]
    target = cache_root() / "bin" / f"kindconfig-check-{digest}" / "kindconfig-check"
    if target.is_file():
        return target
    target.parent.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".kindconfig-check-", dir=target.parent.parent))
    try:
        result = subprocess.run(
            [go, "build", "-trimpath", "-o", str(staging / "kindconfig-check"), "."],
            cwd=SOURCE,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
            env={**os.environ, "CGO_ENABLED": "0"},
        )
        assert result.returncode == 0, f"building {SOURCE} failed:\n{result.stderr[-3000:]}"
        try:
            staging.rename(target.parent)
        except OSError:  # another process built it first
            assert target.is_file()
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def check(paths: list[Path], image: str, name: str = "vnode-0a1b2c") -> tuple[int, list[dict[str, Any]]]:
    """Run the checker; return its exit status and one result object per file."""
    result = subprocess.run(
        [str(checker_binary()), "--image", image, "--name", name, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode in (0, 1), f"kindconfig-check failed to run:\n{result.stderr}"
    return result.returncode, [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
