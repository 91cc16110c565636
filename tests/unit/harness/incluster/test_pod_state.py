"""The suite pod's status read as running, ended or lost — with the kubelet's words for why."""

from __future__ import annotations

from types import SimpleNamespace as O

from vnode_harness.incluster.manifests import CONTAINER
from vnode_harness.incluster.pod_state import pod_state


def pod(
    phase="Running", reason=None, message=None, state=None, conditions=(), image="vnode/conformance:0.1.0"
):
    container = O(name=CONTAINER, image=image, state=state or O(terminated=None, waiting=None, running=O()))
    return O(
        spec=O(node_name="vnode-kept-worker"),
        status=O(phase=phase, reason=reason, message=message, container_statuses=[container],
                 conditions=list(conditions)),
    )  # fmt: skip


def terminated(reason, code):
    return O(terminated=O(reason=reason, exit_code=code, message=None), waiting=None)


def waiting(reason, message):
    return O(terminated=None, waiting=O(reason=reason, message=message))


def test_running_and_ended():
    assert pod_state(pod()).phase == "running"
    ended = pod_state(pod("Succeeded", state=terminated("Completed", 0)))
    assert (ended.phase, ended.exit_code) == ("ended", 0)
    failed_tests = pod_state(pod("Failed", state=terminated("Error", 1)))
    assert (failed_tests.phase, failed_tests.exit_code) == ("ended", 1)  # pytest's status, not a lost pod


def test_an_eviction_is_lost_with_the_kubelets_message():
    state = pod_state(pod("Failed", reason="Evicted", message="The node was low on resource: memory."))
    assert state.phase == "lost"
    assert "evicted from node vnode-kept-worker: The node was low on resource: memory." in state.detail


def test_an_oom_kill_is_lost_and_says_how_to_give_more_memory():
    state = pod_state(pod("Failed", state=terminated("OOMKilled", 137)))
    assert state.phase == "lost"
    assert "OOM-killed on node vnode-kept-worker" in state.detail
    assert "--memory-limit" in state.detail


def test_an_image_that_cannot_be_pulled_is_named():
    state = pod_state(pod("Pending", state=waiting("ImagePullBackOff", 'Back-off pulling image "x"')))
    assert state.phase == "lost"
    assert "cannot pull vnode/conformance:0.1.0: ImagePullBackOff" in state.detail


def test_a_deadline_and_an_unscheduled_pod():
    deadline = pod_state(pod("Failed", reason="DeadlineExceeded", message="Pod was active too long",
                             state=O(terminated=None, waiting=None)))  # fmt: skip
    assert deadline.phase == "lost"
    assert "DeadlineExceeded" in deadline.detail
    unscheduled = O(type="PodScheduled", status="False", message="0/4 nodes are available")
    pending = pod_state(pod("Pending", state=O(terminated=None, waiting=None), conditions=[unscheduled]))
    assert (pending.phase, pending.detail) == ("pending", "unschedulable: 0/4 nodes are available")
