"""What every cluster provider does for a run: bring a cluster up, install and stop the implementation
under test there, and take down what it started."""

from __future__ import annotations

from typing import Protocol

from vnode_harness.formats.implementation import ProviderName
from vnode_harness.run_context import ClusterHandle

HostProcessIdentity = dict[str, str]
"""A host-process implementation's pid, start time, name and log (the "without restarting" checks);
empty when the implementation runs in the cluster."""


class ClusterProvider(Protocol):
    """One provider of a run's cluster. `down` must be safe to call twice and after a failed `up`."""

    name: ProviderName
    keeps_cluster: bool
    """True when the cluster outlives the run (an existing cluster, or one kept with --keep-cluster)."""

    def up(self) -> ClusterHandle:
        """Start (or reach) the cluster and return once its topology is ready."""
        ...

    def install_implementation(self, cluster: ClusterHandle) -> HostProcessIdentity:
        """Install the implementation under test as its file says for this provider (nothing where the
        provider installs nothing); the identity of a host process it started, else {}."""
        ...

    def stop_implementation(self) -> str | None:
        """Stop the implementation this provider installed, to observe the cluster without it: what was
        stopped, or None when this provider did not start it (so it does not stop it either)."""
        ...

    def down(self) -> None:
        """End what the provider started for the run (the cluster itself unless it is kept)."""
        ...
