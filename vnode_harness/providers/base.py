"""What every cluster provider hands the suite: a running cluster, its kubeconfig, and its logs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


class ClusterError(RuntimeError):
    """A cluster could not be created, reached or torn down; the message names the component and cause."""


@dataclass(frozen=True)
class ClusterHandle:
    """A running cluster as the suite sees it. Serialisable, so xdist workers can receive it."""

    name: str
    provider: str
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
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ClusterHandle:
        return cls(
            name=str(data["name"]),
            provider=str(data["provider"]),
            kubeconfig=Path(str(data["kubeconfig"])),
            logs_dir=Path(str(data["logs_dir"])),
            kubernetes_version=str(data.get("kubernetes_version", "")),
            component_logs={str(k): str(v) for k, v in dict(data.get("component_logs", {})).items()},  # type: ignore[call-overload]
            facts={str(k): str(v) for k, v in dict(data.get("facts", {})).items()},  # type: ignore[call-overload]
            process_dir=Path(str(data["process_dir"])) if data.get("process_dir") else None,
        )


class ClusterProvider(Protocol):
    """Brings a cluster up and down. `down` must be safe to call twice and after a failed `up`."""

    name: str

    def up(self) -> ClusterHandle: ...

    def down(self) -> None: ...
