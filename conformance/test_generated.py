"""Generated combinations of the routing and effect rules, checked against an independent model
(vnode_harness.testapi.generative): hundreds of pods per run, each compared with what the documents say.

The scenarios come from Hypothesis with a fixed default seed, so runs are comparable; `--gen-seed` and
`--gen-cases` go deeper, and a failure prints the command that replays exactly the failing case.
"""

from __future__ import annotations

import shlex

import allure
import pytest

from vnode_harness.testapi.generative.live import Mismatch, ScenarioRunner, describe_mismatches
from vnode_harness.testapi.generative.model import ALL_BRANCHES, ParameterKeys
from vnode_harness.testapi.generative.strategies import draw_scenarios


def parse_only(text):
    if text is None:
        return None, None
    scenario, _, pod = text.partition(":")
    return int(scenario), (int(pod) if pod else None)


@pytest.mark.requirement("GEN-ROUTING-EFFECTS")
def test_generated_pods_follow_the_documented_rules(
    core, implementation, eci_profile, run_context, pytestconfig
):
    seed, count = pytestconfig.getoption("gen_seed"), pytestconfig.getoption("gen_cases")
    only_scenario, only_pod = parse_only(pytestconfig.getoption("gen_only"))
    observation = implementation.observation
    parameter_keys = (
        ParameterKeys(observation.security_group_annotation, observation.vswitch_annotation)
        if implementation.supports("hot-updates")
        else None
    )
    scenarios = draw_scenarios(seed, count, parameter_keys)
    runner = ScenarioRunner(core, implementation, run_context.run_dir.name, parameter_keys)
    if only_scenario is not None and not (
        0 <= only_scenario < len(scenarios)
        and (only_pod is None or 0 <= only_pod < len(scenarios[only_scenario].pods))
    ):
        raise ValueError(
            f"--gen-only {pytestconfig.getoption('gen_only')}: no such case among the {len(scenarios)} "
            f"scenarios of seed {seed} (replay with the --gen-seed and --gen-cases the failure printed)"
        )
    mismatches: list[Mismatch] = []
    for index, scenario in enumerate(scenarios):
        if only_scenario is not None and index != only_scenario:
            continue
        title = f"scenario {index}: {len(scenario.profile.selectors)} selectors, {len(scenario.pods)} pods"
        with allure.step(title):
            mismatches += runner.run(index, scenario, eci_profile.apply, only_pod)
    branches = runner.branches
    allure.attach(
        f"seed {seed}, {count} scenarios, {runner.pods_checked} pods; model branches covered "
        f"{len(branches)}/{len(ALL_BRANCHES)}; not covered: {sorted(ALL_BRANCHES - branches)}",
        name="generated cases",
        attachment_type=allure.attachment_type.TEXT,
    )

    def replay(mismatch):
        return shlex.join(
            [
                "tox", "-e", "conformance", "--", "-k", "test_generated_pods_follow_the_documented_rules",
                "--gen-seed", str(seed), "--gen-cases", str(count),
                "--gen-only", f"{mismatch.scenario}:{mismatch.pod}",
            ]
        )  # fmt: skip

    assert not mismatches, describe_mismatches(mismatches, scenarios, replay)
