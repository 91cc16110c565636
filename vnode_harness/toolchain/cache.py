"""Where built binaries live: the user cache directory (plumbing.cache_dir), keyed by component and
version."""

from __future__ import annotations

from pathlib import Path

from vnode_harness.plumbing.cache_dir import cache_root
from vnode_harness.toolchain.recipes import Recipe

STAMP_NAME = ".recipe-digest"
"""Written last into a component directory: its presence means the build completed."""


def component_dir(recipe: Recipe) -> Path:
    return cache_root() / "bin" / recipe.directory_name


def read_stamp(directory: Path) -> str | None:
    """The recipe digest a completed build recorded, or None when there is no complete build."""
    try:
        return (directory / STAMP_NAME).read_text().strip()
    except OSError:
        return None
