"""Two suite runs started at once against one existing cluster: they serialize on the eci-profile Lease,
so both verdicts are what each would be alone (the reference implementation passes), and neither leaves
anything behind. An existing cluster's report also says why the "implementation down" observation was
not made there."""

from __future__ import annotations

from tests.faults.scenario import REFERENCE, assert_nothing_left, outcomes_named, profile_now, start_suite
from vnode_harness.formats.implementation import load_implementation

PROFILE_TESTS = (
    "without_restart or test_profile_values_are_defaults or test_pod_label_runs_pod_on_virtual_node"
)


def test_two_runs_at_once_serialize_and_both_pass(api, shared_cluster, reference, reports):
    implementation = load_implementation(REFERENCE)
    before = profile_now(api, implementation)
    runs = [start_suite(shared_cluster, reports / name, select=PROFILE_TESTS, implementation=reference)
            for name in ("first", "second")]  # fmt: skip
    exit_codes = [run.wait() for run in runs]
    for run, exit_code in zip(runs, exit_codes, strict=True):
        outcomes = run.outcomes()
        assert exit_code == 0, run.output()
        assert len(outcomes) == 4, outcomes
        assert set(outcomes_named(outcomes, "passed")) == set(outcomes), outcomes
        observation = run.report()["observations"][0]
        assert observation["answer"] == "not observed", observation
        assert "existing cluster" in observation["detail"], observation
    for run in runs:
        assert_nothing_left(api, implementation, run, before)
