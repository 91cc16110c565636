"""ECI Effect: annotations and labels injected into matched pods, in selector order, never
overwriting (eci-profile document, "Selector matching rules", Examples 2 and 3)."""

from __future__ import annotations

import json

import pytest

from vnode_harness.formats.names import ECI_LABEL
from vnode_harness.testapi.checks import (
    assert_metadata,
    assert_on_regular_node,
    assert_on_virtual_node,
    assert_pod_stays,
    run_pod,
)
from vnode_harness.testapi.fixtures import profile_fixture

USE_SPECS = "k8s.aliyun.com/eci-use-specs"
AUTO_IMC = "k8s.aliyun.com/eci-auto-imc"


@pytest.mark.requirement("EFF-ANNOTATIONS")
def test_effect_annotations_are_injected(core, namespace_factory, implementation, eci_profile):
    gpu = json.loads(profile_fixture("example-2-gpu")["selectors"])
    imc = json.loads(profile_fixture("example-3-image-cache")["selectors"])
    eci_profile.apply({"selectors": json.dumps(gpu + imc)})
    gpu_namespace = namespace_factory({"gpu": "true"})
    plain = namespace_factory()
    gpu_pod = run_pod(core, gpu_namespace.name, "nginx", implementation)
    imc_pod = run_pod(core, plain.name, "nginx", implementation, labels={"imc": "auto"})
    assert_on_virtual_node(core, gpu_pod, implementation)
    assert_on_virtual_node(core, imc_pod, implementation)
    assert_metadata(gpu_pod, annotations={USE_SPECS: "ecs.gn6v-c8g1.2xlarge"})
    assert_metadata(imc_pod, annotations={AUTO_IMC: "true"}, absent_annotations=(USE_SPECS,))


@pytest.mark.requirement("EFF-LABELS")
def test_effect_labels_are_injected(core, namespace_factory, implementation, eci_profile):
    gpu = json.loads(profile_fixture("example-2-gpu")["selectors"])
    template = json.loads(profile_fixture("configuration-template")["selectors"])
    eci_profile.apply({"selectors": json.dumps(gpu + template)})
    gpu_pod = run_pod(core, namespace_factory({"gpu": "true"}).name, "nginx", implementation)
    demo1_pod = run_pod(
        core, namespace_factory({"eci": "true"}).name, "nginx", implementation, labels={"eci": "true"}
    )
    assert_metadata(gpu_pod, labels={"gpu": "test"})
    assert_metadata(demo1_pod, labels={"created-by-eci": "true"}, annotations={USE_SPECS: "ecs.c6.xlarge"})


@pytest.mark.requirement("EFF-NO-OVERWRITE")
@pytest.mark.parametrize("own", ["mine", ""], ids=["own-value", "empty-value"])
def test_effects_never_overwrite_what_the_pod_has(core, namespace_factory, implementation, eci_profile, own):
    """An empty string is a value the pod has: "" must not be filled in either."""
    eci_profile.apply(profile_fixture("example-2-gpu"))
    namespace = namespace_factory({"gpu": "true"})
    pod = run_pod(
        core,
        namespace.name,
        "nginx",
        implementation,
        labels={"gpu": own},
        annotations={USE_SPECS: own},
    )
    assert_on_virtual_node(core, pod, implementation)
    assert_metadata(pod, labels={"gpu": own}, annotations={USE_SPECS: own})


@pytest.mark.requirement("EFF-ANNOTATIONS")
def test_effect_annotation_values_arrive_intact(core, namespace, implementation, eci_profile):
    """Annotation values may be anything a label value may not be: spaces, commas, JSON, more than 63
    characters. The effect must inject them as the profile states them."""
    values = {
        "conformance.vnode.dev/spaces": "a value with spaces, commas; and: colons",
        "conformance.vnode.dev/json": json.dumps({"cpu": "2", "zones": ["i", "j"]}),
        "conformance.vnode.dev/long": "x" * 70 + "-end",
    }
    selectors = [
        {
            "name": "intact",
            "objectSelector": {"matchLabels": {"intact": "yes"}},
            "effect": {"annotations": values},
        }
    ]
    eci_profile.apply({"selectors": json.dumps(selectors)})
    pod = run_pod(core, namespace.name, "nginx", implementation, labels={"intact": "yes"})
    assert_on_virtual_node(core, pod, implementation)
    assert_metadata(pod, annotations=values)


