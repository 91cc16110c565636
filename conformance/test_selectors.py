"""ECI Scheduler selectors of the eci-profile (eci-profile document, "Configure selectors",
"Verify selectors", Examples 1-3)."""

from __future__ import annotations

import json

import pytest
from kubernetes import client

from vnode_harness.formats.names import ECI_LABEL
from vnode_harness.plumbing.waits import wait_for
from vnode_harness.testapi.checks import (
    assert_metadata,
    assert_on_regular_node,
    assert_on_virtual_node,
    run_pod,
)
from vnode_harness.testapi.fixtures import profile_fixture, selectors_of


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
def test_labels_of_an_object_selector_are_anded(core, namespace_factory, implementation, eci_profile):
    selectors = [{"name": "two-labels", "objectSelector": {"matchLabels": {"team": "a", "tier": "batch"}}}]
    eci_profile.apply({"selectors": json.dumps(selectors)})
    plain = namespace_factory()
    both = run_pod(core, plain.name, "both", implementation, labels={"team": "a", "tier": "batch"})
    one = run_pod(core, plain.name, "one", implementation, labels={"team": "a"})
    other_value = run_pod(
        core, plain.name, "other-value", implementation, labels={"team": "a", "tier": "web"}
    )
    # The namespace's label does not stand in for the pod's missing one: an objectSelector reads pod labels.
    completed = run_pod(
        core, namespace_factory({"tier": "batch"}).name, "completed", implementation, labels={"team": "a"}
    )
    assert_on_virtual_node(core, both, implementation)
    for pod in (one, other_value, completed):
        assert_on_regular_node(core, pod, implementation)


@pytest.mark.requirement("SEL-AND-LABELS")
def test_labels_of_a_namespace_selector_are_anded(core, namespace_factory, implementation, eci_profile):
    selectors = [
        {"name": "two-namespace-labels", "namespaceSelector": {"matchLabels": {"team": "a", "tier": "batch"}}}
    ]
    eci_profile.apply({"selectors": json.dumps(selectors)})
    one_label = namespace_factory({"team": "a"})
    both = run_pod(core, namespace_factory({"team": "a", "tier": "batch"}).name, "nginx", implementation)
    one = run_pod(core, one_label.name, "nginx", implementation)
    other_value = run_pod(core, namespace_factory({"team": "a", "tier": "web"}).name, "nginx", implementation)
    # The pod's label does not stand in for the namespace's missing one: a namespaceSelector reads the
    # namespace's labels.
    completed = run_pod(core, one_label.name, "completed", implementation, labels={"tier": "batch"})
    assert_on_virtual_node(core, both, implementation)
    for pod in (one, other_value, completed):
        assert_on_regular_node(core, pod, implementation)


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


def baseline_selectors(eci_profile):
    """The selectors of the profile as it was before the test (what restore puts back)."""
    try:
        selectors = json.loads(eci_profile.baseline.get("selectors") or "[]")
    except ValueError:
        return []
    return selectors if isinstance(selectors, list) else []


