"""What a failed conformance test leaves for diagnosis, gathered before its namespace is deleted.

The test's namespace (pods as YAML, events in time order), the nodes, the webhook configuration, the
eci-profile, and the tail of every cluster component's and the implementation's log — attached to the
Allure result and saved under `<run>/diagnostics/<test>/`. Collecting never raises: a diagnosis that
fails must not hide the test's own failure.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import allure
import pytest
import yaml
from kubernetes import client

from vnode_harness.plumbing.kube import api_client
from vnode_harness.plumbing.processes import log_tail

NAMESPACE_FIXTURE = "namespace"


def _safe(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid)[-150:]


def _yaml(api: client.ApiClient, obj: Any) -> str:
    return yaml.safe_dump(api.sanitize_for_serialization(obj), sort_keys=False)


def _collect(
    api: client.ApiClient, namespaces: list[str], observation: Any, logs: dict[str, str]
) -> dict[str, str]:
    core = client.CoreV1Api(api)
    admission = client.AdmissionregistrationV1Api(api)
    parts: dict[str, Callable[[], str]] = {
        "nodes.yaml": lambda: _yaml(api, core.list_node()),
        "vk-webhook.yaml": lambda: _yaml(
            api, admission.read_mutating_webhook_configuration(observation.webhook_configuration_name)
        ),
        "eci-profile.yaml": lambda: _yaml(
            api, core.read_namespaced_config_map(observation.profile_name, observation.profile_namespace)
        ),
    }
    for namespace in namespaces:
        parts[f"{namespace}-pods.yaml"] = lambda ns=namespace: _yaml(api, core.list_namespaced_pod(ns))  # type: ignore[misc]
        parts[f"{namespace}-events.txt"] = lambda ns=namespace: _events(core, ns)  # type: ignore[misc]
    collected = {}
    for name, produce in parts.items():
        try:
            collected[name] = produce()
        except Exception as error:
            collected[name] = f"<could not collect: {error}>"
    for component, path in logs.items():
        collected[f"log-{component}.txt"] = log_tail(Path(path), 200)
    return collected


def _events(core: client.CoreV1Api, namespace: str) -> str:
    events = core.list_namespaced_event(namespace).items

    def when(event: Any) -> str:
        stamp = event.last_timestamp or event.event_time or event.metadata.creation_timestamp
        return stamp.isoformat() if stamp else ""

    lines = [
        f"{when(e)} {e.type} {e.reason} {e.involved_object.kind}/{e.involved_object.name}: {e.message}"
        for e in sorted(events, key=when)
    ]
    return "\n".join(lines) or "<no events>"


def attach_failure_diagnostics(item: pytest.Item) -> None:
    funcargs = getattr(item, "funcargs", {})
    context = funcargs.get("run_context")
    implementation = funcargs.get("implementation")
    if context is None or implementation is None:
        return
    namespaces = [ns.name for ns in funcargs.get("namespaces_created", [])]
    if NAMESPACE_FIXTURE in funcargs:
        namespaces.insert(0, funcargs[NAMESPACE_FIXTURE].name)
    try:
        api = api_client(context.cluster.kubeconfig, f"diagnostics {item.nodeid}")
        collected = _collect(api, namespaces, implementation.observation, context.cluster.component_logs)
    except Exception as error:
        collected = {"diagnostics-error.txt": str(error)}
    target = context.run_dir / "diagnostics" / _safe(item.nodeid)
    target.mkdir(parents=True, exist_ok=True)
    for name, text in collected.items():
        (target / name).write_text(text)
        allure.attach(text, name=name, attachment_type=allure.attachment_type.TEXT)
