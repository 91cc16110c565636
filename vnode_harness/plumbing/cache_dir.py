"""The user cache directory every build and lock of the harness shares.

`VNODE_CACHE_DIR` overrides the location (CI machines with a persistent cache volume); otherwise
`$XDG_CACHE_HOME/virtual-node-conformance`, falling back to `~/.cache/virtual-node-conformance`.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    override = os.environ.get("VNODE_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "virtual-node-conformance"
