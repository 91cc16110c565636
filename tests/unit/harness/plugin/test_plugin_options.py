import subprocess
import sys
from pathlib import Path

from vnode_harness.formats.paths import REPO_ROOT

REPO = REPO_ROOT


def test_every_option_the_plugin_reads_is_registered():
    """The plugin reads these with config.getoption: each must be registered (here or by pytest-kind)."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--help"], cwd=REPO, capture_output=True, text=True, check=True
    )
    for option in (
        "--cluster",
        "--implementation",
        "--implementation-pid",
        "--reports-dir",
        "--kubeconfig",
        "--cluster-name",
        "--keep-cluster",
        "--kind-bin",
        "--kind-kubectl-bin",
        "--kind-image",
    ):
        assert option in result.stdout, option
    source = "".join(path.read_text() for path in sorted((REPO / "vnode_harness" / "plugin").glob("*.py")))
    import re

    for name in re.findall(r'getoption\("([a-z_]+)"\)', source):
        assert f"--{name.replace('_', '-')}" in result.stdout, name


def test_a_feature_whose_required_feature_is_not_declared_is_skipped_saying_why():
    from vnode_harness.formats.applicability import not_testable_reason
    from vnode_harness.formats.catalogue import load_catalogue
    from vnode_harness.formats.implementation import load_implementation

    catalogue = load_catalogue()
    implementation = load_implementation(REPO / "implementations" / "reference.yaml")
    without_selectors = implementation.model_copy(
        update={"features": [f for f in implementation.features if f != "selectors-effects"]}
    )
    hot = next(r.id for r in catalogue.requirements if r.feature == "hot-updates")
    core = next(r.id for r in catalogue.requirements if r.feature == "core-scheduling")
    reason = not_testable_reason(catalogue, without_selectors, [hot])
    assert reason is not None
    assert "requires selectors-effects" in reason
    assert not_testable_reason(catalogue, without_selectors, [core]) is None
    assert not_testable_reason(catalogue, implementation, [hot]) is None


def test_fail_fast_stops_at_the_first_failure(monkeypatch):
    from types import SimpleNamespace

    from vnode_harness.plugin import pytest_plugin
    from vnode_harness.run_context import RunContext

    option = SimpleNamespace(collectonly=True, maxfail=0)
    config = SimpleNamespace(option=option, getoption=lambda name: name == "fail_fast")
    monkeypatch.setattr(pytest_plugin, "is_conformance_run", lambda config: True)
    pytest_plugin.pytest_configure(config)  # type: ignore[arg-type]
    assert option.maxfail == 0  # collect-only runs nothing: left alone
    option.collectonly = False
    monkeypatch.setattr(pytest_plugin, "_is_worker", lambda config: True)
    context = SimpleNamespace(run_dir=Path("run"))
    monkeypatch.setattr(RunContext, "from_json", staticmethod(lambda text: context))
    config.workerinput = {pytest_plugin.CONTEXT_KEY: "{}"}
    monkeypatch.setattr(pytest_plugin, "_use_provider_test_image", lambda context: None)
    monkeypatch.setattr(pytest_plugin, "give_up_waiting_once_control_plane_down", lambda context: None)
    config.stash = {}
    pytest_plugin.pytest_configure(config)  # type: ignore[arg-type]
    assert option.maxfail == 1
