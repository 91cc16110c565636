"""Run the reference implementation as mutant or variant NAME.

    python tests/mutation/run_implementation.py NAME <eci_reference arguments…>

Applies NAME's patch (tests/mutation/mutants.py, else tests/mutation/variants.py) in this process, then
runs ``eci_reference.app.main`` with the remaining arguments: the implementation file the matrix
writes starts this instead of ``python -m eci_reference``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: make `tests` importable

from eci_reference.app import main
from tests.mutation.mutants import MUTANTS
from tests.mutation.variants import VARIANTS


def apply(name: str) -> None:
    """Apply mutant or variant ``name``; SystemExit naming the known ones otherwise."""
    if name in MUTANTS:
        MUTANTS[name].patch()
    elif name in VARIANTS:
        VARIANTS[name].patch()
    else:
        raise SystemExit(f"unknown mutant or variant {name!r}; known: {', '.join([*MUTANTS, *VARIANTS])}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    apply(sys.argv[1])
    sys.exit(main(sys.argv[2:]))
