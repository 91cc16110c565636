"""Run the reference implementation with one deliberate defect (a *mutant*).

The suite's own tests use these to show that each conformance test can fail: a suite that stays green
against a broken implementation certifies nothing. Usage: run_mutant.py MUTANT <eci_reference args…>
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

import eci_reference.mutation as mutation
from eci_reference.app import main
from eci_reference.constants import ECI_LABEL, SECURITY_GROUP_ANNOTATION, VSWITCH_ANNOTATION


def last_effect_wins() -> None:
    """Effects of a later selector overwrite those of an earlier one (breaks EFF-ORDER)."""

    def add(additions: dict[str, str], current: dict[str, str], candidates: Mapping[str, str]) -> None:
        for key, value in candidates.items():
            if key not in current or key in additions:
                additions[key] = value
                current[key] = value

    mutation._add_missing = add  # type: ignore[assignment]


def namespace_label_ignored() -> None:
    """The namespace's alibabacloud.com/eci label routes nothing (breaks SCHED-NS-LABEL)."""
    original = mutation.decide_routing

    def decide(pod_labels: Mapping[str, str], namespace_labels: Mapping[str, str], profile: Any) -> Any:
        stripped = {k: v for k, v in namespace_labels.items() if k != ECI_LABEL}
        return original(pod_labels, stripped, profile)

    mutation.decide_routing = decide  # type: ignore[assignment]


def no_parameter_defaults() -> None:
    """The profile's vSwitchIds / securityGroupId are not given to pods (breaks PARAM-DEFAULTS)."""
    original = mutation._plan_metadata

    def plan(*args: Any) -> Any:
        applied, labels, annotations = original(*args)
        for key in (VSWITCH_ANNOTATION, SECURITY_GROUP_ANNOTATION):
            annotations.pop(key, None)
        return applied, labels, annotations

    mutation._plan_metadata = plan  # type: ignore[assignment]


MUTANTS: dict[str, Callable[[], None]] = {
    "last-effect-wins": last_effect_wins,
    "namespace-label-ignored": namespace_label_ignored,
    "no-parameter-defaults": no_parameter_defaults,
}

if __name__ == "__main__":
    MUTANTS[sys.argv[1]]()
    sys.exit(main(sys.argv[2:]))
