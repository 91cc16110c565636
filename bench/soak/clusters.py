"""The one cluster a soak runs against: started once, kept for every run, torn down at the end.

`local`: the embedded local cluster with the reference implementation as a host process, started as
`vnode cluster up --implementation` starts its playground (so the runs see it through `--cluster
existing`, like a vendor's cluster, and the "without restarting" checks get its pid). `kind`: the kind
provider with the implementation installed in the cluster (its pods, its images).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

from vnode_harness.formats.implementation import load_implementation

from .heavy_lock import HeavyLock
from .suite_run import Target


@contextmanager
def local_target(
    implementation_file: Path, logs_dir: Path, lock: HeavyLock, console: Console
) -> Iterator[Target]:
    from vnode_harness.cli.playground import start_playground_implementation
    from vnode_harness.providers.local.cluster import LocalCluster

    implementation = load_implementation(implementation_file)
    cluster = LocalCluster(logs_dir=logs_dir, console=console)
    try:
        with lock:
            handle = cluster.up()
            started = start_playground_implementation(
                implementation, handle, cluster.directory, cluster.pid_dir, with_istio=True
            )
        yield Target("local", handle.kubeconfig, implementation_file, implementation_pid=started.process.pid)
    finally:
        cluster.down()


@contextmanager
def kind_target(
    implementation_file: Path, repo: Path, logs_dir: Path, lock: HeavyLock, console: Console
) -> Iterator[Target]:
    from vnode_harness.providers.kind.cluster import KindProvider
    from vnode_harness.testapi.workloads import TEST_IMAGE_VARIABLE

    provider = KindProvider(
        implementation=load_implementation(implementation_file),
        implementation_root=repo,
        logs_dir=logs_dir,
        console=console,
    )
    try:
        with lock:
            handle = provider.up()
            provider.install_implementation(handle)
        # The kind nodes pull nothing from a registry: test pods use the image the provider loaded.
        env = {TEST_IMAGE_VARIABLE: os.environ.get(TEST_IMAGE_VARIABLE, handle.facts["testImage"])}
        yield Target("kind", handle.kubeconfig, implementation_file, env=env)
    finally:
        provider.down()
