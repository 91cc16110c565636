"""The catalogue loads, rejects inconsistent files with clear messages, and the coverage check works."""

from __future__ import annotations

import pytest

from tests.unit.harness.builders import catalogue_data, requirement_entry, write_yaml
from vnode_harness.formats.catalogue import (
    DEFAULT_CATALOGUE_PATH,
    FEATURE_IDS,
    Catalogue,
    check_coverage,
    load_catalogue,
)
from vnode_harness.formats.yaml_files import ModelFileError

# The ids of the shared requirement list (notes/behaviors.md), copied here because that list lives
# outside the repository: the real catalogue must keep every one of them.
BEHAVIOR_IDS = [
    "SCHED-POD-LABEL", "SCHED-POD-SELECTIVE", "SCHED-NS-LABEL", "SCHED-NS-NEW-PODS-ONLY", "SCHED-NOT-TRUE",
    "SEL-OBJECT", "SEL-NAMESPACE", "SEL-AND-BOTH", "SEL-AND-LABELS", "SEL-WEBHOOK-VISIBLE",
    "SEL-INVALID-JSON",
    "EFF-ANNOTATIONS", "EFF-LABELS", "EFF-NO-OVERWRITE", "EFF-ORDER", "EFF-GLOBAL", "EFF-ECI-ONLY",
    "HOT-SELECTORS", "HOT-PARAMS-NEW-PODS", "HOT-PARAMS-EXISTING", "PARAM-DEFAULTS", "PARAM-VALIDATION",
    "WFFC-ON-DEFERS", "WFFC-ON-ZONE", "WFFC-OFF-IMMEDIATE",
    "MESH-POD-LABEL", "MESH-NS-LABEL", "MESH-NO-INJECTION",
]  # fmt: skip
EXTENDED_IDS = ["EXT-REUSE-SSL-KEY", "EXT-ARM64-NODE", "EXT-NODE-PER-ZONE"]
# Statements the issue "Verdicts to trust" asked to catalogue or scope out, and the open case it named.
SCOPED_OUT_IDS = [
    "ACK-SERVERLESS", "ASM-DATA-PLANE", "HOT-UPDATE-CLOUD-PARAMETERS", "PARAM-PVC-CONTROLLER",
    "PARAM-LOG-CONTROLLER", "SELECTOR-AT-LEAST-ONE",
]  # fmt: skip
UNSPECIFIED_IDS = ["ECI-FALSE-POD-IN-ECI-NAMESPACE"]


def scope_entry(entry_id: str, **overrides):
    entry = {
        "id": entry_id,
        "source": {"document": "002_defe58e5e33e4986", "section": "Selector fields", "quote": "a quote"},
        "reason": "not-observable",
        "explanation": "why",
    }
    entry.update(overrides)
    return entry


def open_case(entry_id: str, **overrides):
    entry = {"id": entry_id, "case": "a case", "explanation": "what is not said"}
    entry.update(overrides)
    return entry


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue.model_validate(catalogue_data(requirements_per_feature=2))


def load_error(tmp_path, data) -> str:
    path = write_yaml(tmp_path / "catalogue.yaml", data)
    with pytest.raises(ModelFileError) as raised:
        load_catalogue(path)
    return str(raised.value)


class TestRealCatalogue:
    def test_loads_with_every_documented_behavior(self):
        catalogue = load_catalogue()
        missing = [i for i in BEHAVIOR_IDS + EXTENDED_IDS if not catalogue.has_requirement(i)]
        assert missing == []

    def test_extended_requirements_are_the_extended_feature(self):
        catalogue = load_catalogue()
        extended = [requirement.id for requirement in catalogue.requirements_for_feature("extended")]
        assert extended == EXTENDED_IDS

    def test_every_feature_has_requirements_and_only_core_is_mandatory(self):
        catalogue = load_catalogue()
        assert [feature.id for feature in catalogue.features] == list(FEATURE_IDS)
        assert [feature.id for feature in catalogue.features if not feature.optional] == ["core-scheduling"]
        assert all(catalogue.requirements_for_feature(feature) for feature in FEATURE_IDS)

    def test_scope_names_what_the_suite_does_not_certify(self):
        scope = load_catalogue().scope
        assert [i for i in SCOPED_OUT_IDS if i not in {e.id for e in scope.out_of_scope}] == []
        assert [i for i in UNSPECIFIED_IDS if i not in {e.id for e in scope.unspecified}] == []

    def test_default_path_is_the_checkout_catalogue(self):
        assert DEFAULT_CATALOGUE_PATH.parts[-2:] == ("conformance", "catalogue.yaml")


