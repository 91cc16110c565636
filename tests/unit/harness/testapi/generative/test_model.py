"""The model of the documented rules, checked against every example of the seed documents."""

from vnode_harness.testapi.generative.model import ECI_LABEL, ParameterKeys, ProfileSpec, SelectorSpec, expect

USE_SPECS = "k8s.aliyun.com/eci-use-specs"
KEYS = ParameterKeys(security_group="k8s.aliyun.com/eci-security-group", vswitch="k8s.aliyun.com/eci-vswitch")


def pairs(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


EXAMPLE_1 = ProfileSpec(
    (
        SelectorSpec(
            "eci-selector", namespace_labels=pairs(type="eci"), object_labels=(("created-by-eci", "true"),)
        ),
    )
)
EXAMPLE_2 = ProfileSpec(
    (
        SelectorSpec(
            "gpu-namespace-selector",
            namespace_labels=pairs(gpu="true"),
            effect_annotations=((USE_SPECS, "ecs.gn6v-c8g1.2xlarge"),),
            effect_labels=(("gpu", "test"),),
        ),
    )
)
EXAMPLE_3 = ProfileSpec(
    (
        SelectorSpec(
            "autoimc-object-selector",
            object_labels=pairs(imc="auto"),
            effect_annotations=(("k8s.aliyun.com/eci-auto-imc", "true"),),
        ),
    )
)
TEMPLATE = ProfileSpec(
    (
        SelectorSpec(
            "selector-demo1",
            namespace_labels=pairs(eci="true"),
            object_labels=pairs(eci="true"),
            effect_annotations=((USE_SPECS, "ecs.c6.xlarge"),),
            effect_labels=(("created-by-eci", "true"),),
        ),
        SelectorSpec("selector-demo2", object_labels=pairs(eci="test")),
    )
)
EMPTY = ProfileSpec(())


def test_the_pod_label_routes_and_other_pods_stay():
    assert expect(EMPTY, {}, {ECI_LABEL: "true"}, {}).eci
    assert not expect(EMPTY, {}, {}, {}).eci


def test_the_namespace_label_routes_every_pod_of_the_namespace():
    assert expect(EMPTY, {ECI_LABEL: "true"}, {}, {}).eci


def test_label_values_other_than_true_do_not_route():
    for value in ("false", "True", "TRUE", "1", "yes"):
        assert not expect(EMPTY, {}, {ECI_LABEL: value}, {}).eci
        assert not expect(EMPTY, {ECI_LABEL: value}, {}, {}).eci


def test_example_1_both_selectors_must_match():
    assert expect(EXAMPLE_1, {"type": "eci"}, {"created-by-eci": "true"}, {}).eci
    assert not expect(EXAMPLE_1, {"type": "eci"}, {}, {}).eci
    assert not expect(EXAMPLE_1, {}, {"created-by-eci": "true"}, {}).eci


def test_example_2_routes_gpu_namespaces_and_injects_the_instance_type_and_label():
    result = expect(EXAMPLE_2, {"gpu": "true"}, {}, {})
    assert result.eci
    assert result.annotations == {USE_SPECS: "ecs.gn6v-c8g1.2xlarge"}
    assert result.labels == {"gpu": "test"}
    assert not expect(EXAMPLE_2, {}, {}, {}).eci


def test_example_3_routes_imc_auto_pods_with_image_cache_matching():
    result = expect(EXAMPLE_3, {}, {"imc": "auto"}, {})
    assert result.eci
    assert result.annotations == {"k8s.aliyun.com/eci-auto-imc": "true"}


def test_template_demo1_needs_both_and_demo2_routes_by_pod_label():
    demo1 = expect(TEMPLATE, {"eci": "true"}, {"eci": "true"}, {})
    assert demo1.eci
    assert demo1.labels == {"eci": "true", "created-by-eci": "true"}
    assert demo1.annotations == {USE_SPECS: "ecs.c6.xlarge"}
    assert expect(TEMPLATE, {}, {"eci": "test"}, {}).eci
    only_pod = expect(TEMPLATE, {}, {"eci": "true"}, {})
    assert not only_pod.eci
    assert only_pod.labels == {"eci": "true"}  # effects are for ECI pods only
    assert only_pod.annotations == {}


def test_labels_of_one_match_labels_are_anded():
    profile = ProfileSpec((SelectorSpec("two", object_labels=pairs(team="a", tier="batch")),))
    assert expect(profile, {}, {"team": "a", "tier": "batch"}, {}).eci
    near = expect(profile, {}, {"team": "a"}, {})
    assert not near.eci
    assert "route:near-miss" in near.branches


def test_first_matching_selector_wins_and_the_pods_own_values_win_over_all():
    profile = ProfileSpec(
        (
            SelectorSpec("first", object_labels=pairs(order="test"), effect_annotations=(("k", "first"),)),
            SelectorSpec(
                "second",
                object_labels=pairs(order="test"),
                effect_annotations=(("k", "second"), ("only-second", "2")),
            ),
        )
    )
    assert expect(profile, {}, {"order": "test"}, {}).annotations == {"k": "first", "only-second": "2"}
    own = expect(profile, {}, {"order": "test"}, {"k": "mine"})
    assert own.annotations == {"k": "mine", "only-second": "2"}
    assert "EFF-ORDER" in expect(profile, {}, {"order": "test"}, {}).rules
    assert "EFF-NO-OVERWRITE" in own.rules


def test_a_global_effect_applies_to_every_eci_pod_and_routes_nothing():
    profile = ProfileSpec((SelectorSpec("everywhere", effect_labels=(("global", "yes"),)),))
    assert expect(profile, {}, {ECI_LABEL: "true"}, {}).labels == {ECI_LABEL: "true", "global": "yes"}
    plain = expect(profile, {}, {}, {})
    assert not plain.eci
    assert plain.labels == {}


def test_parameters_are_defaults_that_a_pod_may_override():
    profile = ProfileSpec((), security_group_id="sg-1", vswitch_ids="vsw-a,vsw-b")
    defaulted = expect(profile, {}, {ECI_LABEL: "true"}, {}, KEYS)
    assert defaulted.annotations == {KEYS.security_group: "sg-1", KEYS.vswitch: "vsw-a,vsw-b"}
    own = expect(profile, {}, {ECI_LABEL: "true"}, {KEYS.security_group: "sg-own"}, KEYS)
    assert own.annotations == {KEYS.security_group: "sg-own", KEYS.vswitch: "vsw-a,vsw-b"}
    assert expect(profile, {}, {}, {}, KEYS).annotations == {}  # only ECI pods get them
