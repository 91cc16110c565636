"""Which cluster provider a run uses: `--cluster kind|local|existing|auto`.

`auto` prefers kind, the more faithful environment (real kubelets in Docker), when it can work at
once — a Docker daemon answers, a `kind` binary is there (PATH, --kind-bin, or the toolchain's build)
and its images are (the locally built set, or the pinned upstream node image) — and otherwise the
local provider, which needs none of them. auto never starts a long image build by itself: `vnode kind
images` or `--cluster kind` does. The reason is returned so the caller can print it: a run should
say which environment certified the implementation and why that one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from vnode_harness.formats.implementation import CLUSTER_CHOICES, ProviderName, is_provider_name
from vnode_harness.providers.kind.docker import docker_available


def choose_provider(requested: str, *, kind_bin: Path | None = None) -> tuple[ProviderName, str]:
    """(provider, reason) for a `--cluster` value; `kind_bin` is an explicit `--kind-bin`, if any."""
    if is_provider_name(requested):
        return requested, f"--cluster {requested} was requested"
    if requested != "auto":
        raise ValueError(
            f"unknown cluster provider {requested!r}; choose one of {', '.join(CLUSTER_CHOICES)}"
        )
    kind = str(kind_bin) if kind_bin is not None and kind_bin.is_file() else shutil.which("kind")
    if kind is None:
        kind = _toolchain_kind()
    if kind is None:
        return (
            "local",
            "--cluster auto: no kind binary on PATH (or --kind-bin, or built), so the local provider",
        )
    available, reason = docker_available()
    if not available:
        return "local", f"--cluster auto: Docker is not usable ({reason}), so the local provider"
    images_ready, images_reason = _kind_images_ready()
    if not images_ready:
        return "local", f"--cluster auto: {images_reason}, so the local provider"
    return (
        "kind",
        f"--cluster auto: {reason} answers, kind is at {kind} and {images_reason}, so the kind provider",
    )


def _toolchain_kind() -> str | None:
    from vnode_harness.toolchain.cache import component_dir, read_stamp
    from vnode_harness.toolchain.recipes import KIND_RECIPES

    recipe = KIND_RECIPES["kind"]
    directory = component_dir(recipe)
    return str(directory / "kind") if read_stamp(directory) == recipe.digest else None


def _kind_images_ready() -> tuple[bool, str]:
    from vnode_harness.formats import versions
    from vnode_harness.providers.kind.images.engine import image_id
    from vnode_harness.providers.kind.images.plan import built_set_ready

    if image_id(versions.KIND_NODE_IMAGE):
        return True, "the pinned upstream node image is in Docker"
    return built_set_ready()
