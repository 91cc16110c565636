"""Cluster-level parameters and hot updates (eci-profile document, "Update cluster-level parameters":
changes apply to new ECI pods without restarting; existing pods only after a rolling update)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client

from vnode_harness.formats.names import ECI_LABEL
from vnode_harness.plumbing.waits import WaitTimeout, wait_for
from vnode_harness.testapi.checks import (
    assert_metadata,
    assert_on_regular_node,
    assert_on_virtual_node,
    assert_pod_stays,
    run_pod,
)
from vnode_harness.testapi.workloads import pod_image


def params(implementation):
    return implementation.observation.vswitch_annotation, implementation.observation.security_group_annotation


def assert_not_restarted(identity_before, identity_after):
    if identity_before.kind == "pods" and not identity_before.members:
        pytest.skip(
            "the implementation's declared implementationPods match no pod: 'without restarting' "
            "cannot be observed (not conformant); fix observation.implementationPods"
        )
    if identity_before.kind == "undeclared":
        pytest.skip(
            "the implementation declares neither implementationPods nor runs as a host process: "
            "'without restarting' cannot be observed (not conformant)"
        )
    assert identity_after.alive, f"the implementation is no longer running: {identity_after}"
    assert identity_after == identity_before, (
        f"the implementation was restarted or replaced while the profile changed: before {identity_before}, "
        f"after {identity_after}"
    )


@pytest.mark.requirement("HOT-SELECTORS")
def test_selector_changes_apply_to_new_pods_without_restart(
    core, namespace, implementation, eci_profile, implementation_identity
):
    before = implementation_identity()
    eci_profile.apply(
        {"selectors": json.dumps([{"name": "old", "objectSelector": {"matchLabels": {"wave": "old"}}}])}
    )
    first = run_pod(core, namespace.name, "old-1", implementation, labels={"wave": "old"})
    eci_profile.apply(
        {"selectors": json.dumps([{"name": "new", "objectSelector": {"matchLabels": {"wave": "new"}}}])}
    )
    new = run_pod(core, namespace.name, "new-1", implementation, labels={"wave": "new"})
    old_again = run_pod(core, namespace.name, "old-2", implementation, labels={"wave": "old"})
    assert_on_virtual_node(core, first, implementation)
    assert_on_virtual_node(core, new, implementation)
    assert_on_regular_node(core, old_again, implementation)
    assert_not_restarted(before, implementation_identity())


@pytest.mark.requirement("HOT-PARAMS-NEW-PODS")
def test_parameter_changes_apply_to_new_eci_pods_without_restart(
    core, namespace, implementation, eci_profile, implementation_identity
):
    vswitch, security_group = params(implementation)
    before = implementation_identity()
    eci_profile.apply({"securityGroupId": "sg-conformance-first", "vSwitchIds": "vsw-conformance-a"})
    first = run_pod(core, namespace.name, "first", implementation, labels={ECI_LABEL: "true"})
    eci_profile.apply({"securityGroupId": "sg-conformance-second", "vSwitchIds": "vsw-conformance-b"})
    second = run_pod(core, namespace.name, "second", implementation, labels={ECI_LABEL: "true"})
    assert_metadata(first, annotations={security_group: "sg-conformance-first", vswitch: "vsw-conformance-a"})
    assert_metadata(
        second, annotations={security_group: "sg-conformance-second", vswitch: "vsw-conformance-b"}
    )
    assert_not_restarted(before, implementation_identity())


def _deployment(name: str) -> dict[str, Any]:
    labels = {"app": name, ECI_LABEL: "true"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "terminationGracePeriodSeconds": 0,
                    "containers": [{"name": "nginx", "image": pod_image()}],
                },
            },
        },
    }


def _single_running_pod(core, namespace, app, implementation, exclude_uid=None):
    def probe():
        pods = core.list_namespaced_pod(namespace, label_selector=f"app={app}").items
        live = [p for p in pods if p.metadata.deletion_timestamp is None and p.metadata.uid != exclude_uid]
        running = [p for p in live if p.status.phase == "Running"]
        done = len(pods) == 1 and len(running) == 1
        return (running[0] if done else None), [(p.metadata.name, p.status.phase) for p in pods]

    return wait_for(
        f"exactly one running pod of deployment {app}",
        probe,
        timeout=implementation.limits.pod_running_seconds * 2,
        hint=f"kubectl -n {namespace} get pods -l app={app}",
    )


@pytest.mark.requirement("HOT-PARAMS-EXISTING")
def test_existing_pods_keep_their_values_until_a_rolling_update(
    core, api, namespace, implementation, eci_profile
):
    _, security_group = params(implementation)
    apps = client.AppsV1Api(api)
    eci_profile.apply({"securityGroupId": "sg-conformance-before"})
    apps.create_namespaced_deployment(namespace.name, _deployment("web"))
    original = _single_running_pod(core, namespace.name, "web", implementation)
    assert_metadata(original, annotations={security_group: "sg-conformance-before"})
    eci_profile.apply({"securityGroupId": "sg-conformance-after"})
    # "Existing pods pick up changes only after a rolling update": the pod is neither replaced nor
    # re-annotated over the hold window.
    assert_pod_stays(
        core,
        original,
        implementation,
        "the hot update of securityGroupId",
        annotations={security_group: "sg-conformance-before"},
    )
    apps.patch_namespaced_deployment(
        "web",
        namespace.name,
        {"spec": {"template": {"metadata": {"annotations": {"conformance.vnode.dev/rollout": "1"}}}}},
    )
    rolled = _single_running_pod(
        core, namespace.name, "web", implementation, exclude_uid=original.metadata.uid
    )
    assert_on_virtual_node(core, rolled, implementation)
    assert_metadata(rolled, annotations={security_group: "sg-conformance-after"})


@pytest.mark.requirement("PARAM-DEFAULTS")
def test_profile_values_are_defaults_that_a_pod_may_override(core, namespace, implementation, eci_profile):
    vswitch, security_group = params(implementation)
    eci_profile.apply(
        {"securityGroupId": "sg-conformance-profile", "vSwitchIds": "vsw-conformance-1,vsw-conformance-2"}
    )
    defaulted = run_pod(core, namespace.name, "defaulted", implementation, labels={ECI_LABEL: "true"})
    own = run_pod(
        core,
        namespace.name,
        "own",
        implementation,
        labels={ECI_LABEL: "true"},
        annotations={vswitch: "vsw-pod-own", security_group: "sg-pod-own"},
    )
    assert_metadata(
        defaulted,
        annotations={
            vswitch: "vsw-conformance-1,vsw-conformance-2",
            security_group: "sg-conformance-profile",
        },
    )
    assert_metadata(own, annotations={vswitch: "vsw-pod-own", security_group: "sg-pod-own"})


@pytest.mark.requirement("PARAM-VALIDATION")
@pytest.mark.parametrize(
    "invalid",
    [
        {"enableLogController": "true", "slsMachineGroup": ""},
        {"featureGates": "SomethingElse=true"},
    ],
    ids=["log-controller-without-machine-group", "unknown-feature-gate"],
)
def test_rejected_profile_leaves_last_valid_one_in_force(
    core, namespace, implementation, eci_profile, invalid
):
    _, security_group = params(implementation)
    eci_profile.apply({"securityGroupId": "sg-conformance-valid"})
    eci_profile.apply_invalid({**invalid, "securityGroupId": "sg-conformance-rejected"})
    pod = run_pod(core, namespace.name, "nginx", implementation, labels={ECI_LABEL: "true"})
    assert_metadata(pod, annotations={security_group: "sg-conformance-valid"})


@pytest.mark.requirement("PARAM-OMITTED-DEFAULTS")
def test_omitted_optional_parameters_take_their_documented_defaults(
    core, namespace, implementation, eci_profile
):
    _, security_group = params(implementation)
    # No featureGates, no enableLogController, no slsMachineGroup: the profile is valid as it is.
    eci_profile.apply(
        {
            "featureGates": None,
            "enableLogController": None,
            "slsMachineGroup": None,
            "securityGroupId": "sg-conformance-omitted",
        }
    )
    pod = run_pod(core, namespace.name, "nginx", implementation, labels={ECI_LABEL: "true"})
    assert_metadata(pod, annotations={security_group: "sg-conformance-omitted"})


@pytest.mark.requirement("PARAM-OMITTED-DEFAULTS")
def test_parameter_omitted_after_a_non_default_value_takes_its_default(
    core, namespace, implementation, eci_profile
):
    _, security_group = params(implementation)
    eci_profile.apply(
        {
            "enableLogController": "true",
            "slsMachineGroup": "conformance-group",
            "securityGroupId": "sg-conformance-logging",
        }
    )
    # enableLogController omitted: its default "false" needs no slsMachineGroup, so this profile is valid,
    # unless the implementation kept the previous profile's "true" for the key it no longer finds.
    try:
        eci_profile.apply(
            {"enableLogController": None, "slsMachineGroup": "", "securityGroupId": "sg-conformance-fallback"}
        )
    except WaitTimeout as timeout:
        raise AssertionError(
            'a profile without enableLogController (default "false") and with an empty slsMachineGroup was '
            'not applied after one with enableLogController "true": the omitted parameter did not fall back '
            f"to its default\n{timeout}"
        ) from None
    pod = run_pod(core, namespace.name, "nginx", implementation, labels={ECI_LABEL: "true"})
    assert_metadata(pod, annotations={security_group: "sg-conformance-fallback"})


@pytest.mark.requirement("PARAM-OMITTED-DEFAULTS", "PARAM-VALIDATION")
def test_parameter_omitted_after_a_value_is_not_remembered(core, namespace, implementation, eci_profile):
    _, security_group = params(implementation)
    eci_profile.apply(
        {
            "enableLogController": "true",
            "slsMachineGroup": "conformance-group",
            "securityGroupId": "sg-conformance-valid",
        }
    )
    # slsMachineGroup omitted: its default "" does not satisfy enableLogController "true", so the profile
    # is invalid, although the previous one named a machine group.
    eci_profile.apply_invalid(
        {
            "enableLogController": "true",
            "slsMachineGroup": None,
            "securityGroupId": "sg-conformance-rejected",
        }
    )
    pod = run_pod(core, namespace.name, "nginx", implementation, labels={ECI_LABEL: "true"})
    assert_metadata(pod, annotations={security_group: "sg-conformance-valid"})
