import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


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
    source = (REPO / "vnode_harness" / "pytest_plugin.py").read_text()
    import re

    for name in re.findall(r'getoption\("([a-z_]+)"\)', source):
        assert f"--{name.replace('_', '-')}" in result.stdout, name
