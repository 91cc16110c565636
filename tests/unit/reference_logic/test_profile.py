"""parse_profile: the seed document's examples, every documented rule, and every error message."""

import json

import pytest

from eci_reference.constants import ECI_LABEL
from eci_reference.profile import (
    DEFAULT_PROFILE_DATA,
    MAX_REPORTED_PROBLEMS,
    MAX_SELECTORS,
    MAX_SELECTORS_BYTES,
    Effect,
    FrozenMap,
    Profile,
    ProfileError,
    Selector,
    parse_profile,
)
from tests.seed_data import SEED_KUBECTL_DATA

from .seed_examples import (
    EXAMPLE_1,
    EXAMPLE_2,
    EXAMPLE_3,
    TEMPLATE,
    TEMPLATE_WITH_COMMENTS,
)


def problems_of(data) -> list[str]:
    with pytest.raises(ProfileError) as caught:
        parse_profile(data)
    return caught.value.problems


def selectors_json(*selectors) -> str:
    return json.dumps(list(selectors))


# --- the seed document ---------------------------------------------------------------------------


def test_seed_kubectl_data_parses_with_the_documented_values():
    profile = parse_profile(SEED_KUBECTL_DATA)
    assert profile.selectors == ()
    assert profile.vswitch_ids == "vsw-2ze23nqzig8inprou****,vsw-2ze94pjtfuj9vaymf****"
    assert profile.vswitch_id_list == ("vsw-2ze23nqzig8inprou****", "vsw-2ze94pjtfuj9vaymf****")
    assert profile.security_group_id == "sg-2zeeyaaxlkq9sppl****"
    assert profile.vpc_id == "vpc-2zeghwzptn5zii0w7****"
    assert profile.enable_cluster_ip is True
    assert profile.wait_for_first_consumer is False
    assert profile.data == SEED_KUBECTL_DATA


def test_template_without_comments_parses():
    profile = parse_profile({"selectors": TEMPLATE})
    assert profile.selectors == (
        Selector(
            name="selector-demo1",
            namespace_selector={"eci": "true"},
            object_selector={"eci": "true"},
            effect=Effect(
                annotations={"k8s.aliyun.com/eci-use-specs": "ecs.c6.xlarge"},
                labels={"created-by-eci": "true"},
            ),
        ),
        Selector(name="selector-demo2", object_selector={"eci": "test"}),
    )
    assert profile.routing_selectors == profile.selectors


def test_template_with_its_comments_is_not_valid_json():
    assert problems_of({"selectors": TEMPLATE_WITH_COMMENTS}) == [
        "selectors: not valid JSON at line 3 column 27: Expecting property name enclosed in double quotes"
    ]


def test_example_1_needs_both_selectors():
    (selector,) = parse_profile({"selectors": EXAMPLE_1}).selectors
    assert selector == Selector(
        name="eci-selector", namespace_selector={"type": "eci"}, object_selector={"created-by-eci": "true"}
    )
    assert not selector.is_global_effect


def test_example_2_namespace_selector_with_effect():
    (selector,) = parse_profile({"selectors": EXAMPLE_2}).selectors
    assert selector.name == "gpu-namespace-selector"
    assert selector.namespace_selector == {"gpu": "true"}
    assert selector.object_selector is None
    assert selector.effect.annotations == {"k8s.aliyun.com/eci-use-specs": "ecs.gn6v-c8g1.2xlarge"}
    assert selector.effect.labels == {"gpu": "test"}


def test_example_3_object_selector_with_annotation():
    (selector,) = parse_profile({"selectors": EXAMPLE_3}).selectors
    assert selector.name == "autoimc-object-selector"
    assert selector.object_selector == {"imc": "auto"}
    assert selector.effect == Effect(annotations={"k8s.aliyun.com/eci-auto-imc": "true"})


# --- defaults ------------------------------------------------------------------------------------


def test_missing_keys_take_the_seed_defaults():
    profile = parse_profile({})
    assert profile.enable_cluster_ip is True
    assert not any(
        (
            profile.enable_hybrid_mode,
            profile.enable_linux_arm64_node,
            profile.enable_log_controller,
            profile.enable_pvc_controller,
            profile.enable_private_zone,
            profile.enable_reuse_ssl_key,
            profile.wait_for_first_consumer,
        )
    )
    assert (profile.vswitch_ids, profile.security_group_id, profile.vpc_id, profile.sls_machine_group) == (
        "",
        "",
        "",
        "",
    )
    assert profile.vswitch_id_list == ()
    assert profile.selectors == ()


