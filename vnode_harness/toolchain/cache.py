"""Where built binaries live: a user cache directory keyed by component and version.

`VNODE_CACHE_DIR` overrides the location (CI machines with a persistent cache volume); otherwise
`$XDG_CACHE_HOME/virtual-node-conformance`, falling back to `~/.cache/virtual-node-conformance`.
"""

from __future__ import annotations

import os
from pathlib import Path

from vnode_harness.toolchain.recipes import Recipe

STAMP_NAME = ".recipe-digest"
"""Written last into a component directory: its presence means the build completed."""


def cache_root() -> Path:
    override = os.environ.get("VNODE_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "virtual-node-conformance"


def component_dir(recipe: Recipe) -> Path:
    return cache_root() / "bin" / recipe.directory_name


def read_stamp(directory: Path) -> str | None:
    """The recipe digest a completed build recorded, or None when there is no complete build."""
    try:
        return (directory / STAMP_NAME).read_text().strip()
    except OSError:
        return None