@pytest.mark.requirement("EFF-ORDER")
def test_first_matching_selector_wins_and_other_keys_are_all_injected(
    core, namespace, implementation, eci_profile
):
    selectors = [
        {
            "name": "first",
            "objectSelector": {"matchLabels": {"order": "test"}},
            "effect": {
                "annotations": {"example.com/shared": "first", "example.com/only-first": "1"},
                "labels": {"shared": "first"},
            },
        },
        {
            "name": "second",
            "objectSelector": {"matchLabels": {"order": "test"}},
            "effect": {
                "annotations": {"example.com/shared": "second", "example.com/only-second": "2"},
                "labels": {"shared": "second", "only-second": "2"},
            },
        },
    ]
    eci_profile.apply({"selectors": json.dumps(selectors)})
    pod = run_pod(core, namespace.name, "nginx", implementation, labels={"order": "test"})
    assert_metadata(
        pod,
        annotations={
            "example.com/shared": "first",
            "example.com/only-first": "1",
            "example.com/only-second": "2",
        },
        labels={"shared": "first", "only-second": "2"},
    )


@pytest.mark.requirement("EFF-GLOBAL")
def test_selector_without_selectors_applies_its_effect_to_every_eci_pod(
    core, namespace_factory, implementation, eci_profile
):
    selectors = [
        {
            "name": "everywhere",
            "effect": {"annotations": {"example.com/global": "yes"}, "labels": {"global": "yes"}},
        },
        {"name": "by-label", "objectSelector": {"matchLabels": {"route": "me"}}},
    ]
    eci_profile.apply({"selectors": json.dumps(selectors)})
    plain = namespace_factory()
    by_pod_label = run_pod(core, plain.name, "pod-label", implementation, labels={ECI_LABEL: "true"})
    by_namespace = run_pod(core, namespace_factory({ECI_LABEL: "true"}).name, "nginx", implementation)
    by_selector = run_pod(core, plain.name, "selector", implementation, labels={"route": "me"})
    not_eci = run_pod(core, plain.name, "not-eci", implementation)
    for pod in (by_pod_label, by_namespace, by_selector):
        assert_on_virtual_node(core, pod, implementation)
        assert_metadata(pod, annotations={"example.com/global": "yes"}, labels={"global": "yes"})
    # a global effect routes nothing by itself (whether it is injected there is EFF-ECI-ONLY's rule)
    assert_on_regular_node(core, not_eci, implementation)


@pytest.mark.requirement("EFF-ECI-ONLY")
def test_effects_are_not_injected_into_pods_on_regular_nodes(core, namespace, implementation, eci_profile):
    eci_profile.apply(profile_fixture("configuration-template"))
    # selector-demo1 needs namespace eci=true AND pod eci=true: this pod matches its objectSelector only.
    pod = run_pod(core, namespace.name, "nginx", implementation, labels={"eci": "true"})
    assert_on_regular_node(core, pod, implementation)
    assert_metadata(pod, absent_annotations=(USE_SPECS,), absent_labels=("created-by-eci",))


@pytest.mark.requirement("EFF-ECI-ONLY")
def test_a_global_effect_is_not_injected_into_pods_on_regular_nodes(
    core, namespace, implementation, eci_profile
):
    """The statement's other half: an effect for "all pods scheduled to ECI" reaches no other pod."""
    selectors = [{"name": "everywhere", "effect": {"annotations": {"example.com/global": "yes"},
                                                    "labels": {"global": "yes"}}}]  # fmt: skip
    eci_profile.apply({"selectors": json.dumps(selectors)})
    routed = run_pod(core, namespace.name, "routed", implementation, labels={ECI_LABEL: "true"})
    assert_metadata(routed, annotations={"example.com/global": "yes"}, labels={"global": "yes"})
    regular = run_pod(core, namespace.name, "regular", implementation)
    assert_on_regular_node(core, regular, implementation)
    assert_metadata(regular, absent_annotations=("example.com/global",), absent_labels=("global",))