def test_default_profile_data_is_the_seed_data_with_the_simulated_cloud():
    assert set(DEFAULT_PROFILE_DATA) == set(SEED_KUBECTL_DATA)
    profile = parse_profile(DEFAULT_PROFILE_DATA)
    assert profile.vswitch_id_list == ("vsw-hz-i", "vsw-hz-j")
    assert profile.security_group_id == "sg-reference-default"
    assert profile.vpc_id == "vpc-reference-default"
    assert profile.selectors == ()
    assert DEFAULT_PROFILE_DATA["featureGates"] == "WaitForFirstConsumer=false"


def test_profiles_are_immutable_hashable_and_compare_by_value():
    first = parse_profile({"selectors": TEMPLATE})
    second = parse_profile({"selectors": TEMPLATE})
    assert first == second
    assert hash(first) == hash(second)
    assert len({first, second}) == 1
    with pytest.raises(AttributeError):
        first.vswitch_ids = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        first.selectors[0].effect.labels["x"] = "y"  # type: ignore[index]
    with pytest.raises(TypeError):
        first.data["selectors"] = ""  # type: ignore[index]


def test_frozen_map_equals_plain_dicts_and_keeps_order():
    frozen = FrozenMap({"b": "1", "a": "2"})
    assert frozen == {"a": "2", "b": "1"}
    assert list(frozen) == ["b", "a"]
    assert frozen != FrozenMap({"a": "2"})
    assert hash(frozen) == hash(FrozenMap({"a": "2", "b": "1"}))


# --- booleans and feature gates -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"), [("true", True), ("false", False), ("True", True), (" FALSE ", False)]
)
def test_booleans_are_true_or_false_in_any_case(text, expected):
    assert parse_profile({"enableHybridMode": text}).enable_hybrid_mode is expected


@pytest.mark.parametrize("text", ["yes", "1", "on", "", "truee"])
def test_other_boolean_spellings_are_rejected(text):
    assert problems_of({"enableHybridMode": text}) == [
        f'enableHybridMode: must be "true" or "false", got {text!r}'
    ]


def test_every_enable_key_is_parsed():
    data = {
        key: "true"
        for key in (
            "enableClusterIp",
            "enableHybridMode",
            "enableLinuxArm64Node",
            "enablePVCController",
            "enablePrivateZone",
            "enableReuseSSLKey",
        )
    }
    profile = parse_profile({**data, "enableLogController": "true", "slsMachineGroup": "group-1"})
    assert all(
        (
            profile.enable_cluster_ip,
            profile.enable_hybrid_mode,
            profile.enable_linux_arm64_node,
            profile.enable_log_controller,
            profile.enable_pvc_controller,
            profile.enable_private_zone,
            profile.enable_reuse_ssl_key,
        )
    )
    assert profile.sls_machine_group == "group-1"
    assert parse_profile({"enableClusterIp": "false"}).enable_cluster_ip is False


def test_log_controller_needs_a_machine_group():
    assert problems_of({"enableLogController": "true"}) == [
        'enableLogController is "true" but slsMachineGroup is empty'
    ]
    assert problems_of({"enableLogController": "true", "slsMachineGroup": "  "}) == [
        'enableLogController is "true" but slsMachineGroup is empty'
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("WaitForFirstConsumer=true", True),
        ("WaitForFirstConsumer=false", False),
        (" WaitForFirstConsumer = TRUE ", True),
        ("", False),
        ("   ", False),
    ],
)
def test_feature_gates(text, expected):
    assert parse_profile({"featureGates": text}).wait_for_first_consumer is expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Foo=true", "featureGates: unknown gate 'Foo' (only WaitForFirstConsumer is supported)"),
        ("WaitForFirstConsumer", "featureGates: entry 'WaitForFirstConsumer' is not Gate=true|false"),
        (
            "WaitForFirstConsumer=yes",
            'featureGates: WaitForFirstConsumer must be "true" or "false", got \'yes\'',
        ),
        (
            "WaitForFirstConsumer=true,WaitForFirstConsumer=false",
            "featureGates: WaitForFirstConsumer is set more than once",
        ),
        ("WaitForFirstConsumer=true,", "featureGates: entry '' is not Gate=true|false"),
    ],
)
def test_feature_gate_errors(text, problem):
    assert problems_of({"featureGates": text}) == [problem]


# --- keys and parameters --------------------------------------------------------------------------


