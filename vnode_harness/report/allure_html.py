"""The Allure HTML report, generated with the npm `allure` 3 generator (no Java needed).

The generator is installed on first use with the machine's npm into the user cache, keyed by version,
so a release engineer never installs it by hand. Without Node.js the run still has its Allure results,
conformance report and JUnit XML; the message says how to get the HTML. The generated HTML contacts
no one when opened (vnode_harness.report.html_privacy removes the generator's analytics tag).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from vnode_harness.formats.versions import ALLURE_NPM
from vnode_harness.plumbing.cache_dir import cache_root
from vnode_harness.plumbing.file_lock import file_lock
from vnode_harness.report.allure_labels import ALLURE_TREE
from vnode_harness.report.html_privacy import NO_ANALYTICS_ENVIRONMENT, make_private


class AllureUnavailable(RuntimeError):
    """The generator could not be installed or run; the message says why."""


def allure_command(console: Console) -> Path:
    """Path of the pinned `allure` executable, installing it with npm when missing."""
    prefix = cache_root() / "npm" / f"allure-{ALLURE_NPM}"
    binary = prefix / "node_modules" / ".bin" / "allure"
    if binary.exists():
        return binary
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise AllureUnavailable("Node.js and npm are not on PATH: install them to get the Allure HTML report")
    with file_lock(prefix / ".install.lock"):
        if not binary.exists():
            with console.status(f"installing the Allure {ALLURE_NPM} report generator (npm, first use)"):
                result = subprocess.run(
                    [
                        npm,
                        "install",
                        "--prefix",
                        str(prefix),
                        "--no-audit",
                        "--no-fund",
                        "--loglevel=error",
                        f"allure@{ALLURE_NPM}",
                    ],
                    capture_output=True,
                    text=True,
                    timeout=600,
                    check=False,
                )
            if result.returncode != 0 or not binary.exists():
                raise AllureUnavailable(
                    f"npm install allure@{ALLURE_NPM} failed: {result.stderr.strip()[-800:]}"
                )
    return binary


def allure_config(report_name: str, group_by: Sequence[str]) -> dict[str, Any]:
    """The generator's configuration: the awesome report, its tree grouped by `group_by` labels."""
    return {
        "name": report_name,
        "plugins": {"awesome": {"options": {"groupBy": list(group_by), "singleFile": True}}},
    }


def generate_html(
    results_dir: Path,
    output_dir: Path,
    report_name: str,
    console: Console,
    group_by: Sequence[str] = ALLURE_TREE,
) -> Path:
    """Generate the HTML report; its tree reads like the catalogue (feature → requirement) by default."""
    binary = allure_command(console)
    with tempfile.TemporaryDirectory(prefix="vnode-allure-") as scratch:
        config = Path(scratch) / "allurerc.json"
        config.write_text(json.dumps(allure_config(report_name, group_by)))
        result = subprocess.run(
            [
                str(binary),
                "generate",
                str(results_dir),
                "--config",
                str(config),
                "--output",
                str(output_dir),
                "--report-name",
                report_name,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "NO_COLOR": "1", **NO_ANALYTICS_ENVIRONMENT},
            check=False,
        )
    if result.returncode != 0:
        raise AllureUnavailable(f"allure generate failed: {(result.stdout + result.stderr).strip()[-800:]}")
    left = make_private(output_dir)
    if left:
        shutil.rmtree(output_dir, ignore_errors=True)
        raise AllureUnavailable(
            f"the generated HTML would contact another host when opened ({'; '.join(left[:3])}): removed"
        )
    return output_dir / "index.html"
