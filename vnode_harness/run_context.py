"""The run as data: what a run was asked to do, the cluster it runs on, and what every worker knows.

Small and importable by every layer (providers, the test API, the report, the plugin): nothing here
starts, stops or asks anything. `RunContext` and `ClusterHandle` are JSON-serialisable, because the
xdist controller hands them to its workers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from vnode_harness.formats.implementation import ProviderName, is_provider_name
from vnode_harness.plumbing.probes import PROVIDER_PROBE_NAMESPACE


class ClusterError(RuntimeError):
    """A cluster could not be created, reached or torn down; the message names the component and cause."""


def _provider_name(name: str) -> ProviderName:
    if not is_provider_name(name):
        raise ValueError(f"not a cluster provider: {name!r}")
    return name


@dataclass(frozen=True)
class ClusterHandle:
    """A running cluster as the suite sees it. Serialisable, so xdist workers can receive it."""

    name: str
    provider: ProviderName
    kubeconfig: Path
    logs_dir: Path
    kubernetes_version: str = ""
    component_logs: dict[str, str] = field(default_factory=dict)
    """component name → log file path, for attaching to failed tests."""
    facts: dict[str, str] = field(default_factory=dict)
    """Provider-specific facts worth recording in the report (ports, node names, versions)."""
    process_dir: Path | None = None
    """Where the provider records the host processes it started (local provider only), so a failing
    test can tell a component that died from an implementation that misbehaved."""
    control_plane_pid_dir: Path | None = None
    """Where a supervisor of the control plane (kwokctl) keeps one `<component>.pid` per component it
    started (local provider only): a dead API server or etcd is named like any dead component."""

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "provider": self.provider,
            "kubeconfig": str(self.kubeconfig),
            "logs_dir": str(self.logs_dir),
            "kubernetes_version": self.kubernetes_version,
            "component_logs": self.component_logs,
            "facts": self.facts,
            "process_dir": str(self.process_dir) if self.process_dir else "",
            "control_plane_pid_dir": str(self.control_plane_pid_dir) if self.control_plane_pid_dir else "",
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ClusterHandle:
        return cls(
            name=str(data["name"]),
            provider=_provider_name(str(data["provider"])),
            kubeconfig=Path(str(data["kubeconfig"])),
            logs_dir=Path(str(data["logs_dir"])),
            kubernetes_version=str(data.get("kubernetes_version", "")),
            component_logs={str(k): str(v) for k, v in dict(data.get("component_logs", {})).items()},  # type: ignore[call-overload]
            facts={str(k): str(v) for k, v in dict(data.get("facts", {})).items()},  # type: ignore[call-overload]
            process_dir=Path(str(data["process_dir"])) if data.get("process_dir") else None,
            control_plane_pid_dir=Path(str(data["control_plane_pid_dir"]))
            if data.get("control_plane_pid_dir")
            else None,
        )


@dataclass(frozen=True)
class RunOptions:
    cluster: str
    implementation_file: Path
    run_dir: Path
    kubeconfig: Path | None = None
    cluster_name: str | None = None
    keep_cluster: bool = False
    kind_bin: str | None = None
    kind_kubectl_bin: str | None = None
    kind_image: str | None = None
    kind_images: str = "auto"
    implementation_pid: int | None = None
    """A host-process implementation the user started next to an existing cluster: its pid is then
    its identity for the "without restarting" checks."""
    shard: str = ""
    """This cluster's name among the run's shards (`shard-1`, …); "" when the run has one cluster."""
    kubeconfigs: tuple[Path, ...] = ()
    """Every `--kubeconfig` given, in order: with several, each names one existing cluster, shard K's
    is the K-th (`kubeconfig` is the first, or the one)."""
    implementation_pids: tuple[int, ...] = ()
    """Every `--implementation-pid` given, in the order of `kubeconfigs` (one host process per cluster)."""

    def for_shard(self, index: int, name: str) -> RunOptions:
        """Shard `index` of the run, called `name`: its own kubeconfig and implementation pid where one
        was given per cluster, the run's otherwise."""
        kubeconfig = self.kubeconfigs[index] if len(self.kubeconfigs) > 1 else self.kubeconfig
        pids = self.implementation_pids
        pid = pids[index] if len(pids) > 1 else self.implementation_pid
        return replace(self, shard=name, kubeconfig=kubeconfig, implementation_pid=pid)

    @property
    def cluster_logs_dir(self) -> Path:
        """Where the provider keeps this cluster's component logs (one directory per shard)."""
        return self.run_dir / "cluster" / self.shard if self.shard else self.run_dir / "cluster"

    @property
    def shard_cluster_name(self) -> str | None:
        """A requested cluster name, made unique per shard."""
        if self.cluster_name and self.shard:
            return f"{self.cluster_name}-{self.shard}"
        return self.cluster_name


@dataclass(frozen=True)
class RunContext:
    """What every worker needs to know about the run; JSON-serialisable for xdist's workerinput."""

    run_dir: Path
    cluster: ClusterHandle
    implementation_file: Path
    provider_reason: str = ""
    implementation_process: dict[str, str] = field(default_factory=dict)
    """For a host-process implementation: its pid and start time (the "not restarted" check)."""
    profile_propagation_failure: str = ""
    label_routing_failure: str = ""
    """Why a pod labelled for ECI did not run on a virtual node before the tests ("" when it did)."""
    """Why the implementation did not apply a changed eci-profile when the run checked it before the
    tests ("" when it did, or when it declares no feature that changes the profile)."""
    probe_namespace: str = PROVIDER_PROBE_NAMESPACE
    """This run's namespace of dry-run probes (plumbing.probes.probe_namespace), deleted at its end."""
    lock_taken_over: str = ""
    """When the run found the eci-profile lock left expired by a holder that died (its first acquire
    took it over): who held it and how stale it was; "" otherwise."""
    shard: str = ""
    """The shard this context's cluster is (`shard-1`, …); "" when the run has one cluster."""

    @property
    def run_id(self) -> str:
        """The run's id: its directory's name, the value of the run label on what the run creates."""
        return self.run_dir.name

    def to_json(self) -> str:
        return json.dumps(
            {
                "run_dir": str(self.run_dir),
                "cluster": self.cluster.to_json(),
                "implementation_file": str(self.implementation_file),
                "provider_reason": self.provider_reason,
                "implementation_process": self.implementation_process,
                "profile_propagation_failure": self.profile_propagation_failure,
                "label_routing_failure": self.label_routing_failure,
                "probe_namespace": self.probe_namespace,
                "lock_taken_over": self.lock_taken_over,
                "shard": self.shard,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> RunContext:
        data = json.loads(text)
        return cls(
            run_dir=Path(data["run_dir"]),
            cluster=ClusterHandle.from_json(data["cluster"]),
            implementation_file=Path(data["implementation_file"]),
            provider_reason=data.get("provider_reason", ""),
            implementation_process=dict(data.get("implementation_process", {})),
            profile_propagation_failure=str(data.get("profile_propagation_failure", "")),
            label_routing_failure=str(data.get("label_routing_failure", "")),
            probe_namespace=str(data.get("probe_namespace", PROVIDER_PROBE_NAMESPACE)),
            lock_taken_over=str(data.get("lock_taken_over", "")),
            shard=str(data.get("shard", "")),
        )
