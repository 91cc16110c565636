"""The providers by name: the one place a provider name becomes a provider.

Each factory imports its provider only when chosen, so a local run never loads the kind provider.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console

from vnode_harness.formats.implementation import Implementation, ProviderName
from vnode_harness.providers.base import ClusterProvider
from vnode_harness.run_context import RunOptions

ProviderFactory = Callable[[RunOptions, Implementation, Console], ClusterProvider]


def _local(options: RunOptions, implementation: Implementation, console: Console) -> ClusterProvider:
    from vnode_harness.providers.local.provider import LocalProvider

    return LocalProvider.from_options(options, implementation, console=console)


def _kind(options: RunOptions, implementation: Implementation, console: Console) -> ClusterProvider:
    from vnode_harness.providers.kind.cluster import KindProvider

    return KindProvider.from_options(options, implementation, console=console)


def _existing(options: RunOptions, implementation: Implementation, console: Console) -> ClusterProvider:
    from vnode_harness.providers.existing import ExistingCluster

    return ExistingCluster.from_options(options)


FACTORIES: dict[ProviderName, ProviderFactory] = {"local": _local, "kind": _kind, "existing": _existing}

GIVEN_CLUSTERS: frozenset[ProviderName] = frozenset({"existing"})
"""Providers that start no cluster: their clusters are the kubeconfigs the user gives (`--kubeconfig`,
once per cluster), so the kubeconfigs, not the machine, say how many clusters a run has."""


def make_provider(
    name: ProviderName, options: RunOptions, implementation: Implementation, console: Console
) -> ClusterProvider:
    """The provider `name` for this run, its options unpacked once, here."""
    return FACTORIES[name](options, implementation, console)
