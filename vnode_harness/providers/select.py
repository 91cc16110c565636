"""Which cluster provider a run uses: `--cluster kind|local|existing|auto`.

`auto` prefers kind, the more faithful environment (real kubelets, Istio's own images), when it can
work — a Docker daemon answers and a `kind` binary is there — and otherwise the local provider, which
needs neither. The reason is returned so the caller can print it: a run should say which environment
certified the implementation and why that one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from vnode_harness.providers.kind.docker import docker_available

PROVIDERS = ("kind", "local", "existing", "auto")


def choose_provider(requested: str, *, kind_bin: Path | None = None) -> tuple[str, str]:
    """(provider, reason) for a `--cluster` value; `kind_bin` is an explicit `--kind-bin`, if any."""
    if requested in ("kind", "local", "existing"):
        return requested, f"--cluster {requested} was requested"
    if requested != "auto":
        raise ValueError(f"unknown cluster provider {requested!r}; choose one of {', '.join(PROVIDERS)}")
    kind = str(kind_bin) if kind_bin is not None and kind_bin.is_file() else shutil.which("kind")
    if kind is None:
        return "local", "--cluster auto: no kind binary on PATH (or --kind-bin), so the local provider"
    available, reason = docker_available()
    if not available:
        return "local", f"--cluster auto: Docker is not usable ({reason}), so the local provider"
    return "kind", f"--cluster auto: {reason} answers and kind is at {kind}, so the kind provider"
