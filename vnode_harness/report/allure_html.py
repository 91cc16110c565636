"""The Allure HTML report, generated with the npm `allure` 3 generator (no Java needed).

The generator is installed on first use with the machine's npm into the user cache, keyed by version,
so a release engineer never installs it by hand. Without Node.js the run still has its Allure results,
conformance report and JUnit XML; the message says how to get the HTML. The generated HTML contacts
no one when opened (vnode_harness.report.html_privacy removes the generator's analytics tag).

History (`--allure-history FILE`, nightly CI): Allure 3 keeps it in one JSON Lines file, one line per
report, named by its `historyPath` setting (there is no history/ directory to copy as with Allure 2, and
3.18.0's `generate` has no option for the path). The generator reads a scratch copy of FILE into the
trend charts and each test's history and appends this report to the copy; FILE is replaced by it only
once the HTML was generated, so a failed generation never loses or half-writes the history.
"""

from __future__ import annotations

import contextlib
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


ALLURE_HISTORY_LIMIT = 100
"""Reports a history file keeps (the oldest dropped first): about three months of nights. A line holds
every test's status, duration, labels and error: ≈ 90 KB for a whole run of this suite, so ≤ 10 MB."""


def allure_config(report_name: str, group_by: Sequence[str], history: Path | None = None) -> dict[str, Any]:
    """The generator's configuration: the awesome report as one self-contained file (it opens from disk),
    its tree grouped by `group_by` labels, and the history file it reads and appends to (none: a report
    without history)."""
    config: dict[str, Any] = {
        "name": report_name,
        "plugins": {"awesome": {"options": {"groupBy": list(group_by), "singleFile": True}}},
    }
    if history is not None:
        config |= {"historyPath": str(history), "historyLimit": ALLURE_HISTORY_LIMIT, "appendHistory": True}
    return config


def generate_html(
    results_dir: Path,
    output_dir: Path,
    report_name: str,
    console: Console,
    group_by: Sequence[str] = ALLURE_TREE,
    *,
    history: Path | None = None,
) -> Path:
    """Generate the HTML report; its tree reads like the catalogue (feature → requirement) by default.

    `history`: an Allure 3 history file (created when missing) whose reports the trend charts show and to
    which this report is added; two runs given the same file take turns."""
    binary = allure_command(console)
    with (
        file_lock(history.with_name(history.name + ".lock")) if history else contextlib.nullcontext(),
        tempfile.TemporaryDirectory(prefix="vnode-allure-") as scratch,
    ):
        working_history = Path(scratch) / "history.jsonl" if history else None
        if history and working_history and history.is_file():
            shutil.copyfile(history, working_history)
        config = Path(scratch) / "allurerc.json"
        config.write_text(json.dumps(allure_config(report_name, group_by, working_history)))
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
            raise AllureUnavailable(
                f"allure generate failed: {(result.stdout + result.stderr).strip()[-800:]}"
            )
        left = make_private(output_dir)
        if left:
            shutil.rmtree(output_dir, ignore_errors=True)
            raise AllureUnavailable(
                f"the generated HTML would contact another host when opened ({'; '.join(left[:3])}): removed"
            )
        if history and working_history:
            _replace_history(working_history, history, console)
    return output_dir / "index.html"


def _last_line(path: Path) -> str | None:
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return None
    return lines[-1] if lines else None


def _replace_history(updated: Path, history: Path, console: Console) -> None:
    """Put the generator's updated history in place of the old one in one step (never half-written).

    The generator only logs a failed append and exits 0, so the copy must end with a line the old
    file does not: this report's. The HTML report stands either way; only the history is left as it was."""
    last = _last_line(updated)
    if last is None or last == _last_line(history):
        console.print(
            f"[yellow]Allure history: the generator did not add this report; {history} unchanged",
            soft_wrap=True,
        )
        return
    history.parent.mkdir(parents=True, exist_ok=True)
    partial = history.with_name(f".{history.name}.{os.getpid()}.partial")
    shutil.copyfile(updated, partial)
    os.replace(partial, history)
    reports = len(updated.read_text().splitlines())
    console.print(
        f"Allure history: {history} ({reports} report(s) in the trend)", highlight=False, soft_wrap=True
    )
