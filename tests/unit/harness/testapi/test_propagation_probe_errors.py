"""The profile probe before the tests: an implementation whose webhook fails the suite's probe gets a
cause that blames it (quoting the API server), never a traceback that ends the run as an internal error."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client

from vnode_harness.formats.implementation import load_implementation
from vnode_harness.formats.paths import REPO_ROOT
from vnode_harness.testapi import profile


def _webhook_refusal() -> client.ApiException:
    error = client.ApiException(status=500, reason="Internal Server Error")
    error.body = json.dumps(
        {"message": 'Internal error occurred: failed calling webhook "pod-label.example": connection refused'}
    )
    return error


class RefusingEditor:
    restored = False

    def __init__(self, *_args: Any, **_kwargs: Any) -> None:
        pass

    def begin(self) -> None:
        pass

    def apply_unreported(self, _changes: object) -> None:
        raise _webhook_refusal()

    def restore_unreported(self) -> None:
        RefusingEditor.restored = True


def test_a_webhook_failure_during_the_probe_is_the_implementations_verdict(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(profile, "ProfileEditor", RefusingEditor)
    implementation = load_implementation(REPO_ROOT / "implementations" / "reference.yaml")
    cause = profile.profile_propagation_failure(
        client.ApiClient(), implementation, probe_namespace="probes", run_id="run"
    )
    assert 'failed calling webhook "pod-label.example"' in cause
    assert cause.startswith("the API server refused the suite's probe")
    assert RefusingEditor.restored, "the profile must be restored after a refused probe"
