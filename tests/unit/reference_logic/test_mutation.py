"""plan_pod_patch: routing ops, effects in precedence order, parameter defaults, idempotence."""

import json

import pytest

from eci_reference.constants import ECI_LABEL, SECURITY_GROUP_ANNOTATION, VSWITCH_ANNOTATION
from eci_reference.mutation import (
    MalformedPodError,
    escape_pointer_token,
    plan_pod_patch,
    tolerates_virtual_node_taint,
    virtual_node_toleration,
)
from eci_reference.profile import DEFAULT_PROFILE_DATA, parse_profile

from .jsonpatch_apply import apply_patch
from .seed_examples import EXAMPLE_2, EXAMPLE_3, TEMPLATE

TOLERATION = {"key": "virtual-kubelet.io/provider", "operator": "Exists", "effect": "NoSchedule"}
NO_PARAMETERS = parse_profile({})
DEFAULTS = parse_profile(DEFAULT_PROFILE_DATA)


def profile_of(*selectors, **data):
    return parse_profile({"selectors": json.dumps(list(selectors)), **data})


def make_pod(labels=None, annotations=None, **spec):
    metadata = {"generateName": "web-", "namespace": "default"}
    if labels is not None:
        metadata["labels"] = labels
    if annotations is not None:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {"containers": [{"name": "c"}], **spec},
    }


def mutated(pod, namespace_labels, profile):
    """The pod after the webhook, checking idempotence on the way (a second call adds nothing)."""
    result = apply_patch(pod, plan_pod_patch(pod, namespace_labels, profile).ops)
    assert plan_pod_patch(result, namespace_labels, profile).ops == ()
    return result


ECI = {ECI_LABEL: "true"}


# --- routing ops --------------------------------------------------------------------------------


def test_non_eci_pod_gets_no_ops():
    patch = plan_pod_patch(make_pod({"app": "web"}), {}, DEFAULTS)
    assert patch.ops == ()
    assert patch.warnings == ()
    assert not patch.routing.is_eci


def test_eci_pod_gets_node_selector_and_toleration():
    pod = mutated(make_pod(ECI), {}, NO_PARAMETERS)
    assert pod["spec"]["nodeSelector"] == {"type": "virtual-kubelet"}
    assert pod["spec"]["tolerations"] == [TOLERATION]
    assert "nodeName" not in pod["spec"]


def test_exact_ops_for_a_minimal_eci_pod():
    patch = plan_pod_patch(make_pod(ECI), {}, DEFAULTS)
    assert list(patch.ops) == [
        {"op": "add", "path": "/spec/nodeSelector", "value": {"type": "virtual-kubelet"}},
        {"op": "add", "path": "/spec/tolerations", "value": [TOLERATION]},
        {
            "op": "add",
            "path": "/metadata/annotations",
            "value": {
                VSWITCH_ANNOTATION: "vsw-hz-i,vsw-hz-j",
                SECURITY_GROUP_ANNOTATION: "sg-reference-default",
            },
        },
    ]


def test_existing_node_selector_and_tolerations_are_extended():
    other = {"key": "dedicated", "operator": "Equal", "value": "x", "effect": "NoSchedule"}
    pod = mutated(make_pod(ECI, nodeSelector={"disk": "ssd"}, tolerations=[other]), {}, NO_PARAMETERS)
    assert pod["spec"]["nodeSelector"] == {"disk": "ssd", "type": "virtual-kubelet"}
    assert pod["spec"]["tolerations"] == [other, TOLERATION]


@pytest.mark.parametrize(
    "toleration",
    [
        TOLERATION,
        {"key": "virtual-kubelet.io/provider", "operator": "Exists"},
        {"operator": "Exists"},
        {"key": "", "operator": "Exists", "effect": "NoSchedule"},
    ],
)
def test_equivalent_toleration_is_not_added_again(toleration):
    patch = plan_pod_patch(make_pod(ECI, tolerations=[toleration]), {}, NO_PARAMETERS)
    assert all(not op["path"].startswith("/spec/tolerations") for op in patch.ops)
    assert tolerates_virtual_node_taint([toleration])


