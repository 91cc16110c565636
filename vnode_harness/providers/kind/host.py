"""What the kind provider takes from this host: kind and kubectl, and the image set — never a download.

kind and kubectl come from an explicit path (`--kind-bin`, `--kind-kubectl-bin`), PATH, or the
toolchain's own build of the pinned version from Go modules: a certification run must not depend on
whatever a download served that day. The image set is the one already in Docker or one built here.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from pytest_kind import KindCluster
from rich.console import Console

from vnode_harness.formats import versions
from vnode_harness.providers.kind import commands
from vnode_harness.providers.kind.images.engine import image_id
from vnode_harness.run_context import ClusterError
from vnode_harness.toolchain import ToolchainError, resolve_toolchain

IMAGE_SETS = ("auto", "built", "upstream")
INSTALL_KIND = (
    f"install kind {versions.KIND} (`go install sigs.k8s.io/kind@{versions.KIND}`, or the release binary for "
    "your platform from the kind project's releases) and put it on PATH, or pass --kind-bin PATH"
)
INSTALL_KUBECTL = (
    "install kubectl (any release within one minor of Kubernetes 1.35) or pass --kind-kubectl-bin PATH"
)


def resolve_binary(explicit: Path | None, name: str, how_to_install: str, *, component: str | None = None,
                   console: Console | None = None) -> Path:  # fmt: skip
    """An explicit path (must be an executable file), the binary on PATH, or the toolchain's own build
    of the pinned version from Go modules (`component`; built on first use); never a download."""
    if explicit is not None:
        path = explicit.expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ClusterError(f"{path} is not an executable file: {how_to_install}")
        return path.resolve()
    found = shutil.which(name)
    if found is not None:
        return Path(found)
    if component is None:
        raise ClusterError(f"the kind provider needs {name}, which is not on PATH: {how_to_install}")
    try:
        return resolve_toolchain([component], console=console)[name]
    except ToolchainError as error:
        raise ClusterError(
            f"{name} is not on PATH and could not be built ({error}): {how_to_install}"
        ) from error


def choose_image_set(requested: str, explicit_node_image: bool) -> tuple[str, str]:
    """(built|upstream, reason). `auto` takes the pinned upstream images only where they are already in
    Docker (a run never reaches for a registry on its own); otherwise it builds them here."""
    if requested not in IMAGE_SETS:
        raise ClusterError(f"unknown --kind-images {requested!r}; choose one of {', '.join(IMAGE_SETS)}")
    if requested != "auto":
        return requested, f"--kind-images {requested} was requested"
    if explicit_node_image:
        return "upstream", "--kind-image names the node image"
    if image_id(versions.KIND_NODE_IMAGE):
        return "upstream", f"the pinned upstream node image {versions.KIND_NODE_IMAGE} is in Docker"
    return "built", (
        "the pinned upstream node image is not in Docker, so every image is built here from package "
        "registries (`--kind-images upstream` pulls the upstream ones instead)"
    )


def checked_kind_version(kind: Path, console: Console) -> str:
    """`kind version`, with a warning when it is not the pinned release the node image is made for."""
    output = commands.run([str(kind), "version"], what="kind version", timeout=30).strip()
    if versions.KIND not in output.split():
        console.print(
            f"[yellow]{kind} is `{output}`, not kind {versions.KIND}: the node image "
            f"{versions.KIND_NODE_IMAGE} is only guaranteed with kind {versions.KIND}"
        )
    return output


def kind_cluster(name: str, *, kubeconfig: Path, image: str, kind: Path, kubectl: Path) -> KindCluster:
    """pytest-kind's KindCluster with exactly these binaries (refused if it would download its own)."""
    cluster = KindCluster(name, kubeconfig=kubeconfig, image=image, kind_path=kind, kubectl_path=kubectl)
    # KindCluster makes a scratch directory .pytest-kind/<name> in the working directory, unused when
    # every path is given: leave no trace in the checkout.
    scratch = Path(".pytest-kind") / name
    for directory in (scratch, scratch.parent):
        with contextlib.suppress(OSError):
            directory.rmdir()
    if Path(cluster.kind_path) != kind or Path(cluster.kubectl_path) != kubectl:
        raise ClusterError("pytest-kind ignored the kind/kubectl paths and would download its own; refusing")
    return cluster
