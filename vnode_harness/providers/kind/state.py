"""Which kind clusters this machine's runs made, and who owns them: a state file per cluster.

A run that dies without `down` leaves its cluster behind; its state file names the owner process, so
the next `up` on this machine deletes the cluster unless it was kept (`--keep-cluster`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from rich.console import Console

from vnode_harness.plumbing.processes import pid_alive, stop_recorded
from vnode_harness.providers.kind import commands

STATE_FILE = "state.json"


def kind_state_root() -> Path:
    """Per-user directory of kind cluster state (kubeconfig, owner) on this machine."""
    return Path(tempfile.gettempdir()) / f"vnode-kind-{os.getuid()}"


def write_state(directory: Path, *, name: str, keep: bool, logs_dir: Path) -> None:
    """Record this process as the owner of cluster `name` (kept clusters are never reaped)."""
    state = {"name": name, "owner_pid": os.getpid(), "keep": keep, "logs_dir": str(logs_dir)}
    (directory / STATE_FILE).write_text(json.dumps(state, indent=2))


def kind_clusters(kind: Path) -> list[str]:
    return commands.run([str(kind), "get", "clusters"], what="kind get clusters", timeout=60).split()


def reap_orphaned_clusters(kind: Path, console: Console) -> None:
    """Delete clusters that a run created, did not keep, and could not delete because it died."""
    root = kind_state_root()
    if not root.is_dir():
        return
    existing: list[str] | None = None
    for state_file in sorted(root.glob(f"*/{STATE_FILE}")):
        try:
            state = json.loads(state_file.read_text())
        except (OSError, ValueError):
            continue
        if state.get("keep") or pid_alive(int(state.get("owner_pid", 0))):
            continue
        name = str(state.get("name", state_file.parent.name))
        stop_recorded(state_file.parent / "pids")
        existing = kind_clusters(kind) if existing is None else existing
        if name in existing:
            console.print(f"[yellow]deleting orphaned kind cluster {name} (the run that made it is gone)")
            commands.run(
                [str(kind), "delete", "cluster", f"--name={name}"], what=f"kind delete cluster {name}"
            )
        shutil.rmtree(state_file.parent, ignore_errors=True)