class TestLookup:
    def test_requirement_by_id(self, catalogue):
        assert catalogue.requirement("F0-R2").feature == "core-scheduling"

    def test_unknown_requirement_suggests_close_ids(self, catalogue):
        with pytest.raises(KeyError, match=r"unknown requirement id 'F0-R3'; did you mean F0-R2"):
            catalogue.requirement("F0-R3")

    def test_requirements_for_feature_in_catalogue_order(self, catalogue):
        assert [r.id for r in catalogue.requirements_for_feature("storage")] == ["F3-R1", "F3-R2"]

    def test_unknown_feature_lists_valid_ones(self, catalogue):
        with pytest.raises(KeyError, match="unknown feature 'gpu'; valid features: core-scheduling"):
            catalogue.requirements_for_feature("gpu")


class TestLoadingErrors:
    def test_message_names_file_requirement_and_field(self, tmp_path):
        data = catalogue_data()
        data["requirements"][1]["severity"] = "huge"
        message = load_error(tmp_path, data)
        assert str(tmp_path / "catalogue.yaml") in message
        assert "requirements[1](F1-R1).severity" in message
        assert "'huge'" in message

    def test_statement_without_must(self, tmp_path):
        data = catalogue_data()
        data["requirements"][0]["statement"] = "Pods run on virtual nodes."
        assert "requirements[0](F0-R1).statement: a statement must state the rule with MUST" in load_error(
            tmp_path, data
        )

    def test_a_list_of_tests_is_not_part_of_the_format(self, tmp_path):
        """Tests name their requirements with markers; a hand-kept list could only disagree with them."""
        data = catalogue_data()
        data["requirements"][0]["tests"] = ["conformance/test_x.py::test_y"]
        assert "requirements[0](F0-R1).tests" in load_error(tmp_path, data)

    def test_duplicate_requirement_id(self, tmp_path):
        data = catalogue_data()
        data["requirements"].append(requirement_entry("F0-R1", "mesh"))
        assert "requirement id F0-R1 appears more than once" in load_error(tmp_path, data)

    def test_unknown_feature_of_a_requirement(self, tmp_path):
        data = catalogue_data()
        data["requirements"][0]["feature"] = "gpu"
        assert "requirements[0](F0-R1).feature" in load_error(tmp_path, data)

    def test_missing_feature(self, tmp_path):
        data = catalogue_data()
        data["features"] = data["features"][:-1]
        assert "features must be exactly core-scheduling" in load_error(tmp_path, data)

    def test_core_scheduling_cannot_be_optional(self, tmp_path):
        data = catalogue_data()
        data["features"][0]["optional"] = True
        assert "feature core-scheduling: optional must be false" in load_error(tmp_path, data)

    def test_feature_without_requirements(self, tmp_path):
        data = catalogue_data()
        data["requirements"] = [r for r in data["requirements"] if r["feature"] != "mesh"]
        assert "features without requirements: mesh" in load_error(tmp_path, data)

    def test_bad_requirement_id_and_unknown_document(self, tmp_path):
        data = catalogue_data()
        data["requirements"][0]["id"] = "sched pod"
        data["requirements"][0]["source"]["document"] = "003_unknown"
        message = load_error(tmp_path, data)
        assert "requirements[0](sched pod).id" in message
        assert "requirements[0](sched pod).source.document" in message

    def test_missing_field_and_unknown_field(self, tmp_path):
        data = catalogue_data()
        del data["requirements"][0]["severity"]
        data["requirements"][0]["owner"] = "me"
        message = load_error(tmp_path, data)
        assert "requirements[0](F0-R1).severity: required field is missing" in message
        assert "requirements[0](F0-R1).owner: unknown field" in message

    def test_wrong_schema_version(self, tmp_path):
        data = catalogue_data()
        data["schemaVersion"] = 2
        assert "schemaVersion: Input should be 1" in load_error(tmp_path, data)

    def test_duplicate_yaml_key(self, tmp_path):
        path = tmp_path / "catalogue.yaml"
        path.write_text("schemaVersion: 1\nschemaVersion: 1\n", encoding="utf-8")
        with pytest.raises(ModelFileError, match="not valid YAML: duplicate key 'schemaVersion'"):
            load_catalogue(path)

    def test_missing_file(self, tmp_path):
        with pytest.raises(ModelFileError, match="catalogue not found"):
            load_catalogue(tmp_path / "nope.yaml")


