"""Upstream binaries (Kubernetes, etcd, kwok, virtual-kubelet, Istio) built from Go modules and cached."""

from vnode_harness.toolchain.errors import ToolchainError
from vnode_harness.toolchain.recipes import RECIPES, Recipe
from vnode_harness.toolchain.resolve import Toolchain, resolve_toolchain

__all__ = ["RECIPES", "Recipe", "Toolchain", "ToolchainError", "resolve_toolchain"]
