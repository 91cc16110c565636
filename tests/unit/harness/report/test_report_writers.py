"""The report writers: Markdown, allure's run-level files, and the committed JSON schema."""

from __future__ import annotations

import json

import pytest

from tests.unit.harness.builders import catalogue_data, implementation, run_info
from vnode_harness.formats.catalogue import Catalogue
from vnode_harness.report.allure_env import (
    CATEGORIES,
    ExecutorInfo,
    executor_from_environment,
    render_properties,
    write_allure_environment,
)
from vnode_harness.report.collector import ResultCollector
from vnode_harness.report.markdown import render_markdown
from vnode_harness.report.model import ConformanceReport
from vnode_harness.report.schema import SCHEMA_PATH, main, render_report_schema

DECLARED = ["core-scheduling", "selectors-effects", "hot-updates", "storage", "mesh"]
RUN = run_info(cluster_provider="kind", command="vnode run --provider kind --implementation impl.yaml")


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue.model_validate(catalogue_data(requirements_per_feature=2))


@pytest.fixture
def report(catalogue) -> ConformanceReport:
    collector = ResultCollector(catalogue)
    for requirement in catalogue.requirements:
        nodeid = f"conformance/test_{requirement.feature}.py::test_{requirement.id}"
        if requirement.id == "F3-R2":
            collector.record(
                nodeid, [requirement.id], "failed", 2.0, "AssertionError: PV in zone i, expected j"
            )
        elif requirement.id == "F4-R1":
            collector.record(nodeid, [requirement.id], "broken", 2.0, "error in setup: ApiException | 503")
        elif requirement.feature == "extended":
            collector.record(nodeid, [requirement.id], "skipped", 0.0, "extended is not declared")
        elif requirement.id != "F1-R2":
            collector.record(nodeid, [requirement.id], "passed", 1.0)
    return collector.build_report(implementation(DECLARED), RUN)


