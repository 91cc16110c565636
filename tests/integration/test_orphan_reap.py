"""A run killed outright (SIGKILL: no teardown) leaves its local cluster and the implementation it
started; the next run reaps both — the implementation is recorded in the cluster's directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from rich.console import Console

from vnode_harness.formats.paths import REPO_ROOT
from vnode_harness.plumbing.waits import wait_for
from vnode_harness.providers.local.cluster import list_clusters, reap_orphaned_clusters

OWNER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from rich.console import Console
    from vnode_harness.formats.implementation import load_implementation
    from vnode_harness.providers.local.provider import LocalProvider
    from vnode_harness.run_context import RunOptions
    options = RunOptions(cluster="local", implementation_file=Path(sys.argv[1]), run_dir=Path(sys.argv[2]))
    provider = LocalProvider.from_options(options, load_implementation(options.implementation_file),
                                          console=Console(stderr=True, quiet=True))
    handle = provider.up()
    identity = provider.install_implementation(handle)
    print(handle.name, identity["pid"], flush=True)
    time.sleep(600)
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.integration
def test_a_killed_runs_cluster_and_implementation_are_reaped(tmp_path):
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(REPO_ROOT / "implementations" / "reference.yaml"), str(tmp_path)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout is not None
        name, pid = owner.stdout.readline().split()
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    implementation_pid = int(pid)
    assert _alive(implementation_pid), "the implementation should outlive its killed owner"
    reap_orphaned_clusters(Console(stderr=True))
    wait_for(
        "the orphaned implementation to be stopped",
        lambda: ((True if not _alive(implementation_pid) else None), f"pid {implementation_pid} alive"),
        timeout=30,
    )
    assert name not in {state["name"] for state in list_clusters()}
