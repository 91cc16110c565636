import pytest
from kubernetes import client

from vnode_harness.formats.implementation import Observation
from vnode_harness.testapi.observe import (
    is_virtual_node,
    kubectl_ready,
    long_running_container_names,
)


def pod(containers, init=(), statuses=(), init_statuses=(), phase="Running", initialized=None):
    conditions = (
        [client.V1PodCondition(type="Initialized", status=initialized)] if initialized is not None else None
    )
    return client.V1Pod(
        spec=client.V1PodSpec(
            containers=[client.V1Container(name=n) for n in containers],
            init_containers=[client.V1Container(name=n, restart_policy=p) for n, p in init],
        ),
        status=client.V1PodStatus(
            phase=phase,
            container_statuses=list(statuses),
            init_container_statuses=list(init_statuses),
            conditions=conditions,
        ),
    )


def status(name, ready, running=True, started=None, exit_code=None, waiting=None):
    state = client.V1ContainerState(
        running=client.V1ContainerStateRunning() if running and exit_code is None else None,
        terminated=client.V1ContainerStateTerminated(exit_code=exit_code) if exit_code is not None else None,
        waiting=client.V1ContainerStateWaiting(reason=waiting) if waiting else None,
    )
    return client.V1ContainerStatus(
        name=name, ready=ready, started=started, state=state, image="i", image_id="", restart_count=0
    )


ISTIO_NATIVE_INIT = [("istio-validation", None), ("istio-proxy", "Always")]
"""Istio's native-sidecar injection (ENABLE_NATIVE_SIDECARS): a one-shot init, then the proxy."""


def test_ready_counts_like_kubectl_for_classic_sidecars():
    meshed = pod(
        ["app", "istio-proxy"],
        init=[("istio-init", None)],
        statuses=[status("app", True), status("istio-proxy", True)],
    )
    assert kubectl_ready(meshed) == (2, 2)


def test_ready_counts_restartable_init_containers():
    native = pod(["app"], init=[("istio-proxy", "Always")], statuses=[status("app", True)])
    assert kubectl_ready(native) == (1, 2), "a native sidecar without status is not ready"
    native.status.init_container_statuses = [status("istio-proxy", True, started=True)]
    assert kubectl_ready(native) == (2, 2)


def test_native_istio_sidecar_counts_like_kubectl_once_initialization_is_done():
    native = pod(
        ["app"],
        init=ISTIO_NATIVE_INIT,
        statuses=[status("app", True)],
        init_statuses=[
            status("istio-validation", False, exit_code=0),
            status("istio-proxy", True, started=True),
        ],
        initialized="True",
    )
    assert kubectl_ready(native) == (2, 2)


def test_init_statuses_after_a_running_one_time_init_are_not_read():
    # kubectl stops at the first init container still initializing: the proxy behind it is not counted,
    # nor are regular containers until the pod is Initialized.
    initializing = pod(
        ["app"],
        init=ISTIO_NATIVE_INIT,
        statuses=[status("app", True)],
        init_statuses=[status("istio-validation", False), status("istio-proxy", True, started=True)],
        initialized="False",
    )
    assert kubectl_ready(initializing) == (0, 2)
    initializing.status.conditions[0].status = "True"
    assert kubectl_ready(initializing) == (1, 2), "an Initialized pod counts its regular containers"


def test_started_but_unready_native_sidecar_is_not_ready():
    native = pod(
        ["app"],
        init=[("istio-proxy", "Always")],
        statuses=[status("app", True)],
        init_statuses=[status("istio-proxy", False, started=True)],
    )
    assert kubectl_ready(native) == (1, 2)


def test_waiting_or_terminated_regular_containers_are_not_ready():
    assert kubectl_ready(pod(["app"], statuses=[status("app", True, waiting="CrashLoopBackOff")])) == (0, 1)
    assert kubectl_ready(pod(["app"], statuses=[status("app", True, exit_code=0)])) == (0, 1)


def test_long_running_containers_include_native_sidecars_only():
    classic = pod(["app", "istio-proxy"], init=[("istio-init", None)])
    native = pod(["app"], init=ISTIO_NATIVE_INIT)
    assert long_running_container_names(classic) == ["app", "istio-proxy"]
    assert long_running_container_names(native) == ["app", "istio-proxy"]
    assert long_running_container_names(pod(["app"], init=[("istio-init", None)])) == ["app"]


def test_ready_requires_running_state():
    assert kubectl_ready(pod(["app"], statuses=[status("app", True, running=False)])) == (0, 1)


class NodeLister:
    """Answers list_node for one virtual node, and records what the suite asked the API server."""

    def __init__(self, virtual: str) -> None:
        self.virtual = virtual
        self.asked: list[dict[str, str]] = []

    def list_node(self, **query: str) -> client.V1NodeList:
        self.asked.append(query)
        name = query["field_selector"].removeprefix("metadata.name=")
        return client.V1NodeList(items=[client.V1Node()] if name == self.virtual else [])


@pytest.mark.parametrize(
    "selector", ["type=virtual-kubelet", "type in (virtual-kubelet),!kwok.x-k8s.io/node"]
)
def test_virtual_node_is_judged_by_the_api_server_with_the_declared_selector(selector):
    observation = Observation(virtual_node_selector=selector)
    core = NodeLister("vk-i")
    assert is_virtual_node(core, "vk-i", observation)
    assert not is_virtual_node(core, "kwok-0", observation)
    assert core.asked == [
        {"label_selector": selector, "field_selector": "metadata.name=vk-i"},
        {"label_selector": selector, "field_selector": "metadata.name=kwok-0"},
    ]
