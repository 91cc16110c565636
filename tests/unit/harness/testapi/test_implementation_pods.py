"""A failed test names an in-cluster implementation's pod that was deleted, replaced or restarted while
it ran (tests/faults/test_kind_faults.py injects that into a real kind run); without a cluster here: the
comparison of two readings, and the listing of the declared pods from API objects."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from kubernetes import client

from tests.unit.harness.builders import implementation_data
from vnode_harness.formats.implementation import Implementation
from vnode_harness.plugin import failure_causes
from vnode_harness.testapi.identity import ImplementationDown
from vnode_harness.testapi.implementation_pods import (
    ImplementationPod,
    implementation_pods,
    replaced_during,
    scalable_owner,
)


def pod(name: str, uid: str, restarts: int = 0) -> ImplementationPod:
    return ImplementationPod("kube-system", name, uid, restarts)


def test_the_same_pods_with_no_new_restart_are_no_finding():
    seen = (pod("impl-a", "u1", restarts=2),)
    assert replaced_during(seen, (pod("impl-a", "u1", restarts=2),)) is None


def test_a_deleted_pod_is_named_with_the_pods_that_replaced_it():
    found = replaced_during((pod("impl-a", "u1"),), (pod("impl-b", "u2"),))
    assert found == (
        "the implementation's pod kube-system/impl-a was deleted or replaced during this test "
        "(its pods now: kube-system/impl-b)"
    )


def test_a_container_restart_is_named_and_a_pod_added_beside_is_not():
    found = replaced_during((pod("impl-a", "u1", restarts=0),), (pod("impl-a", "u1", 1), pod("impl-c", "u3")))
    assert found is not None
    assert "pod kube-system/impl-a restarted a container (0 → 1 restarts)" in found
    assert "impl-c was" not in found


def test_a_pod_still_listed_but_terminating_counts_as_deleted():
    """Its containers stop before its object goes: a test can fail in between (seen on kind)."""
    deleting = ImplementationPod("kube-system", "impl-a", "u1", 0, terminating=True)
    found = replaced_during((pod("impl-a", "u1"),), (deleting, pod("impl-b", "u2")))
    assert found == (
        "the implementation's pod kube-system/impl-a was deleted or replaced during this test "
        "(its pods now: kube-system/impl-a (terminating), kube-system/impl-b)"
    )
    assert replaced_during((deleting,), (deleting,)) is None, "terminating already at the start: no news"


def test_every_pod_gone_says_none_are_left():
    found = replaced_during((pod("impl-a", "u1"), pod("impl-b", "u2")), ())
    assert found is not None
    assert "impl-a was deleted or replaced; pod kube-system/impl-b was deleted or replaced" in found
    assert found.endswith("(its pods now: none)")


class _Core:
    """The one call implementation_pods makes, answering with the given pods."""

    def __init__(self, items: list[SimpleNamespace]) -> None:
        self.items = items
        self.asked: list[tuple[str, str]] = []

    def list_namespaced_pod(self, namespace: str, label_selector: str) -> SimpleNamespace:
        self.asked.append((namespace, label_selector))
        return SimpleNamespace(items=self.items)


def _api_pod(name: str, uid: str, *restarts: int, deleted_at: str | None = None) -> SimpleNamespace:
    statuses = [SimpleNamespace(restart_count=count) for count in restarts] or None
    return SimpleNamespace(
        metadata=SimpleNamespace(name=name, uid=uid, deletion_timestamp=deleted_at),
        status=SimpleNamespace(container_statuses=statuses),
    )


def test_declared_pods_are_listed_by_their_selector_with_restarts_summed():
    declared = Implementation.model_validate(
        implementation_data(
            observation={"implementationPods": {"namespace": "vendor", "labelSelector": "app=impl"}}
        )
    )
    core = _Core(
        [_api_pod("impl-b", "u2", deleted_at="2026-12-03T10:20:00Z"), _api_pod("impl-a", "u1", 1, 2)]
    )
    assert implementation_pods(core, declared) == (
        ImplementationPod("vendor", "impl-a", "u1", 3),
        ImplementationPod("vendor", "impl-b", "u2", 0, terminating=True),
    )
    assert core.asked == [("vendor", "app=impl")]


def test_an_implementation_that_declares_no_pods_has_none_to_watch():
    core = _Core([_api_pod("impl-a", "u1")])
    assert implementation_pods(core, Implementation.model_validate(implementation_data())) == ()
    assert core.asked == []


def test_a_test_that_fails_after_its_implementations_pod_was_replaced_fails_naming_it(monkeypatch):
    readings = iter([(pod("impl-a", "u1"),), (pod("impl-b", "u2"),)])
    monkeypatch.setattr(failure_causes, "_declared_pods_now", lambda context: next(readings))
    context = SimpleNamespace(implementation_process={})
    item = SimpleNamespace(stash=pytest.Stash(), funcargs={"run_context": context})
    failure_causes.remember_implementation_pods(item, context)  # type: ignore[arg-type]
    with pytest.raises(ImplementationDown) as raised:
        failure_causes.raise_if_implementation_down(item, AssertionError("pod x never ran"))  # type: ignore[arg-type]
    assert str(raised.value) == (
        "the implementation's pod kube-system/impl-a was deleted or replaced during this test "
        "(its pods now: kube-system/impl-b); the test saw: pod x never ran"
    )


def test_a_failure_with_the_implementations_pods_unchanged_keeps_its_own_reason(monkeypatch):

    monkeypatch.setattr(failure_causes, "_declared_pods_now", lambda context: (pod("impl-a", "u1"),))
    context = SimpleNamespace(implementation_process={})
    item = SimpleNamespace(stash=pytest.Stash(), funcargs={"run_context": context})
    failure_causes.remember_implementation_pods(item, context)  # type: ignore[arg-type]
    failure_causes.raise_if_implementation_down(item, AssertionError("pod x never ran"))  # type: ignore[arg-type]


def _owner(kind: str, name: str, controller: bool = True) -> SimpleNamespace:
    return SimpleNamespace(kind=kind, name=name, controller=controller)


def test_a_replica_set_under_a_deployment_is_stopped_through_the_deployment(monkeypatch):
    class Apps:
        def __init__(self, api: object) -> None: ...

        def read_namespaced_replica_set(self, name: str, namespace: str) -> SimpleNamespace:
            assert (name, namespace) == ("impl-7d9", "vendor")
            return SimpleNamespace(metadata=SimpleNamespace(owner_references=[_owner("Deployment", "impl")]))

    monkeypatch.setattr(client, "AppsV1Api", Apps)
    assert scalable_owner(None, "vendor", [_owner("ReplicaSet", "impl-7d9")]) == (
        "Deployment",
        "impl",
    )
    assert scalable_owner(None, "vendor", [_owner("StatefulSet", "impl")]) == ("StatefulSet", "impl")


def test_pods_of_a_daemon_set_or_without_a_controller_cannot_be_stopped_and_say_why():
    with pytest.raises(ValueError, match="owned by DaemonSet, which cannot be scaled to zero"):
        scalable_owner(None, "vendor", [_owner("DaemonSet", "impl")])
    with pytest.raises(ValueError, match="owned by no controller"):
        scalable_owner(None, "vendor", [_owner("ReplicaSet", "x", controller=False)])


def test_an_api_error_the_test_saw_is_quoted_by_status_and_message(monkeypatch):
    readings = iter([(pod("impl-a", "u1"),), ()])
    monkeypatch.setattr(failure_causes, "_declared_pods_now", lambda context: next(readings))
    context = SimpleNamespace(implementation_process={})
    item = SimpleNamespace(stash=pytest.Stash(), funcargs={"run_context": context})
    failure_causes.remember_implementation_pods(item, context)  # type: ignore[arg-type]
    refused = client.ApiException(status=500, reason="Internal Server Error")
    refused.body = '{"message": "Internal error occurred: failed calling webhook \\"vk.eci\\""}'
    with pytest.raises(
        ImplementationDown, match=r"the test saw: 500 Internal Server Error: Internal error occurred"
    ):
        failure_causes.raise_if_implementation_down(item, refused)  # type: ignore[arg-type]
