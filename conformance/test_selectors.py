"""ECI Scheduler selectors of the eci-profile (eci-profile document, "Configure selectors",
"Verify selectors", Examples 1-3)."""

from __future__ import annotations

import json

import pytest
from kubernetes import client

from vnode_harness.testkit.checks import assert_on_regular_node, assert_on_virtual_node, run_pod
from vnode_harness.testkit.fixtures import profile_fixture, selectors_of
from vnode_harness.waits import wait_for

ECI = "alibabacloud.com/eci"


def webhook_entries(api, implementation):
    """The entries of the implementation's webhook configuration ([] while it does not exist)."""
    try:
        config = client.AdmissionregistrationV1Api(api).read_mutating_webhook_configuration(
            implementation.observation.webhook_configuration_name
        )
    except client.ApiException as error:
        if error.status == 404:
            return []
        raise
    return config.webhooks or []


def kubectl_webhook(implementation):
    name = implementation.observation.webhook_configuration_name
    return f"kubectl get mutatingwebhookconfigurations {name} -o yaml"


def describe_selector(selector):
    return (
        f"{selector.get('name', '<unnamed>')} (namespaceSelector {selector.get('namespaceSelector')}, "
        f"objectSelector {selector.get('objectSelector')})"
    )


def shows_selector(entries, selector) -> bool:
    """Whether one webhook entry carries exactly this selector's matchLabels on each side it sets."""
    wanted_ns = (selector.get("namespaceSelector") or {}).get("matchLabels")
    wanted_obj = (selector.get("objectSelector") or {}).get("matchLabels")
    for entry in entries:
        ns = (entry.namespace_selector.match_labels or {}) if entry.namespace_selector else {}
        obj = (entry.object_selector.match_labels or {}) if entry.object_selector else {}
        if (wanted_ns is None or ns == wanted_ns) and (wanted_obj is None or obj == wanted_obj):
            return True
    return False


@pytest.mark.requirement("SEL-OBJECT")
def test_object_selector_routes_matching_pods(core, namespace, implementation, eci_profile):
    eci_profile.apply(profile_fixture("configuration-template"))
    demo2 = run_pod(core, namespace.name, "nginx-demo2", implementation, labels={"eci": "test"})
    other = run_pod(core, namespace.name, "nginx", implementation, labels={"eci": "other"})
    assert_on_virtual_node(core, demo2, implementation)
    assert_on_regular_node(core, other, implementation)


@pytest.mark.requirement("SEL-NAMESPACE")
def test_namespace_selector_routes_every_pod_of_matching_namespaces(
    core, namespace_factory, implementation, eci_profile
):
    eci_profile.apply(profile_fixture("example-2-gpu"))
    gpu = namespace_factory({"gpu": "true"})
    plain = namespace_factory()
    routed = run_pod(core, gpu.name, "nginx", implementation)
    control = run_pod(core, plain.name, "nginx", implementation)
    assert_on_virtual_node(core, routed, implementation)
    assert_on_regular_node(core, control, implementation)


@pytest.mark.requirement("SEL-AND-BOTH")
def test_both_selectors_must_match(core, namespace_factory, implementation, eci_profile):
    eci_profile.apply(profile_fixture("example-1-route-specific-pods"))
    eci_namespace = namespace_factory({"type": "eci"})
    plain = namespace_factory()
    both = run_pod(core, eci_namespace.name, "both", implementation, labels={"created-by-eci": "true"})
    namespace_only = run_pod(core, eci_namespace.name, "namespace-only", implementation)
    pod_only = run_pod(core, plain.name, "pod-only", implementation, labels={"created-by-eci": "true"})
    assert_on_virtual_node(core, both, implementation)
    assert_on_regular_node(core, namespace_only, implementation)
    assert_on_regular_node(core, pod_only, implementation)


@pytest.mark.requirement("SEL-AND-LABELS")
def test_labels_of_one_match_labels_are_anded(core, namespace, implementation, eci_profile):
    selectors = [{"name": "two-labels", "objectSelector": {"matchLabels": {"team": "a", "tier": "batch"}}}]
    eci_profile.apply({"selectors": json.dumps(selectors)})
    both = run_pod(core, namespace.name, "both", implementation, labels={"team": "a", "tier": "batch"})
    one = run_pod(core, namespace.name, "one", implementation, labels={"team": "a"})
    assert_on_virtual_node(core, both, implementation)
    assert_on_regular_node(core, one, implementation)


@pytest.mark.requirement("SEL-WEBHOOK-VISIBLE")
def test_saved_selectors_show_in_the_webhook_configuration(api, implementation, eci_profile):
    # "After saving the profile ... the output contains your configured selectors": a profile in force
    # for admission does not mean the configuration has been rewritten yet (an implementation whose
    # webhook sees every pod may rewrite it later), so wait up to the published limit.
    eci_profile.apply(profile_fixture("configuration-template"))
    selectors = selectors_of("configuration-template")

    def all_shown():
        entries = webhook_entries(api, implementation)
        missing = [describe_selector(s) for s in selectors if not shows_selector(entries, s)]
        return (None if missing else True), f"{len(entries)} entries; not shown: {missing}"

    wait_for(
        f"every selector of the saved profile to show in MutatingWebhookConfiguration "
        f"{implementation.observation.webhook_configuration_name}",
        all_shown,
        timeout=implementation.limits.webhook_configuration_seconds,
        hint=kubectl_webhook(implementation),
    )


@pytest.mark.requirement("SEL-INVALID-JSON")
@pytest.mark.parametrize(
    "selectors",
    [
        '[{"name": "broken", "objectSelector": {"matchLabels": {"broken-selector": "true"}}',  # not JSON
        '[{"objectSelector": {"matchLabels": {"broken-selector": "true"}}}]',  # no name
        '{"name": "broken", "objectSelector": {"matchLabels": {"broken-selector": "true"}}}',  # not a list
    ],
    ids=["truncated-json", "missing-name", "not-a-list"],
)
def test_invalid_selectors_are_not_active(api, core, namespace, implementation, eci_profile, selectors):
    broken_selector = {"objectSelector": {"matchLabels": {"broken-selector": "true"}}}

    def not_shown():
        entries = webhook_entries(api, implementation)
        shown = shows_selector(entries, broken_selector)
        return (None if shown else True), (
            "an entry with objectSelector broken-selector=true" if shown else f"{len(entries)} entries"
        )

    # Held over the hold window together with "the last valid profile stays in force".
    eci_profile.apply_invalid(
        {"selectors": selectors},
        also_holding={
            f"the invalid selector out of MutatingWebhookConfiguration "
            f"{implementation.observation.webhook_configuration_name}": not_shown
        },
    )
    broken = run_pod(core, namespace.name, "broken", implementation, labels={"broken-selector": "true"})
    labelled = run_pod(core, namespace.name, "labelled", implementation, labels={ECI: "true"})
    assert_on_regular_node(core, broken, implementation)
    assert_on_virtual_node(core, labelled, implementation)
