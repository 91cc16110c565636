"""Istio in the kind cluster: `istioctl install` of the minimal profile, istiod as a Deployment.

Unlike the local provider (istiod on the host behind a URL webhook), a kind cluster can pull and run
the istiod image, so the stock in-cluster install is used. The settings are the local provider's:
the shared IstioOperator overlay (vnode_harness.providers.topology: classic sidecars and the
virtual-kubelet downward-API template, explained in providers/istio-operator.yaml),
`ENABLE_NATIVE_SIDECARS=false`, and the pinned proxy hub/tag — istioctl built from Go modules has no
version stamp of its own to derive them from. With the built image set, whose sidecar runs upstream
Envoy, also UPSTREAM_ENVOY_SETTINGS.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from vnode_harness.formats import versions
from vnode_harness.formats.names import ISTIO_SIDECAR
from vnode_harness.plumbing.probes import PROVIDER_PROBE_NAMESPACE, ensure_probe_namespace, probe_pod
from vnode_harness.plumbing.processes import log_tail, output_tail
from vnode_harness.plumbing.waits import WaitTimeout, wait_for
from vnode_harness.providers.kind.objects import conditions_of, container_names, has_condition, status_count
from vnode_harness.providers.topology import ISTIO_NAMESPACE, ISTIO_OPERATOR_OVERLAY
from vnode_harness.run_context import ClusterError

ISTIOD = "istiod"
READINESS_TIMEOUT_SECONDS = 300

UPSTREAM_ENVOY_SETTINGS: tuple[str, ...] = (
    "values.telemetry.enabled=false",
    "values.pilot.env.PILOT_ENABLE_METADATA_EXCHANGE=false",
    "values.pilot.env.PILOT_ENABLE_ALPN_FILTER=false",
)
"""What istiod must not send a sidecar running upstream Envoy (the built image set's proxyv2): filters
only Istio's own Envoy build (istio/proxy) has, which upstream Envoy rejects with the whole listener or
cluster. In order: the `istio.stats` HTTP filter of the default Prometheus telemetry (so no Istio
request metrics), `istio.metadata_exchange` and the `peer_metadata` filters (no peer workload metadata),
and `istio.alpn` (outbound mTLS offers plain ALPN, not istio-http/1.1). docs/kind.md lists them."""

NODE_REQUEST_SETTINGS: tuple[str, ...] = (
    "values.pilot.resources.requests.cpu=100m",
    "values.global.proxy.resources.requests.cpu=10m",
)
"""CPU requests that fit a kind node with the machine's cores (capacity.py): Istio's defaults, 500m for
istiod and 100m for every sidecar, with the control plane and the in-cluster suite's Job requested
1960m of a 2-core node, and an injected test pod stayed Pending (CI, 2026-12-06). Requests only place
pods; they limit no container, and no test reads them."""


def profile_arguments(
    hub: str = versions.ISTIO_PROXY_HUB, tag: str = versions.ISTIO_PROXY_TAG, settings: tuple[str, ...] = ()
) -> list[str]:
    """The profile and settings, shared by `istioctl install` and `istioctl manifest generate`; `hub` and
    `tag` name the pilot and proxyv2 images (the pinned upstream ones, or the locally built set's), and
    `settings` are what those images need on top (UPSTREAM_ENVOY_SETTINGS)."""
    extra = [argument for setting in (*NODE_REQUEST_SETTINGS, *settings) for argument in ("--set", setting)]
    return [
        "-f",
        str(ISTIO_OPERATOR_OVERLAY),
        "--set",
        "profile=minimal",
        "--set",
        "values.pilot.env.ENABLE_NATIVE_SIDECARS=false",
        "--set",
        f"hub={hub}",
        "--set",
        f"tag={tag}",
        *extra,
    ]


def install_command(
    istioctl: Path,
    kubeconfig: Path,
    hub: str = versions.ISTIO_PROXY_HUB,
    tag: str = versions.ISTIO_PROXY_TAG,
    settings: tuple[str, ...] = (),
) -> list[str]:
    return [
        str(istioctl),
        "install",
        "-y",
        "--kubeconfig",
        str(kubeconfig),
        *profile_arguments(hub, tag, settings),
        "--readiness-timeout",
        f"{READINESS_TIMEOUT_SECONDS}s",
    ]


def install_digest(
    hub: str = versions.ISTIO_PROXY_HUB, tag: str = versions.ISTIO_PROXY_TAG, settings: tuple[str, ...] = ()
) -> str:
    """What decides whether an installed Istio is current: istioctl's version, the settings, the overlay."""
    payload = {
        "istio": versions.ISTIO_MODULE,
        "arguments": profile_arguments(hub, tag, settings)[2:],
        "overlay": hashlib.sha256(ISTIO_OPERATOR_OVERLAY.read_bytes()).hexdigest(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def render_manifests(istioctl: Path) -> list[dict[str, Any]]:
    """What `install` applies, rendered offline (charts are embedded in istioctl)."""
    command = [str(istioctl), "manifest", "generate", *profile_arguments()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise ClusterError(f"istioctl manifest generate failed: {output_tail(result.stderr)}")
    return [document for document in yaml.safe_load_all(result.stdout) if isinstance(document, dict)]


def install(
    istioctl: Path,
    kubeconfig: Path,
    log: Path,
    *,
    hub: str = versions.ISTIO_PROXY_HUB,
    tag: str = versions.ISTIO_PROXY_TAG,
    settings: tuple[str, ...] = (),
) -> None:
    """Install (or upgrade in place) and return once istioctl saw every component ready."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        try:
            result = subprocess.run(
                install_command(istioctl, kubeconfig, hub, tag, settings),
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=READINESS_TIMEOUT_SECONDS + 120,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise ClusterError(f"istioctl install did not finish; its log: {log}") from error
    if result.returncode != 0:
        raise ClusterError(f"istioctl install failed (exit {result.returncode}); log {log}:\n{log_tail(log)}")


def istiod_available(apps: client.AppsV1Api) -> tuple[bool, str]:
    try:
        deployment = apps.read_namespaced_deployment(ISTIOD, ISTIO_NAMESPACE)
    except client.ApiException as error:
        return False, f"deployment {ISTIO_NAMESPACE}/{ISTIOD}: {error.status} {error.reason}"
    ready = status_count(deployment, "ready_replicas")
    available = has_condition(deployment, "Available") and ready > 0
    return available, f"conditions {conditions_of(deployment)}, {ready} ready"


def wait_ready(api: client.ApiClient, timeout: float = 180) -> None:
    """istiod Available, then injecting: a dry-run pod in an injection-enabled namespace gets a sidecar."""
    apps = client.AppsV1Api(api)
    core = client.CoreV1Api(api)

    def available() -> tuple[bool | None, str]:
        ok, seen = istiod_available(apps)
        return (True if ok else None), seen

    def injecting() -> tuple[bool | None, str]:
        try:
            body: Any = probe_pod()  # the client serialises a plain dict as it is
            pod = core.create_namespaced_pod(PROVIDER_PROBE_NAMESPACE, body, dry_run="All")
        except client.ApiException as error:
            return None, f"dry-run pod creation failed: {error.status} {error.reason}"
        names = container_names(pod)
        return (True if ISTIO_SIDECAR in names else None), f"containers after admission: {names}"

    try:
        wait_for(
            "istiod to be Available", available, timeout=timeout, hint="kubectl -n istio-system get pods"
        )
        ensure_probe_namespace(core)
        wait_for(
            "istiod to inject sidecars",
            injecting,
            timeout=timeout,
            hint="kubectl get mutatingwebhookconfigurations istio-sidecar-injector -o yaml",
        )
    except WaitTimeout as error:
        raise ClusterError(str(error)) from error