class TestMarkdown:
    def test_heading_and_summary(self, report):
        page = render_markdown(report)
        assert page.startswith("# Conformance report: acme-vnode 1.2.3\n")
        assert (
            "**Overall result: FAILURE** (full run): 1 requirement failed, 1 broken by the environment\n"
        ) in page
        assert "- Cluster: kind, Kubernetes v1.35.0" in page
        assert "- Date: 2026-11-22T08:00:00Z" in page
        assert "- Tests: 7 passed, 1 failed, 1 broken, 2 skipped" in page

    def test_feature_table_counts_requirements_with_tests_beside(self, report):
        page = render_markdown(report)
        assert (
            "| Feature | Declared | Requires | Result | Requirements | Passed | Failed | Broken | Skipped "
            "| Not tested | Tests |"
        ) in page
        assert "| `core-scheduling` | yes | — | success | 2 | 2 | 0 | 0 | 0 | 0 | 2 |" in page
        assert "| `selectors-effects` | yes | — | partial | 2 | 1 | 0 | 0 | 0 | 1 | 1 |" in page
        assert "| `storage` | yes | — | failure | 2 | 1 | 1 | 0 | 0 | 0 | 2 |" in page
        assert "| `mesh` | yes | — | failure | 2 | 1 | 0 | 1 | 0 | 0 | 2 |" in page
        assert "| `extended` | no | — | not claimed | 2 | 0 | 0 | 0 | 2 | 0 | 2 |" in page

    def test_many_tests_of_one_requirement_count_once(self, catalogue):
        collector = ResultCollector(catalogue)
        for requirement in catalogue.requirements:
            for case in range(4):
                collector.record(f"t::{requirement.id}[{case}]", [requirement.id], "passed", 1.0)
        page = render_markdown(collector.build_report(implementation(catalogue_features(catalogue)), RUN))
        assert "| `core-scheduling` | yes | — | success | 2 | 2 | 0 | 0 | 0 | 0 | 8 |" in page

    def test_every_requirement_with_its_verdict_and_tests_in_catalogue_order(self, report, catalogue):
        page = render_markdown(report)
        section = page.split("## Requirements\n\n", 1)[1].split("\n## ", 1)[0]
        rows = [line for line in section.splitlines() if line.startswith("| `F")]
        assert [row.split("`")[1] for row in rows] == catalogue.requirement_ids
        assert (
            "| `F0-R1` | core-scheduling | normal | passed "
            "| `conformance/test_core-scheduling.py::test_F0-R1` |"
        ) in page
        assert "| `F1-R2` | selectors-effects | normal | not tested | — |" in page
        assert "| `F4-R1` | mesh | normal | broken | `conformance/test_mesh.py::test_F4-R1` |" in page
        assert (
            "| `F5-R1` | extended | normal | skipped (not claimed) "
            "| `conformance/test_extended.py::test_F5-R1` |"
        ) in page

    def test_failed_requirements_with_reasons_and_escaped_pipes(self, report):
        page = render_markdown(report)
        assert (
            "| `F3-R2` | storage | normal | `conformance/test_storage.py::test_F3-R2` | failed "
            "| AssertionError: PV in zone i, expected j |"
        ) in page
        assert "| broken | error in setup: ApiException \\| 503 |" in page

    def test_skipped_and_not_tested(self, report):
        page = render_markdown(report)
        assert (
            "| `F5-R1` | extended | normal | `conformance/test_extended.py::test_F5-R1` "
            "| extended is not declared |" in page
        )
        assert "## Requirements not tested in this run\n\n- `F1-R2` (selectors-effects)" in page

    def test_statements_from_the_catalogue(self, report, catalogue):
        page = render_markdown(report, catalogue)
        assert "| `F3-R2`<br>The implementation MUST do F3-R2. | storage |" in page
        assert "- `F1-R2` (selectors-effects): The implementation MUST do F1-R2." in page

    def test_what_the_suite_does_not_certify_from_the_catalogue(self, report):
        data = catalogue_data(requirements_per_feature=2)
        data["scope"] = {
            "outOfScope": [
                {
                    "id": "OUT-A",
                    "source": {
                        "document": "002_defe58e5e33e4986",
                        "section": "S",
                        "quote": "Logs | go to SLS.",
                    },
                    "reason": "not-observable",
                    "explanation": "Outside the cluster.",
                }
            ],
            "unspecified": [{"id": "OPEN-A", "case": "A pod labelled false.", "explanation": "Not said."}],
        }
        page = render_markdown(report, Catalogue.model_validate(data))
        assert (
            "## Not certified by this suite\n\n"
            "Statements of the documents that no requirement certifies, and why "
            "(`conformance/catalogue.yaml`, `scope`). This report says nothing about them.\n\n"
            "- `OUT-A` (not observable through the Kubernetes API): “Logs \\| go to SLS.” — "
            "Outside the cluster."
        ) in page
        assert "### Left open by the documents\n\nNo outcome of these cases is certified.\n\n" in page
        assert "- `OPEN-A`: A pod labelled false. Not said." in page
        assert "Not certified by this suite" not in render_markdown(report)

    def test_implementation_limits_and_reproduce(self, report):
        page = render_markdown(report)
        assert "| URL | https://acme.example/vnode |" in page
        assert (
            "| Declared features | core-scheduling, selectors-effects, hot-updates, storage, mesh |" in page
        )
        assert "| Pod reaches Running | 60 s |" in page
        assert "| What must stay so is watched for (hold window) | 10 s |" in page
        assert page.endswith(
            "## Reproduce\n\n```sh\nvnode run --provider kind --implementation impl.yaml\n```\n"
        )

    def test_clean_run_says_none(self, catalogue):
        collector = ResultCollector(catalogue)
        for requirement in catalogue.requirements:
            collector.record(f"t::{requirement.id}", [requirement.id], "passed", 1.0)
        page = render_markdown(
            collector.build_report(implementation(list(catalogue_features(catalogue))), RUN)
        )
        assert (
            "**Overall result: SUCCESS** (full run): all 12 requirements of 6 declared features passed"
            in page
        )
        assert "## Failed requirements\n\nNone." in page
        assert "## Skipped requirements\n\nA skipped requirement is not certified.\n\nNone." in page
        assert "not tested in this run" not in page


