import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
import yaml

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
    assert reason.endswith("not tested, so 'hot-updates' is claimed but only partial")
    assert not_testable_reason(catalogue, without_selectors, [core]) is None
    extended = catalogue.requirements_for_feature("extended")[0].id
    assert not_testable_reason(catalogue, implementation, [extended]) == (
        f"eci-reference does not declare feature 'extended' ({extended}): not claimed, not tested"
    )
    assert not_testable_reason(catalogue, implementation, [hot]) is None


def test_fail_fast_stops_at_the_first_failure(monkeypatch):
    from types import SimpleNamespace

    from vnode_harness.plugin import pytest_plugin
    from vnode_harness.run_context import RunContext

    option = SimpleNamespace(collectonly=True, maxfail=0)
    registered = SimpleNamespace(is_registered=lambda plugin: True)  # the signal handling: not this test's
    config = SimpleNamespace(
        option=option, getoption=lambda name: name == "fail_fast", pluginmanager=registered
    )
    monkeypatch.setattr(pytest_plugin, "is_conformance_run", lambda config: True)
    pytest_plugin.pytest_configure(config)  # type: ignore[arg-type]
    assert option.maxfail == 0  # collect-only runs nothing: left alone
    option.collectonly = False
    context = SimpleNamespace(run_dir=Path("run"))
    monkeypatch.setattr(RunContext, "from_json", staticmethod(lambda text: context))
    config.workerinput = {pytest_plugin.CONTEXT_KEY: "{}"}
    monkeypatch.setattr(pytest_plugin, "_use_provider_test_image", lambda context: None)
    monkeypatch.setattr(pytest_plugin, "give_up_waiting_once_control_plane_down", lambda context: None)
    config.stash = {}
    pytest_plugin.pytest_configure(config)  # type: ignore[arg-type]
    assert option.maxfail == 1


def _config(args: list[str], kubeconfig: str | None, pids: list[int] | None = None) -> pytest.Config:
    """A config as pytest leaves it: pytest-kind's --kubeconfig holds the last value given."""
    options = {"kubeconfig": kubeconfig, "implementation_pid": pids}
    config = SimpleNamespace(
        getoption=options.__getitem__, invocation_params=SimpleNamespace(args=tuple(args))
    )
    return cast(pytest.Config, config)


def test_kubeconfig_may_be_repeated_on_the_command_line(tmp_path):
    from vnode_harness.plugin.options import kubeconfigs

    args = [
        "conformance",
        "--cluster",
        "existing",
        "--kubeconfig",
        "a.yaml",
        "-n",
        "2",
        "--kubeconfig=b.yaml",
    ]
    assert kubeconfigs(_config(args, "b.yaml")) == [Path("a.yaml"), Path("b.yaml")]
    assert kubeconfigs(_config(["conformance", "--kubeconfig", "a.yaml"], "a.yaml")) == [Path("a.yaml")]
    assert kubeconfigs(_config(["conformance"], None)) == []
    # from PYTEST_ADDOPTS or addopts only: the one value pytest holds
    assert kubeconfigs(_config(["conformance", "-n", "2"], "env.yaml")) == [Path("env.yaml")]
    # pytest takes no abbreviations, and neither does this reading
    assert kubeconfigs(_config(["--kubeconf", "x.yaml", "--kubeconfig", "a.yaml"], "a.yaml")) == [
        Path("a.yaml")
    ]
    argfile = tmp_path / "args"
    argfile.write_text("--kubeconfig\na.yaml\n--kubeconfig\nb.yaml\n")
    assert kubeconfigs(_config([f"@{argfile}"], "b.yaml")) == [Path("a.yaml"), Path("b.yaml")]


def test_implementation_pid_is_given_once_per_kubeconfig_or_not_at_all():
    from vnode_harness.plugin.options import implementation_pids

    assert implementation_pids(_config([], None, [11, 22]), 2) == [11, 22]
    assert implementation_pids(_config([], None, [11]), 1) == [11]
    assert implementation_pids(_config([], None, [11]), 0) == [11]  # the default kubeconfig
    assert implementation_pids(_config([], None, None), 2) == []
    with pytest.raises(pytest.UsageError, match=r"given 1 time.* for 2 cluster.*once per --kubeconfig"):
        implementation_pids(_config([], None, [11]), 2)
    with pytest.raises(pytest.UsageError, match=r"given 2 time.* for 1 cluster"):
        implementation_pids(_config([], None, [11, 22]), 1)


def _suite(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "conformance/test_scheduling.py", "-p", "no:cacheprovider", "-q",
         "--cluster", "existing", "--reports-dir", str(tmp_path / "reports"), *args],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_several_kubeconfigs_without_a_worker_each_is_a_usage_error_before_any_cluster_is_asked(tmp_path):
    result = _suite(tmp_path, "--kubeconfig", "a.yaml", "--kubeconfig", "b.yaml", "-n", "0")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "2 kubeconfigs need at least 2 xdist workers" in result.stdout + result.stderr
    assert "shard-1: starting" not in result.stderr


@pytest.mark.parametrize("workers", ["3", "auto"])  # auto: one worker per kubeconfig, more than 2 cores give
def test_several_kubeconfigs_that_do_not_start_end_the_run_naming_each_shard_and_file(tmp_path, workers):
    missing = [tmp_path / f"{name}.yaml" for name in ("a", "b", "c")]
    given = [arg for kubeconfig in missing for arg in ("--kubeconfig", str(kubeconfig))]
    result = _suite(tmp_path, "-n", workers, *given)
    assert result.returncode == 3, result.stdout + result.stderr
    report = yaml.safe_load((tmp_path / "reports" / "latest" / "conformance-report.yaml").read_text())
    assert report["aborted"].startswith(
        "the cluster is not ready, no test was run: 3 of 3 shards did not start"
    )
    for index, kubeconfig in enumerate(missing, start=1):
        assert (
            f"shard-{index}: --cluster existing: kubeconfig {kubeconfig} does not exist" in report["aborted"]
        )


def test_n_auto_asks_for_a_worker_per_kubeconfig(monkeypatch):
    from vnode_harness.plugin import pytest_plugin

    monkeypatch.setattr(pytest_plugin, "is_conformance_run", lambda config: True)
    args = ["conformance", "--kubeconfig", "a.yaml", "--kubeconfig", "b.yaml", "--kubeconfig", "c.yaml"]
    options = {"cluster": "existing", "clusters": "auto", "kind_bin": None, "kubeconfig": "c.yaml"}
    config = SimpleNamespace(
        getoption=options.__getitem__, invocation_params=SimpleNamespace(args=tuple(args))
    )
    assert pytest_plugin.pytest_xdist_auto_num_workers(cast(pytest.Config, config)) == 3
