"""The generator: deterministic for a seed, inside the documented input space, covering the model."""

import json

from vnode_harness.testapi.generative.live import Mismatch, describe_mismatches, profile_changes
from vnode_harness.testapi.generative.model import ALL_BRANCHES, ECI_LABEL, ParameterKeys, expect
from vnode_harness.testapi.generative.strategies import (
    DEFAULT_SCENARIOS,
    DEFAULT_SEED,
    EFFECT_KEYS,
    MATCH_KEYS,
    draw_scenarios,
)

KEYS = ParameterKeys(security_group="k8s.aliyun.com/eci-security-group", vswitch="k8s.aliyun.com/eci-vswitch")


def test_the_same_seed_gives_the_same_scenarios_and_another_seed_others():
    assert draw_scenarios(7, 5, KEYS) == draw_scenarios(7, 5, KEYS)
    assert draw_scenarios(7, 5, KEYS) != draw_scenarios(8, 5, KEYS)


def test_the_default_run_covers_every_branch_of_the_model():
    covered: set[str] = set()
    for scenario in draw_scenarios(DEFAULT_SEED, DEFAULT_SCENARIOS, KEYS):
        for pod in scenario.pods:
            namespace = dict(scenario.namespaces[pod.namespace])
            covered |= expect(
                scenario.profile, namespace, dict(pod.labels), dict(pod.annotations), KEYS
            ).branches
    assert covered == ALL_BRANCHES


def test_generated_profiles_stay_inside_what_the_documents_define():
    for scenario in draw_scenarios(DEFAULT_SEED, DEFAULT_SCENARIOS, KEYS):
        selectors = json.loads(profile_changes(scenario)["selectors"] or "[]")
        names = [selector["name"] for selector in selectors]
        assert len(names) == len(set(names))  # "a unique identifier"
        for selector in selectors:
            sides = [selector.get("namespaceSelector"), selector.get("objectSelector")]
            assert any(sides) or selector.get("effect")  # at least one side, or a global effect
            for side in filter(None, sides):
                assert side["matchLabels"]
                assert set(side["matchLabels"]) <= set(MATCH_KEYS)
            effect = selector.get("effect", {})
            for kind in ("annotations", "labels"):
                assert set(effect.get(kind, {})) <= set(EFFECT_KEYS)  # never a matched key or the ECI label
            assert ECI_LABEL not in json.dumps(effect)


def test_a_failure_shows_the_smallest_case_first_with_its_replay_command():
    scenarios = draw_scenarios(DEFAULT_SEED, 3, KEYS)
    expected = expect(scenarios[1].profile, {}, {ECI_LABEL: "true"}, {})

    def mismatch(pod: int, labels: dict[str, str]) -> Mismatch:
        return Mismatch(
            1, pod, {}, labels, {}, expected, "node-a", False, labels, {}, ("expected a virtual node",)
        )

    big = mismatch(4, {ECI_LABEL: "true", MATCH_KEYS[0]: "x", MATCH_KEYS[1]: "y"})
    small = mismatch(2, {ECI_LABEL: "true"})
    text = describe_mismatches([big, small], scenarios, lambda m: f"replay {m.scenario}:{m.pod}")
    assert text.splitlines()[0].startswith("2 generated pod(s) differ")
    assert "scenario 1, pod 2" in text.splitlines()[1]
    assert "replay exactly this case: replay 1:2" in text
    assert "also scenario 1 pod 4" in text
