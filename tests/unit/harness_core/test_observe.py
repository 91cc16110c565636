from kubernetes import client

from vnode_harness.implementation import Observation
from vnode_harness.observe import is_virtual_node, kubectl_ready, parse_label_selector


def pod(containers, init=(), statuses=(), init_statuses=(), phase="Running"):
    return client.V1Pod(
        spec=client.V1PodSpec(
            containers=[client.V1Container(name=n) for n in containers],
            init_containers=[client.V1Container(name=n, restart_policy=p) for n, p in init],
        ),
        status=client.V1PodStatus(
            phase=phase, container_statuses=list(statuses), init_container_statuses=list(init_statuses)
        ),
    )


def status(name, ready, running=True, started=None):
    state = client.V1ContainerState(running=client.V1ContainerStateRunning() if running else None)
    return client.V1ContainerStatus(
        name=name, ready=ready, started=started, state=state, image="i", image_id="", restart_count=0
    )


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


def test_ready_requires_running_state():
    assert kubectl_ready(pod(["app"], statuses=[status("app", True, running=False)])) == (0, 1)


def test_virtual_node_is_judged_by_the_observation_selector():
    observation = Observation()
    assert parse_label_selector("type=virtual-kubelet,a=b") == {"type": "virtual-kubelet", "a": "b"}
    virtual = client.V1Node(metadata=client.V1ObjectMeta(labels={"type": "virtual-kubelet"}))
    regular = client.V1Node(metadata=client.V1ObjectMeta(labels={"type": "kwok"}))
    assert is_virtual_node(virtual, observation)
    assert not is_virtual_node(regular, observation)