def assert_selectors_not_active(api, core, namespace, implementation, eci_profile, text, selectors):
    """Write `text` as the profile's selectors and show that none of `selectors` (what a lenient reader
    would make of it) became active: no vk-webhook entry shows one, held over the hold window together
    with the last valid profile staying in force; no pod is routed by an object-only one; and the
    implementation keeps serving (a pod labelled alibabacloud.com/eci=true still runs on a virtual node)."""

    def none_shown():
        entries = webhook_entries(api, implementation)
        shown = [describe_selector(s) for s in selectors if shows_selector(entries, s)]
        return (None if shown else True), (f"shown: {shown}" if shown else f"none in {len(entries)} entries")

    in_baseline = [describe_selector(s) for s in selectors if s in baseline_selectors(eci_profile)]
    if in_baseline:
        pytest.skip(
            f"the cluster's own eci-profile already holds {in_baseline}: whether the invalid text activates "
            "them cannot be observed (not conformant); run on a cluster whose profile lacks them"
        )
    # vk-webhook may still show an earlier test's profile for up to webhookConfigurationSeconds (an
    # implementation whose webhook sees every pod rewrites it later): wait until it shows none of these
    # selectors under the last valid profile, so that what the hold sees is the invalid text's doing.
    # The whole profile stays as it was, not only its selectors: where parameters can be observed, the
    # invalid profile also changes one, which must not take effect either.
    observe_parameters = implementation.supports("hot-updates")
    eci_profile.apply({"securityGroupId": LAST_VALID_GROUP} if observe_parameters else {})
    wait_for(
        f"MutatingWebhookConfiguration {implementation.observation.webhook_configuration_name} to show none "
        "of the selectors under the last valid profile",
        none_shown,
        timeout=implementation.limits.webhook_configuration_seconds,
        hint=kubectl_webhook(implementation),
    )
    eci_profile.apply_invalid(
        {"selectors": text, **({"securityGroupId": INVALID_PART_GROUP} if observe_parameters else {})},
        also_holding={
            f"the invalid selectors out of MutatingWebhookConfiguration "
            f"{implementation.observation.webhook_configuration_name}": none_shown
        },
    )
    object_only = [s for s in selectors if "namespaceSelector" not in s and "objectSelector" in s]
    for index, selector in enumerate(object_only):
        labels = selector["objectSelector"]["matchLabels"]
        pod = run_pod(core, namespace.name, f"not-routed-{index}", implementation, labels=labels)
        assert_on_regular_node(core, pod, implementation)
    labelled = run_pod(core, namespace.name, "labelled", implementation, labels={ECI_LABEL: "true"})
    assert_on_virtual_node(core, labelled, implementation)
    if observe_parameters:
        group = implementation.observation.security_group_annotation
        assert_metadata(labelled, annotations={group: LAST_VALID_GROUP})


LAST_VALID_GROUP = "sg-conformance-last-valid"
INVALID_PART_GROUP = "sg-conformance-invalid-profile"

BROKEN = [{"name": "broken", "objectSelector": {"matchLabels": {"broken-selector": "true"}}}]


@pytest.mark.requirement("SEL-INVALID-JSON")
@pytest.mark.parametrize(
    "selectors",
    [
        '[{"name": "broken", "objectSelector": {"matchLabels": {"broken-selector": "true"}}',  # not JSON
        # JSON5, HJSON and YAML readers accept a trailing comma; JSON does not.
        '[{"name": "broken", "objectSelector": {"matchLabels": {"broken-selector": "true"}}},]',
        '[{"objectSelector": {"matchLabels": {"broken-selector": "true"}}}]',  # no name
        '{"name": "broken", "objectSelector": {"matchLabels": {"broken-selector": "true"}}}',  # not a list
    ],
    ids=["truncated-json", "trailing-comma", "missing-name", "not-a-list"],
)
def test_invalid_selectors_are_not_active(api, core, namespace, implementation, eci_profile, selectors):
    assert_selectors_not_active(api, core, namespace, implementation, eci_profile, selectors, BROKEN)


@pytest.mark.requirement("SEL-INVALID-JSON")
def test_the_seed_template_with_its_comments_is_not_active(api, core, namespace, implementation, eci_profile):
    # The seed's configuration template verbatim, comments included ("Remove all comments before applying
    # the configuration"): not JSON, although a YAML reader (sigs.k8s.io/yaml, PyYAML) accepts it.
    text = profile_fixture("configuration-template-with-comments")["selectors"]
    template = selectors_of("configuration-template")  # the same selectors, comments removed
    assert_selectors_not_active(api, core, namespace, implementation, eci_profile, text, template)


@pytest.mark.requirement("SEL-UNIQUE-NAMES")
def test_selectors_with_duplicate_names_are_not_active(api, core, namespace, implementation, eci_profile):
    # Each selector is valid on its own; together they are not a valid selector list, so neither the
    # first, nor the last, nor both may become active.
    twins = [
        {"name": "twin", "objectSelector": {"matchLabels": {"twin": "first"}}},
        {"name": "twin", "objectSelector": {"matchLabels": {"twin": "second"}}},
    ]
    assert_selectors_not_active(api, core, namespace, implementation, eci_profile, json.dumps(twins), twins)
