"""How hard the fuzz tests try, from the environment: bounded and reproducible unless told otherwise.

CI runs a fixed number of examples from a fixed seed (``derandomize``), so a red run replays exactly;
``bench/fuzz.py`` sets ``VNODE_FUZZ_EXAMPLES`` (and a random ``VNODE_FUZZ_SEED``) for the long run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Final, TypeVar

from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as hypothesis_seed

#: Examples per fuzz test in CI: enough to reach every rejection path, well under a minute in total.
DEFAULT_EXAMPLES: Final = 300
#: A request or a parse that takes this long is a hang, not slowness (a normal one takes milliseconds).
HANG_SECONDS: Final = 10.0


def examples() -> int:
    return int(os.environ.get("VNODE_FUZZ_EXAMPLES", DEFAULT_EXAMPLES))


def fuzz_settings(scale: float = 1.0) -> settings:
    """Settings for one fuzz test; ``scale`` shrinks the budget of an expensive target."""
    seed = os.environ.get("VNODE_FUZZ_SEED")
    return settings(
        max_examples=max(1, int(examples() * scale)),
        derandomize=seed is None,
        deadline=None,  # hangs are caught by HANG_SECONDS; speed is a benchmark's business
        database=None,  # nothing kept between runs: a CI run is its own evidence
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
        print_blob=True,
    )


def seed() -> int | None:
    """The seed of a long run (``VNODE_FUZZ_SEED``), ``None`` in the derandomized CI run."""
    value = os.environ.get("VNODE_FUZZ_SEED")
    return int(value) if value is not None else None


TestT = TypeVar("TestT", bound=Callable[..., Any])


def budgeted(scale: float = 1.0) -> Callable[[TestT], TestT]:
    """Apply the fuzz settings (and the long run's seed) to a ``@given`` test."""

    def apply(test: TestT) -> TestT:
        test = fuzz_settings(scale)(test)
        chosen = seed()
        return hypothesis_seed(chosen)(test) if chosen is not None else test

    return apply
