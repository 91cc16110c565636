"""The label-routing probe before the tests: an implementation whose webhook fails the suite's probe pod
gets a cause that blames it and quotes the API server, never a traceback that ends the run as an
internal error (issue 24: every call through the implementation's webhook ends in a verdict)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client

from vnode_harness.formats.implementation import Implementation, load_implementation
from vnode_harness.formats.paths import REPO_ROOT
from vnode_harness.lifecycle import readiness
from vnode_harness.testapi import placement

REFUSAL = 'Internal error occurred: failed calling webhook "pod-label.example": connection refused'


def _webhook_refusal() -> client.ApiException:
    error = client.ApiException(status=500, reason="Internal Server Error")
    error.body = json.dumps({"message": REFUSAL})
    return error


def _refuse(*_args: Any, **_kwargs: Any) -> Any:
    raise _webhook_refusal()


def _quick(implementation: Implementation) -> Implementation:
    """The reference's file with a 1 s propagation limit: the probe gives up at once."""
    limits = implementation.limits.model_copy(
        update={"profile_propagation_seconds": 1, "pod_running_seconds": 1}
    )
    return implementation.model_copy(update={"limits": limits})


@pytest.fixture
def implementation() -> Implementation:
    return _quick(load_implementation(REPO_ROOT / "implementations" / "reference.yaml"))


def test_a_webhook_failing_every_probe_pod_is_a_cause_quoting_it(monkeypatch, implementation) -> None:
    monkeypatch.setattr(readiness, "ensure_probe_namespace", lambda *_a, **_k: None)
    monkeypatch.setattr(placement, "place_one", _refuse)
    cause = readiness.label_routing_failure(client.ApiClient(), implementation, probe_namespace="probes")
    assert "pod creation failed" in cause, cause
    assert 'failed calling webhook "pod-label.example"' in cause, cause


def test_a_refusal_outside_the_pod_wait_is_a_cause_too(monkeypatch, implementation) -> None:
    monkeypatch.setattr(readiness, "ensure_probe_namespace", _refuse)
    cause = readiness.label_routing_failure(client.ApiClient(), implementation, probe_namespace="probes")
    assert cause.startswith("the API server refused the probe pod: "), cause
    assert 'failed calling webhook "pod-label.example"' in cause, cause