@pytest.mark.parametrize(
    "toleration",
    [
        {
            "key": "virtual-kubelet.io/provider",
            "operator": "Equal",
            "value": "alibabacloud",
            "effect": "NoSchedule",
        },
        {"key": "virtual-kubelet.io/provider", "operator": "Exists", "effect": "NoExecute"},
        {"key": "other", "operator": "Exists"},
    ],
)
def test_non_equivalent_toleration_gets_ours_added(toleration):
    assert not tolerates_virtual_node_taint([toleration, "not-a-toleration"])
    patch = plan_pod_patch(make_pod(ECI, tolerations=[toleration]), {}, NO_PARAMETERS)
    assert {"op": "add", "path": "/spec/tolerations/-", "value": TOLERATION} in patch.ops


def test_conflicting_node_selector_is_kept_with_a_warning():
    pod = make_pod(ECI, nodeSelector={"type": "gpu"})
    patch = plan_pod_patch(pod, {}, NO_PARAMETERS)
    assert all(not op["path"].startswith("/spec/nodeSelector") for op in patch.ops)
    assert patch.warnings == ("pod sets nodeSelector type='gpu'; kept, so it will not run on a virtual node",)
    assert apply_patch(pod, patch.ops)["spec"]["nodeSelector"] == {"type": "gpu"}


def test_pod_bound_by_node_name_gets_no_scheduling_ops():
    patch = plan_pod_patch(make_pod(ECI, nodeName="worker-1"), {}, DEFAULTS)
    assert [op["path"] for op in patch.ops] == ["/metadata/annotations"]
    assert patch.warnings == (
        "pod is already bound to node 'worker-1' by spec.nodeName; no nodeSelector or toleration added "
        "for virtual nodes",
    )


def test_null_maps_are_replaced_by_new_ones():
    pod = make_pod(ECI, nodeSelector=None, tolerations=None)
    pod["metadata"]["annotations"] = None
    result = mutated(pod, {}, DEFAULTS)
    assert result["spec"]["nodeSelector"] == {"type": "virtual-kubelet"}
    assert result["metadata"]["annotations"][VSWITCH_ANNOTATION] == "vsw-hz-i,vsw-hz-j"


def test_missing_metadata_and_spec_are_created():
    result = mutated({"kind": "Pod"}, ECI, DEFAULTS)
    assert result["metadata"]["annotations"][SECURITY_GROUP_ANNOTATION] == "sg-reference-default"
    assert result["spec"]["nodeSelector"] == {"type": "virtual-kubelet"}


@pytest.mark.parametrize(
    ("pod", "message"),
    [
        ({"metadata": "x"}, "metadata must be a JSON object"),
        ({"metadata": {"labels": {"a": 1}}}, "metadata.labels must be a map of strings"),
        (
            {"metadata": {"labels": ECI, "annotations": ["a"]}},
            "metadata.annotations must be a map of strings",
        ),
        ({"metadata": {"labels": ECI}, "spec": []}, "spec must be a JSON object"),
        (
            {"metadata": {"labels": ECI}, "spec": {"nodeSelector": "x"}},
            "spec.nodeSelector must be a map of strings",
        ),
        ({"metadata": {"labels": ECI}, "spec": {"tolerations": {}}}, "spec.tolerations must be a list"),
    ],
)
def test_malformed_pods_are_reported(pod, message):
    with pytest.raises(MalformedPodError, match=message):
        plan_pod_patch(pod, {}, NO_PARAMETERS)


