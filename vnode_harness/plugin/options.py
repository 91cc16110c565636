"""The conformance plugin's command-line options, and what a run's arguments say about the run.

Kept apart from the plugin's lifecycle (vnode_harness.plugin.pytest_plugin) so that the options a user can
pass, their environment-variable defaults and their help texts are read in one place. The plugin
registers `pytest_addoption` from here; `is_conformance_run` and `is_full_run` are the two questions
the plugin and the report writers ask of the command line.

Several existing clusters: `--kubeconfig` given once per cluster (`--cluster existing --kubeconfig
a.yaml --kubeconfig b.yaml -n 2`). The option is pytest-kind's, registered to keep one value (the
last), and pytest cannot register it again; so `kubeconfigs` reads every `--kubeconfig` of the command
line itself, with the same parsing rules as pytest (no abbreviations, `@file` arguments) — what a user
tries first works, and repeating it never silently drops a cluster. In PYTEST_ADDOPTS or the ini's
addopts it stays one value, overridden by the command line as before. `--implementation-pid` is ours
and repeatable: one per kubeconfig, in the same order.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from vnode_harness.formats.implementation import CLUSTER_CHOICES
from vnode_harness.formats.paths import CONFORMANCE_DIR, REPO_ROOT
from vnode_harness.testapi.generative.strategies import DEFAULT_SCENARIOS, DEFAULT_SEED

DEFAULT_IMPLEMENTATION = REPO_ROOT / "implementations" / "reference.yaml"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("vnode", "virtual-node conformance")
    group.addoption(
        "--cluster",
        choices=CLUSTER_CHOICES,
        default=os.environ.get("VNODE_CLUSTER", "auto"),
        help="cluster provider: auto (kind where Docker works, else local), local, kind, existing",
    )
    group.addoption(
        "--clusters",
        default=os.environ.get("VNODE_CLUSTERS", "auto"),
        help="how many clusters of the provider to run the tests on at once, each xdist worker pinned to "
        "one (auto: one per worker, at most one per core and what available memory holds; 1: one "
        "cluster for every worker)",
    )
    group.addoption(
        "--implementation",
        default=os.environ.get("VNODE_IMPLEMENTATION", str(DEFAULT_IMPLEMENTATION)),
        help="implementation file of the implementation under test (default: the reference implementation)",
    )
    group.addoption(
        "--implementation-pid",
        type=int,
        action="append",
        default=None,
        help="with --cluster existing: pid of a host-process implementation you started yourself (its "
        "identity for the 'without restarting' checks); with several --kubeconfig, once per kubeconfig "
        "in the same order",
    )
    group.addoption(
        "--reports-dir", default=str(REPO_ROOT / "reports"), help="where runs write their reports"
    )
    group.addoption(
        "--kind-images",
        choices=("auto", "built", "upstream"),
        default=os.environ.get("VNODE_KIND_IMAGES", "auto"),
        help="with --cluster kind: the image set — built (every image made here from package registries, "
        "`vnode kind images`), upstream (the pinned upstream images, pulled), auto (upstream where its node "
        "image is already in Docker, else built)",
    )
    group.addoption(
        "--gen-seed",
        type=int,
        default=int(os.environ.get("VNODE_GEN_SEED", DEFAULT_SEED)),
        help=f"seed of the generated routing cases (GEN-ROUTING-EFFECTS; default {DEFAULT_SEED}, so runs "
        "are comparable; the report records it)",
    )
    group.addoption(
        "--gen-cases",
        type=int,
        default=int(os.environ.get("VNODE_GEN_CASES", DEFAULT_SCENARIOS)),
        help=f"number of generated scenarios (one profile and its namespaces and pods each; default "
        f"{DEFAULT_SCENARIOS}); more for deeper nightly runs",
    )
    group.addoption(
        "--gen-only",
        default=None,
        metavar="SCENARIO[:POD]",
        help="replay one generated scenario (or one pod of it) of --gen-seed/--gen-cases, as failures print",
    )
    group.addoption(
        "--fail-fast",
        action="store_true",
        default=False,
        help="stop at the first failed or broken test (as pytest -x); the report lists what was not run",
    )
    group.addoption(
        "--allure-history",
        default=os.environ.get("VNODE_ALLURE_HISTORY") or None,
        metavar="FILE",
        help="an Allure 3 history file (JSON Lines, created when missing; or VNODE_ALLURE_HISTORY): the "
        "HTML report's trend charts and test histories show the runs in it, and this run is added to it — "
        "keep it between nightly runs for a trend across nights",
    )
    # --kubeconfig, --cluster-name, --keep-cluster, --kind-bin, --kind-kubectl-bin and --kind-image are
    # pytest-kind's own options, shared with it. --kubeconfig may be repeated: `kubeconfigs` reads them.


def kubeconfigs(config: pytest.Config) -> list[Path]:
    """Every `--kubeconfig` of the run, in order: each one an existing cluster (empty: none given).

    pytest-kind's option keeps the last value only, so the command line is read again for all of them;
    when it has none, the one value pytest holds came from PYTEST_ADDOPTS or addopts."""
    given = config.getoption("kubeconfig")
    if not given:
        return []
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False, fromfile_prefix_chars="@")
    parser.add_argument("--kubeconfig", action="append", default=[])
    try:
        known, _ = parser.parse_known_args([str(arg) for arg in config.invocation_params.args])
    except (SystemExit, OSError):  # an unreadable @file: pytest itself reported it
        return [Path(given)]
    listed: list[str] = known.kubeconfig
    return [Path(path) for path in (listed if listed and listed[-1] == given else [given])]


def implementation_pids(config: pytest.Config, clusters: int) -> list[int]:
    """Every `--implementation-pid`, one per cluster (`clusters`: the kubeconfigs given) or none."""
    pids: list[int] = config.getoption("implementation_pid") or []
    if pids and len(pids) != max(clusters, 1):
        raise pytest.UsageError(
            f"--implementation-pid was given {len(pids)} time(s) for {max(clusters, 1)} cluster(s): give it "
            "once per --kubeconfig, in the same order (or leave it out)"
        )
    return pids


def allure_history(config: pytest.Config) -> Path | None:
    """The `--allure-history` file, absolute, or None; a directory is a usage error (Allure 3 keeps its
    history in one file, not in Allure 2's history/ directory)."""
    given = config.getoption("allure_history")
    if not given:
        return None
    path = (Path(config.invocation_params.dir) / Path(given).expanduser()).resolve()
    if path.is_dir():
        raise pytest.UsageError(
            f"--allure-history {given} is a directory; give a file in it, e.g. "
            f"{Path(given) / 'history.jsonl'} (Allure 3 keeps the whole history in one JSON Lines file)"
        )
    return path


def is_conformance_run(config: pytest.Config) -> bool:
    """Whether the run includes conformance/ (or tests inside it)."""
    invocation = Path(config.invocation_params.dir)
    for arg in config.args:
        path = (invocation / arg.split("::", 1)[0]).resolve()
        if path == CONFORMANCE_DIR or CONFORMANCE_DIR in path.parents:
            return True
    return False


def xdist_workers(config: pytest.Config) -> int:
    """How many xdist workers the run has (0 with `-n 0` or without xdist)."""
    if getattr(config.option, "dist", "no") == "no":
        return 0
    return len(getattr(config.option, "tx", []) or [])


def is_full_run(config: pytest.Config) -> bool:
    """Whether the run is the whole suite (all of conformance/, nothing selected away): only a full run's
    report can certify."""
    if (
        config.option.keyword
        or config.option.markexpr
        or getattr(config.option, "lf", False)
        or config.option.deselect
    ):
        return False
    invocation = Path(config.invocation_params.dir)
    return all((invocation / arg).resolve() == CONFORMANCE_DIR for arg in config.args)