def test_unknown_keys_are_rejected_with_a_hint():
    assert problems_of({"fooBar": "x"}) == ["unknown key 'fooBar'"]
    assert problems_of({"enableClusterIP": "true"}) == [
        "unknown key 'enableClusterIP' (did you mean 'enableClusterIp'?)"
    ]


def test_several_security_groups_are_accepted():
    assert parse_profile({"securityGroupId": "sg-1,sg-2"}).security_group_id == "sg-1,sg-2"


def test_parameters_are_stored_without_surrounding_whitespace():
    profile = parse_profile({"vSwitchIds": "vsw-a, vsw-b\n", "securityGroupId": " sg-1\n", "vpcId": "vpc-1"})
    assert profile.vswitch_ids == "vsw-a, vsw-b"
    assert profile.vswitch_id_list == ("vsw-a", "vsw-b")
    assert profile.security_group_id == "sg-1"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"vSwitchIds": "vsw-a,,vsw-b"}, "vSwitchIds: item 2 of 'vsw-a,,vsw-b' is empty"),
        ({"vSwitchIds": "vsw a"}, "vSwitchIds: item 1 'vsw a' contains whitespace"),
        ({"securityGroupId": "sg-1,,sg-2"}, "securityGroupId: item 2 of 'sg-1,,sg-2' is empty"),
        ({"vpcId": "vpc 1"}, "vpcId: must be a single ID without spaces or commas, got 'vpc 1'"),
        ({"vpcId": 3}, "vpcId: must be a string, got number"),
    ],
)
def test_parameter_errors(data, problem):
    assert problems_of(data) == [problem]


def test_all_problems_are_reported_at_once():
    problems = problems_of(
        {
            "fooBar": "x",
            "enableHybridMode": "yes",
            "featureGates": "Foo=true",
            "enableLogController": "true",
            "selectors": "[",
        }
    )
    assert problems == [
        "unknown key 'fooBar'",
        'enableHybridMode: must be "true" or "false", got \'yes\'',
        "featureGates: unknown gate 'Foo' (only WaitForFirstConsumer is supported)",
        "selectors: not valid JSON at line 1 column 2: Expecting value",
        'enableLogController is "true" but slsMachineGroup is empty',
    ]
    assert str(ProfileError(problems)).startswith("invalid eci-profile: unknown key 'fooBar'; ")


def test_data_that_is_not_a_map_is_a_profile_error():
    assert problems_of(["selectors"]) == ["data must be a map of strings, got array"]


# --- selectors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_selectors_mean_none(text):
    assert parse_profile({"selectors": text}).selectors == ()


def test_empty_selector_array_means_none():
    assert parse_profile({"selectors": "[]"}).selectors == ()


def test_global_effect_selector_is_accepted():
    (selector,) = parse_profile(
        {"selectors": selectors_json({"name": "all-eci", "effect": {"labels": {"eci-pod": "yes"}}})}
    ).selectors
    assert selector.is_global_effect
    assert (
        parse_profile(
            {"selectors": selectors_json({"name": "all-eci", "effect": {"labels": {"eci-pod": "yes"}}})}
        ).routing_selectors
        == ()
    )


def test_null_fields_mean_not_set():
    (selector,) = parse_profile(
        {
            "selectors": selectors_json(
                {
                    "name": "a",
                    "namespaceSelector": None,
                    "objectSelector": {"matchLabels": {"x": "1"}},
                    "effect": None,
                }
            )
        }
    ).selectors
    assert selector.namespace_selector is None
    assert selector.effect.is_empty


def test_selector_json_error_gives_line_and_column():
    text = '[\n  {"name": "a",\n    "objectSelector" {}\n  }\n]'
    assert problems_of({"selectors": text}) == [
        "selectors: not valid JSON at line 3 column 22: Expecting ':' delimiter"
    ]
    text = '[\n  {"name": "a"\n    "objectSelector": {}}\n]'
    assert problems_of({"selectors": text}) == [
        "selectors: not valid JSON at line 3 column 5: Expecting ',' delimiter"
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"name": "a"}', "selectors: must be a JSON array of selector objects, got object"),
        ('"a"', "selectors: must be a JSON array of selector objects, got string"),
        ("[NaN]", "selectors: not valid JSON: NaN is not valid JSON"),
        ("[" * 100_000, "selectors: not valid JSON: nested too deeply"),
        ('["a"]', "selectors[0]: must be a JSON object, got string"),
    ],
)
def test_selectors_document_shape(text, problem):
    assert problems_of({"selectors": text}) == [problem]