def test_json_pointer_tokens_are_escaped():
    assert escape_pointer_token("k8s.aliyun.com/eci-vswitch") == "k8s.aliyun.com~1eci-vswitch"
    assert escape_pointer_token("a~b/c") == "a~0b~1c"
    patch = plan_pod_patch(make_pod(ECI, annotations={"x": "1"}), {}, DEFAULTS)
    assert {
        "op": "add",
        "path": "/metadata/annotations/k8s.aliyun.com~1eci-vswitch",
        "value": "vsw-hz-i,vsw-hz-j",
    } in (patch.ops)


def test_virtual_node_toleration_is_a_fresh_dict():
    first = virtual_node_toleration()
    first["effect"] = "changed"
    assert virtual_node_toleration() == TOLERATION


# --- effects ------------------------------------------------------------------------------------


def test_example_2_injects_annotation_and_label():
    pod = mutated(make_pod({"app": "train"}), {"gpu": "true"}, parse_profile({"selectors": EXAMPLE_2}))
    assert pod["metadata"]["labels"] == {"app": "train", "gpu": "test"}
    assert pod["metadata"]["annotations"] == {"k8s.aliyun.com/eci-use-specs": "ecs.gn6v-c8g1.2xlarge"}


def test_example_3_injects_auto_imc():
    pod = mutated(make_pod({"imc": "auto"}), {}, parse_profile({"selectors": EXAMPLE_3}))
    assert pod["metadata"]["annotations"] == {"k8s.aliyun.com/eci-auto-imc": "true"}


def test_template_injects_created_by_eci_label():
    pod = mutated(make_pod({"eci": "true"}), {"eci": "true"}, parse_profile({"selectors": TEMPLATE}))
    assert pod["metadata"]["labels"]["created-by-eci"] == "true"
    assert pod["metadata"]["annotations"]["k8s.aliyun.com/eci-use-specs"] == "ecs.c6.xlarge"


def test_effects_never_overwrite_the_pods_own_values():
    pod = make_pod({"app": "train", "gpu": "mine"}, {"k8s.aliyun.com/eci-use-specs": "ecs.mine"})
    result = mutated(pod, {"gpu": "true"}, parse_profile({"selectors": EXAMPLE_2}))
    assert result["metadata"]["labels"]["gpu"] == "mine"
    assert result["metadata"]["annotations"]["k8s.aliyun.com/eci-use-specs"] == "ecs.mine"


def test_first_matching_selector_wins_and_other_keys_are_all_injected():
    profile = profile_of(
        {
            "name": "one",
            "objectSelector": {"matchLabels": {"app": "web"}},
            "effect": {"labels": {"shared": "one", "only-one": "1"}, "annotations": {"note": "one"}},
        },
        {
            "name": "two",
            "namespaceSelector": {"matchLabels": {"team": "a"}},
            "effect": {
                "labels": {"shared": "two", "only-two": "2"},
                "annotations": {"note": "two", "extra": "2"},
            },
        },
    )
    result = mutated(make_pod({"app": "web"}), {"team": "a"}, profile)
    assert result["metadata"]["labels"] == {"app": "web", "shared": "one", "only-one": "1", "only-two": "2"}
    assert result["metadata"]["annotations"] == {"note": "one", "extra": "2"}


def test_profile_order_decides_not_the_kind_of_selector():
    profile = profile_of(
        {
            "name": "by-namespace",
            "namespaceSelector": {"matchLabels": {"team": "a"}},
            "effect": {"labels": {"k": "ns"}},
        },
        {
            "name": "by-pod",
            "objectSelector": {"matchLabels": {"app": "web"}},
            "effect": {"labels": {"k": "pod"}},
        },
    )
    assert mutated(make_pod({"app": "web"}), {"team": "a"}, profile)["metadata"]["labels"]["k"] == "ns"