@pytest.mark.requirement("EFF-ORDER")
@pytest.mark.parametrize("global_first", [True, False], ids=["global-effect-first", "global-effect-second"])
def test_a_global_effect_takes_its_place_in_the_order(
    core, namespace, implementation, eci_profile, global_first
):
    """A global effect is a matching selector like any other: its position in the profile decides a key
    it shares with a routing selector's effect, before or after it."""

    def shared(value):
        return {"annotations": {"example.com/shared": value}, "labels": {"shared": value}}

    everywhere = {"name": "everywhere", "effect": shared("global")}
    routing = {
        "name": "routing",
        "objectSelector": {"matchLabels": {"order": "global"}},
        "effect": shared("routing"),
    }
    selectors = [everywhere, routing] if global_first else [routing, everywhere]
    eci_profile.apply({"selectors": json.dumps(selectors)})
    pod = run_pod(core, namespace.name, "nginx", implementation, labels={"order": "global"})
    assert_on_virtual_node(core, pod, implementation)
    winner = "global" if global_first else "routing"
    assert_metadata(pod, annotations={"example.com/shared": winner}, labels={"shared": winner})


@pytest.mark.requirement("EFF-AT-CREATION")
def test_effects_apply_at_creation_only(core, namespace, implementation, eci_profile):
    before = run_pod(core, namespace.name, "before", implementation, labels={"imc": "auto"})
    eci_profile.apply(profile_fixture("example-3-image-cache"))
    after = run_pod(core, namespace.name, "after", implementation, labels={"imc": "auto"})
    assert_metadata(after, annotations={AUTO_IMC: "true"})
    assert_on_regular_node(core, before, implementation)
    assert_pod_stays(
        core, before, implementation, "the selector with the effect", absent_annotations=(AUTO_IMC,)
    )


@pytest.mark.requirement("EFF-AT-CREATION")
def test_labelling_a_pod_afterwards_brings_no_effect(core, namespace, implementation, eci_profile):
    eci_profile.apply(profile_fixture("example-3-image-cache"))
    # A pod created with the label shows the selector routes and injects; one labelled afterwards must
    # get neither: not the annotation, not a move to a virtual node, not a replacement.
    created_with = run_pod(core, namespace.name, "created-with", implementation, labels={"imc": "auto"})
    assert_on_virtual_node(core, created_with, implementation)
    assert_metadata(created_with, annotations={AUTO_IMC: "true"})
    labelled_later = run_pod(core, namespace.name, "labelled-later", implementation)
    assert_on_regular_node(core, labelled_later, implementation)
    # kubectl label pod labelled-later imc=auto
    core.patch_namespaced_pod(
        labelled_later.metadata.name, namespace.name, {"metadata": {"labels": {"imc": "auto"}}}
    )
    assert_pod_stays(
        core,
        labelled_later,
        implementation,
        "its label imc=auto (added with kubectl label)",
        absent_annotations=(AUTO_IMC,),
    )


@pytest.mark.requirement("EFF-AT-CREATION")
def test_labelling_the_namespace_afterwards_brings_no_effect(
    core, namespace_factory, implementation, eci_profile
):
    """The third way a running pod could come to match a selector: its namespace gets the label."""
    eci_profile.apply(profile_fixture("example-2-gpu"))
    namespace = namespace_factory()
    pod = run_pod(core, namespace.name, "nginx", implementation)
    assert_on_regular_node(core, pod, implementation)
    # kubectl label namespace <namespace> gpu=true
    core.patch_namespace(namespace.name, {"metadata": {"labels": {"gpu": "true"}}})
    assert_pod_stays(
        core,
        pod,
        implementation,
        "its namespace's label gpu=true (added with kubectl label)",
        absent_annotations=(USE_SPECS,),
    )
