"""Routing: pod and namespace labels, selectors (AND of labels, both selectors), global effects."""

import json

import pytest

from eci_reference.constants import ECI_LABEL
from eci_reference.matching import (
    decide_routing,
    has_eci_label,
    is_eci_pod,
    labels_match,
    matching_effect_selectors,
    selector_matches,
)
from eci_reference.profile import Selector, parse_profile

from .seed_examples import EXAMPLE_1, EXAMPLE_2, EXAMPLE_3, TEMPLATE

NO_SELECTORS = parse_profile({})


def profile_of(*selectors):
    return parse_profile({"selectors": json.dumps(list(selectors))})


def names(selectors):
    return [selector.name for selector in selectors]


# --- labels_match -------------------------------------------------------------------------------


def test_every_label_must_match():
    assert labels_match({"a": "1", "b": "2"}, {"a": "1", "b": "2", "c": "3"})
    assert not labels_match({"a": "1", "b": "2"}, {"a": "1"})
    assert not labels_match({"a": "1", "b": "2"}, {"a": "1", "b": "3"})


@pytest.mark.parametrize("match_labels", [None, {}])
def test_an_empty_selector_matches_nothing_unless_asked(match_labels):
    assert not labels_match(match_labels, {"a": "1"})
    assert labels_match(match_labels, {"a": "1"}, empty_matches_all=True)


# --- the ECI label --------------------------------------------------------------------------------


def test_pod_label_routes():
    assert is_eci_pod({ECI_LABEL: "true"}, {}, NO_SELECTORS)


def test_namespace_label_routes():
    assert is_eci_pod({}, {ECI_LABEL: "true"}, NO_SELECTORS)


@pytest.mark.parametrize("value", ["false", "True", "yes", "", "1"])
def test_any_other_value_does_not_route(value):
    assert not has_eci_label({ECI_LABEL: value})
    assert not is_eci_pod({ECI_LABEL: value}, {ECI_LABEL: value}, NO_SELECTORS)


def test_pod_label_false_does_not_undo_a_namespace_label():
    assert is_eci_pod({ECI_LABEL: "false"}, {ECI_LABEL: "true"}, NO_SELECTORS)


def test_unlabelled_pod_in_unlabelled_namespace_stays():
    decision = decide_routing({"app": "web"}, {"team": "a"}, NO_SELECTORS)
    assert not decision.is_eci
    assert decision.reasons == ()
    assert decision.effect_selectors == ()


# --- selectors ----------------------------------------------------------------------------------


def test_object_selector_routes_matching_pods():  # selector-demo2 of the template
    profile = parse_profile({"selectors": TEMPLATE})
    assert is_eci_pod({"eci": "test"}, {}, profile)
    assert not is_eci_pod({"eci": "other"}, {}, profile)


def test_namespace_selector_routes_every_pod_of_matching_namespaces():  # Example 2
    profile = parse_profile({"selectors": EXAMPLE_2})
    assert is_eci_pod({}, {"gpu": "true"}, profile)
    assert is_eci_pod({"app": "x"}, {"gpu": "true", "team": "a"}, profile)
    assert not is_eci_pod({"gpu": "true"}, {}, profile)


@pytest.mark.parametrize(
    ("pod_labels", "namespace_labels", "routed"),
    [
        ({"created-by-eci": "true"}, {"type": "eci"}, True),
        ({"created-by-eci": "true"}, {}, False),
        ({}, {"type": "eci"}, False),
        ({"type": "eci"}, {"created-by-eci": "true"}, False),
    ],
)
def test_both_selectors_must_match(pod_labels, namespace_labels, routed):  # Example 1
    profile = parse_profile({"selectors": EXAMPLE_1})
    assert is_eci_pod(pod_labels, namespace_labels, profile) is routed
    assert selector_matches(profile.selectors[0], pod_labels, namespace_labels) is routed


def test_labels_of_one_match_labels_are_anded():
    profile = profile_of({"name": "both", "objectSelector": {"matchLabels": {"a": "1", "b": "2"}}})
    assert is_eci_pod({"a": "1", "b": "2"}, {}, profile)
    assert not is_eci_pod({"a": "1"}, {}, profile)
    assert not is_eci_pod({"b": "2"}, {}, profile)


def test_example_3_routes_imc_auto():
    profile = parse_profile({"selectors": EXAMPLE_3})
    assert is_eci_pod({"imc": "auto"}, {}, profile)
    assert not is_eci_pod({"imc": "manual"}, {}, profile)


def test_a_global_effect_never_routes():
    profile = profile_of({"name": "everyone", "effect": {"labels": {"x": "1"}}})
    (selector,) = profile.selectors
    assert not selector_matches(selector, {"x": "1"}, {"x": "1"})
    assert not is_eci_pod({"x": "1"}, {}, profile)
    assert matching_effect_selectors({"x": "1"}, {}, profile) == ()


def test_selector_matches_on_a_hand_built_selector():
    selector = Selector(name="s", namespace_selector={"ns": "1"})
    assert selector_matches(selector, {}, {"ns": "1"})
    assert not selector_matches(selector, {"ns": "1"}, {})


# --- effect selectors ---------------------------------------------------------------------------

ORDERED = (
    {"name": "first", "effect": {"labels": {"g": "1"}}},
    {"name": "by-pod", "objectSelector": {"matchLabels": {"app": "web"}}},
    {"name": "not-matching", "objectSelector": {"matchLabels": {"app": "db"}}},
    {"name": "by-namespace", "namespaceSelector": {"matchLabels": {"team": "a"}}},
    {"name": "last", "effect": {"labels": {"g": "2"}}},
)


def test_effect_selectors_are_matches_and_global_effects_in_profile_order():
    profile = profile_of(*ORDERED)
    decision = decide_routing({"app": "web"}, {"team": "a"}, profile)
    assert decision.is_eci
    assert decision.reasons == ("selector:by-pod", "selector:by-namespace")
    assert names(decision.matched_selectors) == ["by-pod", "by-namespace"]
    assert names(decision.effect_selectors) == ["first", "by-pod", "by-namespace", "last"]
    assert matching_effect_selectors({"app": "web"}, {"team": "a"}, profile) == decision.effect_selectors


def test_global_effects_apply_to_pods_routed_by_label():
    profile = profile_of(*ORDERED)
    decision = decide_routing({ECI_LABEL: "true"}, {}, profile)
    assert decision.reasons == ("pod-label",)
    assert names(decision.effect_selectors) == ["first", "last"]


def test_no_effects_for_a_pod_that_is_not_routed():
    profile = profile_of(*ORDERED)
    decision = decide_routing({"app": "db-not"}, {}, profile)
    assert not decision.is_eci
    assert decision.effect_selectors == ()


def test_every_reason_is_reported():
    profile = profile_of(*ORDERED)
    decision = decide_routing({ECI_LABEL: "true", "app": "web"}, {ECI_LABEL: "true"}, profile)
    assert decision.reasons == ("pod-label", "namespace-label", "selector:by-pod")