def test_duplicate_names_are_rejected():
    text = selectors_json(
        {"name": "selector-demo1", "objectSelector": {"matchLabels": {"a": "1"}}},
        {"name": "selector-demo2", "objectSelector": {"matchLabels": {"a": "2"}}},
        {"name": "selector-demo2", "objectSelector": {"matchLabels": {"a": "3"}}},
    )
    assert problems_of({"selectors": text}) == ["selectors[2] (selector-demo2): name duplicates selectors[1]"]


DNS_RULE = (
    "must be a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter "
    "or digit, at most 63 characters) because it becomes a vk-webhook entry name"
)
NEEDS_SELECTOR = (
    "needs a namespaceSelector or an objectSelector "
    "(or, for a global effect, an effect with at least one annotation or label)"
)


@pytest.mark.parametrize(
    ("selector", "problem"),
    [
        ({"objectSelector": {"matchLabels": {"a": "1"}}}, "selectors[0]: name is required"),
        (
            {"name": 3, "objectSelector": {"matchLabels": {"a": "1"}}},
            "selectors[0]: name must be a string, got number",
        ),
        ({"name": "", "objectSelector": {"matchLabels": {"a": "1"}}}, "selectors[0]: name must not be empty"),
        (
            {"name": "Demo_1", "objectSelector": {"matchLabels": {"a": "1"}}},
            f"selectors[0] (Demo_1): name 'Demo_1' {DNS_RULE}",
        ),
        (
            {"name": "a" * 64, "objectSelector": {"matchLabels": {"a": "1"}}},
            f"selectors[0]: name '{'a' * 56}... {DNS_RULE}",
        ),
        ({"name": "a"}, f"selectors[0] (a): {NEEDS_SELECTOR}"),
        ({"name": "a", "effect": {}}, f"selectors[0] (a): {NEEDS_SELECTOR}"),
        ({"name": "a", "effect": {"labels": {}, "annotations": {}}}, f"selectors[0] (a): {NEEDS_SELECTOR}"),
        (
            {"name": "a", "objectSelector": {"matchExpressions": [{"key": "a", "operator": "Exists"}]}},
            "selectors[0] (a): objectSelector.matchExpressions is not supported "
            "(the eci-profile format documents only matchLabels)",
        ),
        (
            {"name": "a", "objectSelector": {"matchLabel": {"a": "1"}}},
            "selectors[0] (a): objectSelector: unknown field 'matchLabel' (only matchLabels is supported)",
        ),
        (
            {"name": "a", "namespaceSelector": {}},
            "selectors[0] (a): namespaceSelector.matchLabels must name at least one label "
            "(an empty selector would match every pod); leave the selector out instead",
        ),
        (
            {"name": "a", "objectSelector": {"matchLabels": {}}},
            "selectors[0] (a): objectSelector.matchLabels must name at least one label "
            "(an empty selector would match every pod); leave the selector out instead",
        ),
        (
            {"name": "a", "objectSelector": ["eci"]},
            "selectors[0] (a): objectSelector must be a JSON object with matchLabels, got array",
        ),
        (
            {"name": "a", "objectSelector": {"matchLabels": {"a": 1}}},
            "selectors[0] (a): objectSelector.matchLabels: value of 'a' must be a string, got number",
        ),
        (
            {"name": "a", "objectSelector": {"matchLabels": {"a b": "1"}}},
            "selectors[0] (a): objectSelector.matchLabels: 'a b' is not a valid label key (an optional DNS "
            "subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending "
            "alphanumeric)",
        ),
        (
            {"name": "a", "objectSelector": {"matchLabels": {"a": "-x"}}},
            "selectors[0] (a): objectSelector.matchLabels: value '-x' of 'a' is not a valid label value "
            "(at most "
            "63 letters, digits, '-', '_' or '.', starting and ending alphanumeric)",
        ),
        (
            {"name": "a", "objectSelector": {"matchLabels": {"a": "1"}}, "effect": {"label": {"a": "1"}}},
            "selectors[0] (a): effect: unknown field 'label' (allowed: annotations, labels)",
        ),
        (
            {
                "name": "a",
                "objectSelector": {"matchLabels": {"a": "1"}},
                "effect": {"annotations": {"a": True}},
            },
            "selectors[0] (a): effect.annotations: value of 'a' must be a string, got boolean",
        ),
        (
            {"name": "a", "objectSelector": {"matchLabels": {"a": "1"}}, "effect": {"labels": {"x": "a b"}}},
            "selectors[0] (a): effect.labels: value 'a b' of 'x' is not a valid label value (at most 63 "
            "letters, digits, '-', '_' or '.', starting and ending alphanumeric)",
        ),
        (
            {"name": "a", "objectSelector": {"matchLabels": {"a": "1"}}, "effect": "gpu"},
            "selectors[0] (a): effect must be a JSON object, got string",
        ),
    ],
)
def test_selector_errors(selector, problem):
    # One problem each: a mistake is reported once, in the words that point at it.
    assert problems_of({"selectors": selectors_json(selector)}) == [problem]