class TestScope:
    def test_a_catalogue_without_scope_has_an_empty_one(self, catalogue):
        assert catalogue.scope.out_of_scope == []
        assert catalogue.scope.unspecified == []

    def test_entries_load_and_their_quotes_are_listed_with_the_requirements(self):
        data = catalogue_data()
        data["scope"] = {
            "outOfScope": [scope_entry("OUT-A", related=["F0-R1"])],
            "unspecified": [
                open_case("OPEN-A"),
                open_case(
                    "OPEN-B", source={"document": "000_79a2fc8511f6d768", "section": "S", "quote": "q"}
                ),
            ],
        }
        catalogue = Catalogue.model_validate(data)
        assert catalogue.scope.out_of_scope[0].reason == "not-observable"
        ids = [entry_id for entry_id, _ in catalogue.quoted_sources()]
        assert ids == [*catalogue.requirement_ids, "OUT-A", "OPEN-B"]  # OPEN-A has no source

    def test_unknown_reason(self, tmp_path):
        data = catalogue_data()
        data["scope"] = {"outOfScope": [scope_entry("OUT-A", reason="too-hard")]}
        assert "scope.outOfScope[0](OUT-A).reason" in load_error(tmp_path, data)

    def test_an_out_of_scope_statement_needs_its_source(self, tmp_path):
        data = catalogue_data()
        entry = scope_entry("OUT-A")
        del entry["source"]
        data["scope"] = {"outOfScope": [entry]}
        assert "scope.outOfScope[0](OUT-A).source: required field is missing" in load_error(tmp_path, data)

    def test_ids_are_unique_across_requirements_and_scope(self, tmp_path):
        data = catalogue_data()
        data["scope"] = {"unspecified": [open_case("F0-R1")]}
        assert "scope entry id F0-R1 appears more than once or is a requirement id" in load_error(
            tmp_path, data
        )

    def test_related_must_name_requirements(self, tmp_path):
        data = catalogue_data()
        data["scope"] = {"outOfScope": [scope_entry("OUT-A", related=["F0-R9"])]}
        assert "scope entry OUT-A: related names unknown requirements ['F0-R9']" in load_error(tmp_path, data)


class TestCoverage:
    def test_complete_coverage_has_no_problems(self, catalogue):
        tests = {f"t::{r.id}": [r.id] for r in catalogue.requirements}
        assert check_coverage(catalogue, tests) == []

    def test_one_test_may_cover_several_requirements(self, catalogue):
        tests = {"t::all": catalogue.requirement_ids}
        assert check_coverage(catalogue, tests) == []

    def test_requirement_without_test(self, catalogue):
        tests = {f"t::{r}": [r] for r in catalogue.requirement_ids if r != "F2-R1"}
        assert check_coverage(catalogue, tests) == ["F2-R1: no test certifies this requirement (hot-updates)"]

    def test_test_without_requirement(self, catalogue):
        tests = {"t::all": catalogue.requirement_ids, "t::nothing": []}
        assert check_coverage(catalogue, tests) == [
            "t::nothing: names no requirement; add @pytest.mark.requirement(<id>, ...)"
        ]

    def test_unknown_requirement(self, catalogue):
        tests = {"t::all": catalogue.requirement_ids, "t::typo": ["F1-R9"]}
        problems = check_coverage(catalogue, tests)
        assert len(problems) == 1
        assert problems[0].startswith("t::typo: unknown requirement id 'F1-R9'; did you mean F1-R")

    def test_problems_are_ordered_tests_first(self, catalogue):
        tests = {"t::b": ["NOPE-X"], "t::a": []}
        problems = check_coverage(catalogue, tests)
        assert problems[0].startswith("t::a:")
        assert problems[1].startswith("t::b:")
        assert problems[2].startswith("F0-R1:")
        assert len(problems) == 2 + len(catalogue.requirements)