def test_global_effects_apply_to_every_eci_pod_in_order():
    profile = profile_of(
        {"name": "global-a", "effect": {"labels": {"k": "global-a"}}},
        {
            "name": "by-pod",
            "objectSelector": {"matchLabels": {"app": "web"}},
            "effect": {"labels": {"k": "pod", "p": "1"}},
        },
        {"name": "global-b", "effect": {"labels": {"k": "global-b", "g": "b"}}},
    )
    by_selector = mutated(make_pod({"app": "web"}), {}, profile)
    assert by_selector["metadata"]["labels"] == {"app": "web", "k": "global-a", "p": "1", "g": "b"}
    by_namespace_label = mutated(make_pod({"app": "db"}), ECI, profile)
    assert by_namespace_label["metadata"]["labels"] == {"app": "db", "k": "global-a", "g": "b"}


def test_global_effects_are_not_applied_to_regular_pods():
    profile = profile_of({"name": "everyone", "effect": {"labels": {"k": "v"}, "annotations": {"a": "b"}}})
    assert plan_pod_patch(make_pod({"app": "web"}), {}, profile).ops == ()
    assert plan_pod_patch(make_pod({ECI_LABEL: "false"}), {}, profile).ops == ()


def test_an_injected_label_can_make_another_selector_match_in_the_same_call():
    # The API server would call us again for the second selector's vk-webhook entry with the patched
    # pod; the result must not depend on that order, so one call already applies both.
    profile = profile_of(
        {
            "name": "marks",
            "objectSelector": {"matchLabels": {"app": "web"}},
            "effect": {"labels": {"tier": "gold"}},
        },
        {
            "name": "by-tier",
            "objectSelector": {"matchLabels": {"tier": "gold"}},
            "effect": {"annotations": {"t": "1"}},
        },
    )
    patch = plan_pod_patch(make_pod({"app": "web"}), {}, profile)
    assert [selector.name for selector in patch.effect_selectors] == ["marks", "by-tier"]
    result = mutated(make_pod({"app": "web"}), {}, profile)
    assert result["metadata"]["labels"]["tier"] == "gold"
    assert result["metadata"]["annotations"] == {"t": "1"}


# --- parameter defaults ---------------------------------------------------------------------------


def test_parameter_defaults_are_added_when_the_pod_lacks_them():
    result = mutated(make_pod(ECI), {}, DEFAULTS)
    assert result["metadata"]["annotations"] == {
        VSWITCH_ANNOTATION: "vsw-hz-i,vsw-hz-j",
        SECURITY_GROUP_ANNOTATION: "sg-reference-default",
    }


def test_the_pods_own_parameters_are_kept():
    own = {VSWITCH_ANNOTATION: "vsw-own", SECURITY_GROUP_ANNOTATION: "sg-own"}
    assert (
        plan_pod_patch(
            make_pod(ECI, own, nodeSelector={"type": "virtual-kubelet"}, tolerations=[TOLERATION]),
            {},
            DEFAULTS,
        ).ops
        == ()
    )


def test_one_own_parameter_and_one_default():
    result = mutated(make_pod(ECI, {VSWITCH_ANNOTATION: "vsw-own"}), {}, DEFAULTS)
    assert result["metadata"]["annotations"] == {
        VSWITCH_ANNOTATION: "vsw-own",
        SECURITY_GROUP_ANNOTATION: "sg-reference-default",
    }


def test_effects_come_before_parameter_defaults():
    profile = profile_of(
        {"name": "pinned", "effect": {"annotations": {VSWITCH_ANNOTATION: "vsw-from-effect"}}},
        vSwitchIds="vsw-hz-i",
        securityGroupId="sg-1",
    )
    result = mutated(make_pod(ECI), {}, profile)
    assert result["metadata"]["annotations"] == {
        VSWITCH_ANNOTATION: "vsw-from-effect",
        SECURITY_GROUP_ANNOTATION: "sg-1",
    }


def test_empty_parameters_are_not_injected():
    result = mutated(make_pod(ECI), {}, NO_PARAMETERS)
    assert "annotations" not in result["metadata"]


def test_regular_pods_get_no_parameters():
    assert plan_pod_patch(make_pod({"app": "x"}), {"team": "a"}, DEFAULTS).ops == ()