def test_unknown_selector_fields_are_rejected():
    assert problems_of(
        {"selectors": selectors_json({"name": "a", "podSelector": {"matchLabels": {"a": "1"}}})}
    ) == [
        "selectors[0] (a): unknown field 'podSelector' "
        "(allowed: name, namespaceSelector, objectSelector, effect)",
        f"selectors[0] (a): {NEEDS_SELECTOR}",
    ]


def test_duplicate_json_keys_are_rejected():
    text = '[{"name": "a", "objectSelector": {"matchLabels": {"a": "1", "a": "2"}}}]'
    assert problems_of({"selectors": text}) == [
        "selectors[0] (a): objectSelector.matchLabels: key 'a' appears more than once"
    ]


def test_annotation_values_may_be_any_text_and_keys_may_have_upper_case_prefixes():
    (selector,) = parse_profile(
        {
            "selectors": selectors_json(
                {"name": "a", "effect": {"annotations": {"Example.COM/Note": "any text, even spaces: ok"}}}
            )
        }
    ).selectors
    assert selector.effect.annotations == {"Example.COM/Note": "any text, even spaces: ok"}


@pytest.mark.parametrize(
    "key",
    [
        "app",
        "app.kubernetes.io/name",
        "a/b",
        "x_y.z-1",
        ECI_LABEL,
        "k8s.aliyun.com/eci-use-specs",
    ],
)
def test_valid_label_keys(key):
    parse_profile({"selectors": selectors_json({"name": "a", "objectSelector": {"matchLabels": {key: "v"}}})})


@pytest.mark.parametrize("key", ["", "/a", "a/", "-a", "A.com/b", "a/b/c", "a" * 64, "x" * 254 + "/a"])
def test_invalid_label_keys(key):
    problems = problems_of(
        {"selectors": selectors_json({"name": "a", "objectSelector": {"matchLabels": {key: "v"}}})}
    )
    assert len(problems) == 1
    assert "is not a valid label key" in problems[0]


def test_selector_count_limit():
    text = selectors_json(
        *(
            {"name": f"s{i}", "objectSelector": {"matchLabels": {"a": str(i)}}}
            for i in range(MAX_SELECTORS + 1)
        )
    )
    assert problems_of({"selectors": text}) == [
        f"selectors: {MAX_SELECTORS + 1} selectors exceed the limit of {MAX_SELECTORS}"
    ]


def test_selector_count_limit_is_inclusive():
    text = selectors_json(
        *({"name": f"s{i}", "objectSelector": {"matchLabels": {"a": str(i)}}} for i in range(MAX_SELECTORS))
    )
    assert len(parse_profile({"selectors": text}).selectors) == MAX_SELECTORS


def test_selector_size_limit():
    text = selectors_json({"name": "a", "effect": {"annotations": {"big": "x" * MAX_SELECTORS_BYTES}}})
    assert problems_of({"selectors": text}) == [
        f"selectors: {len(text)} bytes exceed the limit of {MAX_SELECTORS_BYTES} bytes"
    ]


def test_many_problems_are_summarised():
    text = selectors_json(*({"name": f"s{i}"} for i in range(MAX_REPORTED_PROBLEMS + 10)))
    problems = problems_of({"selectors": text})
    assert len(problems) == MAX_REPORTED_PROBLEMS + 1
    assert problems[-1] == "... and 10 more problems"


def test_profile_can_be_built_directly_from_plain_dicts():
    selector = Selector(name="a", object_selector={"x": "1"}, effect=Effect(labels={"y": "2"}))
    profile = Profile(
        selectors=(selector,),
        vswitch_ids="",
        security_group_id="",
        vpc_id="",
        wait_for_first_consumer=False,
        enable_cluster_ip=True,
        enable_hybrid_mode=False,
        enable_linux_arm64_node=False,
        enable_log_controller=False,
        enable_pvc_controller=False,
        enable_private_zone=False,
        enable_reuse_ssl_key=False,
        sls_machine_group="",
    )
    assert isinstance(selector.object_selector, FrozenMap)
    assert profile.routing_selectors == (selector,)
    hash(profile)
