"""Write allure's run-level files: environment.properties, categories.json, executor.json.

allure-pytest writes one result file per test; what describes the run as a whole (which implementation,
which cluster, how to read the statuses) must be written once, by the xdist controller or the single
process -- never by the workers, which would race on the same files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vnode_harness.formats.implementation import Implementation
from vnode_harness.report.model import RunInfo

CATEGORIES: list[dict[str, Any]] = [
    {
        "name": "Implementation does not conform",
        "matchedStatuses": ["failed"],
    },
    {
        "name": "Suite or cluster broke",
        "matchedStatuses": ["broken"],
    },
    {
        "name": "Not supported by the implementation",
        "matchedStatuses": ["skipped"],
    },
]
"""allure-pytest marks AssertionError (and pytest.fail) as failed and every other exception as broken;
these categories name what each status means for a conformance run."""


@dataclass(frozen=True)
class ExecutorInfo:
    """Who ran the suite, for allure's executor.json (the "Executors" widget)."""

    name: str
    type: str
    build_name: str | None = None
    build_url: str | None = None
    build_order: int | None = None

    def to_json_dict(self) -> dict[str, Any]:
        fields = {
            "name": self.name,
            "type": self.type,
            "buildName": self.build_name,
            "buildUrl": self.build_url,
            "buildOrder": self.build_order,
        }
        return {key: value for key, value in fields.items() if value is not None}


def executor_from_environment(env: Mapping[str, str]) -> ExecutorInfo:
    """Describe the CI job when run under GitHub Actions, else a local run."""
    if env.get("GITHUB_ACTIONS") == "true":
        server, repository, run_id = (
            env.get(k, "") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
        )
        run_number = env.get("GITHUB_RUN_NUMBER", "")
        return ExecutorInfo(
            name="GitHub Actions",
            type="github",
            build_name=f"{env.get('GITHUB_WORKFLOW', 'conformance')} #{run_number}".strip(" #"),
            build_url=f"{server}/{repository}/actions/runs/{run_id}"
            if server and repository and run_id
            else None,
            build_order=int(run_number) if run_number.isdigit() else None,
        )
    return ExecutorInfo(name="vnode conformance (local run)", type="local")


def environment_properties(implementation: Implementation, run: RunInfo) -> dict[str, str]:
    """The key/value pairs shown in allure's "Environment" widget."""
    metadata = implementation.metadata
    properties = {
        "Implementation": f"{metadata.organization} {metadata.project} {metadata.version}",
        "Implementation.URL": metadata.url,
        "Implementation.Features": ", ".join(implementation.declared_features),
        "Suite.Version": run.suite_version,
        "Run.Mode": run.mode,
        "Cluster.Provider": run.cluster_provider,
        "Kubernetes.Version": run.kubernetes_version,
        "Command": run.command,
    }
    for name, seconds in implementation.limits.model_dump().items():
        properties[f"Limit.{name}"] = str(seconds)
    return properties


def write_allure_environment(
    results_dir: Path,
    implementation: Implementation,
    run: RunInfo,
    executor: ExecutorInfo,
) -> list[Path]:
    """Write the three run-level files into `results_dir` (created if missing); return their paths."""
    results_dir.mkdir(parents=True, exist_ok=True)
    environment = results_dir / "environment.properties"
    environment.write_text(render_properties(environment_properties(implementation, run)), encoding="utf-8")
    categories = results_dir / "categories.json"
    categories.write_text(json.dumps(CATEGORIES, indent=2) + "\n", encoding="utf-8")
    executor_file = results_dir / "executor.json"
    executor_file.write_text(json.dumps(executor.to_json_dict(), indent=2) + "\n", encoding="utf-8")
    return [environment, categories, executor_file]


def render_properties(properties: Mapping[str, str]) -> str:
    """Java .properties text, escaped so that values with `=`, `:`, `\\` or newlines survive."""
    return "".join(
        f"{_escape(key, is_key=True)}={_escape(value, is_key=False)}\n" for key, value in properties.items()
    )


def _escape(text: str, *, is_key: bool) -> str:
    escaped = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    if is_key:
        for character in (" ", "=", ":", "#", "!"):
            escaped = escaped.replace(character, "\\" + character)
    elif escaped.startswith(" "):
        escaped = "\\" + escaped
    return escaped
