"""Istio for the local environment: istiod as a host process, injecting through a URL webhook.

This is Istio's "external control plane" model. `istioctl manifest generate` (charts embedded in
istioctl, so it works offline) renders the minimal profile with `istiodRemote.injectionURL` set; we
apply only what sidecar injection needs — the mesh and injector ConfigMaps, RBAC and the
sidecar-injector MutatingWebhookConfiguration whose clientConfig is that URL — and run
`pilot-discovery discovery` on the host instead of the istiod Deployment. istiod patches the webhook's
caBundle itself (webhooks labelled istio.io/rev=default) and serves a certificate with the SAN
127.0.0.1 because of ISTIOD_CUSTOM_HOST.

The Istio configuration for virtual-kubelet nodes (classic sidecars; INSTANCE_IP/HOST_IP from
annotations, because virtual-kubelet cannot resolve status.podIP) is the providers' shared overlay
(vnode_harness.providers.topology, explained in istio-operator.yaml).
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from vnode_harness.formats import versions
from vnode_harness.plumbing.cache_dir import cache_root
from vnode_harness.plumbing.processes import RecordedProcess, output_tail, start_process
from vnode_harness.providers.topology import ISTIO_NAMESPACE, ISTIO_OPERATOR_OVERLAY
from vnode_harness.run_context import ClusterError

INJECTOR_WEBHOOK = "istio-sidecar-injector"
_KEPT_KINDS = {
    "ConfigMap",
    "MutatingWebhookConfiguration",
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
}
"""Everything else of the rendered profile (the istiod Deployment, Service, autoscaler, budget and the
validating webhook that points at the in-cluster Service) belongs to an in-cluster istiod. Istio's 15
CustomResourceDefinitions (traffic management, security, telemetry: APIs the suite does not certify —
catalogue scope) are left out too: sidecar injection needs none of them (the mesh tests pass without
them), and each CRD makes the API server rebuild its OpenAPI document. Without them one cluster starts
in 7.0 s instead of 10.7 to 13 s, with 4.1 instead of 6.0 to 6.9 CPU-seconds (bench: one cluster on 2
cores), which is what several shards starting at once are bound by. The kind provider installs Istio
whole, CRDs included."""


@dataclass(frozen=True)
class IstiodPorts:
    https: int
    http: int
    grpc: int
    secure_grpc: int
    monitoring: int
    ctrlz: int

    @property
    def all(self) -> tuple[int, ...]:
        return (self.https, self.http, self.grpc, self.secure_grpc, self.monitoring, self.ctrlz)

    @property
    def injection_url(self) -> str:
        return f"https://127.0.0.1:{self.https}/inject"


def render_manifests(istioctl: Path) -> list[dict[str, Any]]:
    """The cluster-side objects of the minimal profile, rendered once per Istio version and cached."""
    overlay_digest = hashlib.sha256(ISTIO_OPERATOR_OVERLAY.read_bytes()).hexdigest()[:12]
    cached = cache_root() / "rendered" / f"istio-{versions.ISTIO_MODULE}-{overlay_digest}.yaml"
    if not cached.exists():
        command = [
            str(istioctl),
            "manifest",
            "generate",
            "-f",
            str(ISTIO_OPERATOR_OVERLAY),
            "--set",
            f"hub={versions.ISTIO_PROXY_HUB}",
            "--set",
            f"tag={versions.ISTIO_PROXY_TAG}",
            "--set",
            f"values.global.istioNamespace={ISTIO_NAMESPACE}",
            "--set",
            "values.istiodRemote.injectionURL=https://127.0.0.1:15017/inject",
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            raise ClusterError(f"istioctl manifest generate failed: {output_tail(result.stderr)}")
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_text(result.stdout)
    documents = [doc for doc in yaml.safe_load_all(cached.read_text()) if isinstance(doc, dict)]
    return [doc for doc in documents if doc.get("kind") in _KEPT_KINDS]


def point_injector_at(documents: list[dict[str, Any]], injection_url: str) -> list[dict[str, Any]]:
    """Set every sidecar-injector webhook's URL to this cluster's istiod port."""
    for document in documents:
        if document.get("kind") != "MutatingWebhookConfiguration":
            continue
        for webhook in document.get("webhooks", []):
            client_config = webhook.setdefault("clientConfig", {})
            client_config.pop("service", None)
            client_config["url"] = injection_url
    return documents


def start_istiod(
    *,
    binary: Path,
    kubeconfig: Path,
    ports: IstiodPorts,
    workdir: Path,
    logs_dir: Path,
    pid_dir: Path,
) -> RecordedProcess:
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        "POD_NAMESPACE": ISTIO_NAMESPACE,
        "POD_NAME": "istiod-local",
        "REVISION": "default",
        "ISTIOD_CUSTOM_HOST": "127.0.0.1",
        "PILOT_CERT_PROVIDER": "istiod",
        "ENABLE_NATIVE_SIDECARS": "false",
        "INJECTION_WEBHOOK_CONFIG_NAME": INJECTOR_WEBHOOK,
        "VALIDATION_WEBHOOK_CONFIG_NAME": "",
        "PILOT_ENABLE_ANALYSIS": "false",
        "CLUSTER_ID": "Kubernetes",
        "KUBECONFIG": str(kubeconfig),
    }
    argv = [
        str(binary),
        "discovery",
        "--kubeconfig",
        str(kubeconfig),
        "--httpsAddr",
        f"127.0.0.1:{ports.https}",
        "--httpAddr",
        f"127.0.0.1:{ports.http}",
        "--grpcAddr",
        f"127.0.0.1:{ports.grpc}",
        "--secureGRPCAddr",
        f"127.0.0.1:{ports.secure_grpc}",
        "--monitoringAddr",
        f"127.0.0.1:{ports.monitoring}",
        "--ctrlz_address",
        "127.0.0.1",
        "--ctrlz_port",
        str(ports.ctrlz),
        "--profile=false",
        "--log_output_level",
        "default:info",
    ]
    # istiod looks for ./etc/istio/config/mesh and ./var/lib/istio/inject relative to its working
    # directory; in an empty one it falls back to the ConfigMaps applied above.
    return start_process("istiod", argv, log=logs_dir / "istiod.log", pid_dir=pid_dir, env=env, cwd=workdir)
