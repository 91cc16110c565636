"""assert_pod_stays: a pod created before a change must stay as it was for the whole hold window."""

from __future__ import annotations

import re

import pytest
from kubernetes import client

from tests.unit.harness.builders import implementation
from vnode_harness.formats.implementation import Limits
from vnode_harness.plumbing.waits import ConsistencyViolation
from vnode_harness.testapi.checks import assert_pod_stays, pod_stays_probe

SG = "k8s.aliyun.com/eci-security-group"


def made_pod(uid="u1", node="worker-1", annotations=None):
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name="web", namespace="ns", uid=uid, annotations=annotations or {}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="app")], node_name=node),
    )


class Core:
    """Answers read_namespaced_pod from a script: one pod (or an ApiException) per read, the last repeats."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.reads = 0

    def read_namespaced_pod(self, name, namespace):
        answer = self.answers[min(self.reads, len(self.answers) - 1)]
        self.reads += 1
        if isinstance(answer, Exception):
            raise answer
        return answer


ORIGINAL = made_pod(annotations={SG: "sg-before"})


@pytest.mark.parametrize(
    ("later", "message"),
    [
        (made_pod(uid="u2", annotations={SG: "sg-before"}), "replaced .uid u1 → u2."),
        (made_pod(node="virtual-kubelet-1", annotations={SG: "sg-before"}), "moved from node worker-1"),
        (made_pod(annotations={SG: "sg-after"}), "annotation k8s.aliyun.com/eci-security-group='sg-after'"),
        (
            made_pod(annotations={SG: "sg-before", "k8s.aliyun.com/eci-auto-imc": "true"}),
            "auto-imc='true' appeared",
        ),
        (client.ApiException(status=404), "pod ns/web was deleted"),
    ],
    ids=["replaced", "moved", "re-annotated", "effect-added-later", "deleted"],
)
def test_each_way_of_not_staying_is_named(later, message):
    probe = pod_stays_probe(
        Core(later),
        ORIGINAL,
        annotations={SG: "sg-before"},
        absent_annotations=("k8s.aliyun.com/eci-auto-imc",),
    )
    value, seen = probe()
    assert value is None
    assert re.search(message, seen), seen


def test_a_change_a_few_samples_after_the_change_is_caught_over_the_window():
    impl = implementation(["core-scheduling"]).model_copy(update={"limits": Limits(hold_seconds=2)})
    core = Core(ORIGINAL, ORIGINAL, ORIGINAL, made_pod(annotations={SG: "sg-after"}))
    with pytest.raises(
        ConsistencyViolation, match=r"created before the hot update, to stay as it was.*sample 4"
    ):
        assert_pod_stays(core, ORIGINAL, impl, "the hot update", annotations={SG: "sg-before"})


def test_an_untouched_pod_passes_after_sampling_the_window():
    impl = implementation(["core-scheduling"]).model_copy(update={"limits": Limits(hold_seconds=1)})
    core = Core(ORIGINAL)
    assert_pod_stays(core, ORIGINAL, impl, "the hot update", annotations={SG: "sg-before"})
    assert core.reads >= 2
