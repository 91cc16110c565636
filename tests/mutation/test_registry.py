"""The registry stays in step with the catalogue and the reference, without a cluster.

A requirement added to the catalogue without a mutant, a mutant naming a requirement that was renamed,
or a seam of eci_reference that no longer exists (the patch would fail at start, and every run of that
mutant would be an error) show here in seconds instead of after a matrix run.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.mutation.mutants import FAST, MUTANTS, NO_MUTANT
from tests.mutation.variants import VARIANTS
from vnode_harness.formats.catalogue import load_catalogue
from vnode_harness.formats.implementation import load_implementation

REPO = Path(__file__).resolve().parents[2]
RUN_IMPLEMENTATION = Path(__file__).resolve().parent / "run_implementation.py"


def test_every_declared_requirement_has_a_mutant_and_every_mutant_a_requirement() -> None:
    catalogue = load_catalogue()
    reference = load_implementation(REPO / "implementations" / "reference.yaml")
    declared = {r.id for r in catalogue.requirements if reference.supports(r.feature)}
    targeted = {mutant.requirement for mutant in MUTANTS.values()}
    assert sorted(declared - targeted - set(NO_MUTANT)) == []
    named = targeted | {c for mutant in MUTANTS.values() for c in mutant.controls}
    assert sorted(named - {r.id for r in catalogue.requirements}) == []
    assert set(FAST) <= set(MUTANTS)
    assert not set(MUTANTS) & set(VARIANTS)


def _applies(name: str) -> tuple[str, int, str]:
    # --help: the patch is applied, then eci_reference's argument parser prints its usage and exits 0.
    result = subprocess.run(
        [sys.executable, str(RUN_IMPLEMENTATION), name, "--help"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return name, result.returncode, result.stderr[-2000:]


def test_every_mutant_and_variant_patch_applies_to_the_reference() -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(_applies, [*MUTANTS, *VARIANTS]))
    failures = {name: stderr for name, code, stderr in results if code != 0}
    assert failures == {}
