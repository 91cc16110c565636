"""A pod that never runs is explained in the failure itself: its events and its node's Ready condition."""

from datetime import UTC, datetime

from kubernetes import client

from vnode_harness.testapi.workloads import why_not_running


class _Core:
    """Just the three reads `why_not_running` makes, answered from fixed objects."""

    def __init__(self, events: list[client.CoreV1Event], node_ready: str | None, fail: bool = False) -> None:
        self.events, self.node_ready, self.fail = events, node_ready, fail

    def list_namespaced_event(self, namespace: str, field_selector: str) -> client.CoreV1EventList:
        if self.fail:
            raise client.ApiException(status=403, reason="Forbidden")
        assert field_selector == "involvedObject.name=nginx"
        return client.CoreV1EventList(items=self.events)

    def read_namespaced_pod(self, name: str, namespace: str) -> client.V1Pod:
        return client.V1Pod(spec=client.V1PodSpec(containers=[], node_name="virtual-kubelet-cn-hangzhou-i"))

    def read_node(self, name: str) -> client.V1Node:
        condition = client.V1NodeCondition(
            type="Ready",
            status=self.node_ready,
            reason="NodeStatusUnknown",
            last_heartbeat_time=datetime(2026, 11, 24, tzinfo=UTC),
        )
        return client.V1Node(status=client.V1NodeStatus(conditions=[condition]))


def _event(reason: str, message: str, component: str | None) -> client.CoreV1Event:
    return client.CoreV1Event(
        involved_object=client.V1ObjectReference(name="nginx"),
        metadata=client.V1ObjectMeta(name="e"),
        type="Warning",
        reason=reason,
        message=message,
        count=3,
        source=client.V1EventSource(component=component) if component else None,
        reporting_component="kubelet",
    )


def test_events_and_an_unready_node_are_named():
    core = _Core([_event("ProviderCreateFailed", "boom", "virtual-kubelet")], node_ready="Unknown")
    text = why_not_running(core, "ns", "nginx")
    assert "event Warning ProviderCreateFailed (x3) from virtual-kubelet: boom" in text
    assert "node virtual-kubelet-cn-hangzhou-i: Ready=Unknown (NodeStatusUnknown" in text


def test_an_event_without_a_source_names_its_reporter():
    text = why_not_running(_Core([_event("Scheduled", "ok", None)], "True"), "ns", "nginx")
    assert "from kubelet: ok" in text


def test_api_errors_are_reported_not_raised():
    text = why_not_running(_Core([], "True", fail=True), "ns", "nginx")
    assert "could not read events or node: 403 Forbidden" in text
