"""A virtual node going NotReady: its virtual-kubelet host process frozen, its Ready condition False.

Freezing (SIGSTOP) keeps the process alive, so the suite cannot learn of the fault from a dead
component: it must see it through the API, as it would on a vendor's cluster. The Ready condition is
set False at once, as the node lifecycle controller does after its grace period, so a scenario does
not wait 40 s for it. `recover()` resumes the process; it reports Ready again on its next heartbeat.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

from kubernetes import client

from vnode_harness.plumbing.processes import recorded_processes

REASON = "FaultInjected"
MESSAGE = "virtual-kubelet frozen by a fault scenario"


@dataclass
class NodeNotReady:
    core: client.CoreV1Api
    process_dir: Path
    """The local cluster's record of its host processes (ClusterHandle.process_dir)."""
    frozen: list[int] = field(default_factory=list)

    def inject(self, *nodes: str) -> None:
        """Freeze every one of `nodes`' virtual-kubelets first, then mark each node NotReady.

        All processes are stopped before any API call: a scenario injects at the moment a test begins,
        and a node still running while another is being patched could run that test's pod."""
        processes = recorded_processes(self.process_dir)
        for node in nodes:
            matching = [p for p in processes if p.name == node or node in p.name]
            if not matching:
                raise LookupError(f"no recorded host process runs node {node} (under {self.process_dir})")
            for process in matching:
                os.kill(process.pid, signal.SIGSTOP)
                self.frozen.append(process.pid)
        for node in nodes:
            self._mark_not_ready(node)

    def _mark_not_ready(self, node: str) -> None:
        now = datetime.datetime.now(datetime.UTC)
        current = self.core.read_node_status(node)
        conditions = [c for c in current.status.conditions or [] if c.type != "Ready"]
        conditions.append(
            client.V1NodeCondition(
                type="Ready", status="False", reason=REASON, message=MESSAGE,
                last_heartbeat_time=now, last_transition_time=now,
            )
        )  # fmt: skip
        self.core.patch_node_status(
            node,
            {
                "status": {
                    "conditions": [self.core.api_client.sanitize_for_serialization(c) for c in conditions]
                }
            },
        )

    def recover(self) -> None:
        for pid in self.frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self.frozen.clear()