def catalogue_features(catalogue: Catalogue) -> list[str]:
    return [feature.id for feature in catalogue.features]


class TestAllureEnvironment:
    def test_writes_three_files(self, tmp_path):
        results = tmp_path / "allure-results"
        written = write_allure_environment(
            results, implementation(DECLARED), RUN, ExecutorInfo("ci", "local")
        )
        assert sorted(path.name for path in written) == [
            "categories.json",
            "environment.properties",
            "executor.json",
        ]

        properties = (results / "environment.properties").read_text(encoding="utf-8").splitlines()
        assert "Implementation=Acme acme-vnode 1.2.3" in properties
        assert (
            "Implementation.Features=core-scheduling, selectors-effects, hot-updates, storage, mesh"
            in properties
        )
        assert "Cluster.Provider=kind" in properties
        assert "Kubernetes.Version=v1.35.0" in properties
        assert "Run.Mode=full" in properties
        assert "Limit.podRunningSeconds=60" in properties

        categories = json.loads((results / "categories.json").read_text(encoding="utf-8"))
        assert categories == CATEGORIES
        assert [(c["name"], c["matchedStatuses"]) for c in categories] == [
            ("Implementation does not conform", ["failed"]),
            ("Suite or cluster broke", ["broken"]),
            ("Not supported by the implementation", ["skipped"]),
        ]
        assert json.loads((results / "executor.json").read_text(encoding="utf-8")) == {
            "name": "ci",
            "type": "local",
        }

    def test_properties_escaping(self):
        text = render_properties({"a key": "line1\nline2", "path": "C:\\dir", "lead": " x"})
        assert text == "a\\ key=line1\\nline2\npath=C:\\\\dir\nlead=\\ x\n"

    def test_executor_under_github_actions(self):
        executor = executor_from_environment(
            {
                "GITHUB_ACTIONS": "true",
                "GITHUB_SERVER_URL": "https://forge.example",
                "GITHUB_REPOSITORY": "acme/vnode",
                "GITHUB_RUN_ID": "42",
                "GITHUB_RUN_NUMBER": "7",
                "GITHUB_WORKFLOW": "conformance",
            }
        )
        assert executor.to_json_dict() == {
            "name": "GitHub Actions",
            "type": "github",
            "buildName": "conformance #7",
            "buildUrl": "https://forge.example/acme/vnode/actions/runs/42",
            "buildOrder": 7,
        }

    def test_executor_locally(self):
        assert executor_from_environment({}).type == "local"


class TestSchema:
    def test_committed_schema_is_up_to_date(self):
        assert SCHEMA_PATH.read_text(encoding="utf-8") == render_report_schema(), (
            "docs/conformance-report.schema.json is stale; run: python -m vnode_harness.report.schema"
        )

    def test_check_mode(self, tmp_path):
        stale = tmp_path / "schema.json"
        stale.write_text("{}\n", encoding="utf-8")
        assert main(["--check", "--output", str(stale)]) == 1
        assert main(["--output", str(stale)]) == 0
        assert main(["--check", "--output", str(stale)]) == 0

    def test_a_report_validates_against_its_own_schema_shape(self, report):
        schema = json.loads(render_report_schema())
        dumped = json.loads(report.to_json())
        assert set(schema["required"]) == set(dumped)
        assert schema["properties"]["apiVersion"]["const"] == "conformance.vnode.dev/v1"
        assert schema["$defs"]["FeatureSummary"]["properties"]["result"]["enum"] == [
            "success",
            "partial",
            "failure",
            "not-tested",
            "not-claimed",
        ]
        assert schema["properties"]["result"]["enum"] == ["success", "partial", "failure", "not-tested"]
