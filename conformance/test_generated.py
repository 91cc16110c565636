"""Generated combinations of the routing and effect rules, checked against an independent model
(vnode_harness.testapi.generative): hundreds of pods per run, each compared with what the documents say.

The scenarios come from Hypothesis with a fixed default seed, so runs are comparable; `--gen-seed` and
`--gen-cases` go deeper, and a failure prints the command that replays exactly the failing case.
The scenarios are drawn once and run in `PARTS` tests, so a sharded run spreads them over its clusters:
every part draws the same list and takes its share (`parts_of`: balanced by pod count, the largest
scenario first), so together they run each scenario once.
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


PARTS = 5


def parts_of(scenarios):
    """Scenario index → part: the largest scenario first, each to the part with the fewest pods so far
    (scenarios differ up to fourfold in pods; by index alone one part took 16 s and another 6 s)."""
    loads = [0] * PARTS
    owner = {}
    for index in sorted(range(len(scenarios)), key=lambda i: (-len(scenarios[i].pods), i)):
        part = min(range(PARTS), key=lambda p: (loads[p], p))
        loads[part] += len(scenarios[index].pods)
        owner[index] = part
    return owner


@pytest.mark.requirement("GEN-ROUTING-EFFECTS")
@pytest.mark.parametrize("part", range(PARTS), ids=[f"part{p + 1}of{PARTS}" for p in range(PARTS)])
def test_generated_pods_follow_the_documented_rules(
    part, core, implementation, eci_profile, run_context, pytestconfig
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
    owner = parts_of(scenarios)
    mine = sorted(index for index, owned_by in owner.items() if owned_by == part)
    if only_scenario is not None:
        if only_scenario not in mine:
            pytest.skip(f"--gen-only {only_scenario}: that scenario runs in part {owner[only_scenario] + 1}")
        mine = [only_scenario]
    mismatches: list[Mismatch] = []
    for index in mine:
        scenario = scenarios[index]
        title = f"scenario {index}: {len(scenario.profile.selectors)} selectors, {len(scenario.pods)} pods"
        with allure.step(title):
            mismatches += runner.run(index, scenario, eci_profile.apply, only_pod)
    branches = runner.branches
    allure.attach(
        f"seed {seed}, scenarios {mine} of {count}, {runner.pods_checked} pods; model branches covered "
        f"{len(branches)}/{len(ALL_BRANCHES)}; not covered: {sorted(ALL_BRANCHES - branches)}",
        name="generated cases",
        attachment_type=allure.attachment_type.TEXT,
    )

    def replay(mismatch):
        return shlex.join(
            [
                "tox", "-e", "conformance", "--", "-k",
                f"test_generated_pods_follow_the_documented_rules and part{owner[mismatch.scenario] + 1}of",
                "--gen-seed", str(seed), "--gen-cases", str(count),
                "--gen-only", f"{mismatch.scenario}:{mismatch.pod}",
            ]
        )  # fmt: skip

    assert not mismatches, describe_mismatches(mismatches, scenarios, replay)
