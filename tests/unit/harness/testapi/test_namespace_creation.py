"""A test namespace is handed to its deleter as soon as it exists: a SIGINT during the wait for its
default ServiceAccount used to leave it behind (2 of 20 seeded interrupts, `bench/run.py faults`)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from vnode_harness.testapi.profile import ProfileEditor
from vnode_harness.testapi.workloads import create_namespace


class InterruptedWhileWaiting:
    """A CoreV1Api double: creates the namespace, then Ctrl-C arrives during the ServiceAccount wait."""

    def create_namespace(self, body: dict[str, Any]) -> Any:
        name = body["metadata"]["generateName"] + "abcde"
        return SimpleNamespace(metadata=SimpleNamespace(name=name, labels=body["metadata"]["labels"]))

    def read_namespaced_service_account(self, name: str, namespace: str) -> Any:
        raise KeyboardInterrupt


def test_an_interrupted_wait_has_already_handed_over_the_namespace() -> None:
    handed_over: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        create_namespace(InterruptedWhileWaiting(), "vnc-test", "run-1", on_created=handed_over.append)
    assert handed_over == ["vnc-test-abcde"]


class RecordingDeletes(InterruptedWhileWaiting):
    def __init__(self) -> None:
        self.deleted: list[str] = []

    def delete_namespace(self, name: str, grace_period_seconds: int) -> None:
        self.deleted.append(name)


def test_the_profile_editors_probe_namespace_is_deleted_when_interrupted_during_its_wait() -> None:
    """The parameter probes' fresh namespace: a SIGINT during its ServiceAccount wait left it behind
    (CI's seeded interrupt at 4.6 s, stop 30)."""
    editor = ProfileEditor.__new__(ProfileEditor)
    core = RecordingDeletes()
    editor.core = core
    editor.run_id = "run-1"
    with pytest.raises(KeyboardInterrupt), editor._fresh_namespace():
        pytest.fail("the body must not run: the wait was interrupted")
    assert core.deleted == ["vnode-parameter-probe-abcde"]
