"""Which declared limits would weaken what a run certifies (the catalogue's `certification` minimums).

A run with such limits still runs (a vendor iterating may want short windows), but its report says it
does not certify and `vnode report verify` refuses it as a submission.
"""

from __future__ import annotations

from vnode_harness.formats.catalogue import Catalogue


def weakened_limits(catalogue: Catalogue, *, hold_seconds: int) -> list[str]:
    """One line per declared limit below the catalogue's minimum; empty when the run can certify."""
    minimum = catalogue.certification.minimum_hold_seconds
    if hold_seconds < minimum:
        return [
            f"limits.holdSeconds is {hold_seconds}, below the catalogue's minimum of {minimum} s: every "
            '"stays so" claim was watched for less than certification needs'
        ]
    return []
