"""`vnode catalogue`: requirements with the tests that name them, and a preview of a run — no cluster."""

from __future__ import annotations

import pytest

from vnode_harness.cli import catalogue as catalogue_cli
from vnode_harness.cli.main import main
from vnode_harness.formats.catalogue import load_catalogue
from vnode_harness.formats.implementation import load_implementation
from vnode_harness.formats.paths import REPO_ROOT

REPO = REPO_ROOT
REFERENCE = REPO / "implementations" / "reference.yaml"


@pytest.fixture(scope="module")
def tests():
    return catalogue_cli.collect_tests()


def test_collecting_starts_no_cluster(monkeypatch):
    from vnode_harness.lifecycle.run import ConformanceRun

    def refuse(self):
        raise AssertionError("the catalogue browser must not start a cluster")

    monkeypatch.setattr(ConformanceRun, "start", refuse)
    assert catalogue_cli.collect_tests("pod_label_runs")


def test_every_requirement_has_its_tests(tests):
    for requirement in load_catalogue().requirements:
        assert catalogue_cli.tests_of(requirement.id, tests), requirement.id


def test_a_test_lists_its_fixtures_and_the_seed_examples_it_loads(tests):
    (test,) = [t for t in tests if t.nodeid.endswith("test_object_selector_routes_matching_pods")]
    assert "eci_profile" in test.fixtures
    assert "fixtures/profiles/configuration-template.yaml" in test.examples
    assert all((REPO / path).is_file() for t in tests for path in t.examples)


def test_a_test_that_always_skips_is_known(tests):
    (test,) = catalogue_cli.tests_of("EXT-REUSE-SSL-KEY", tests)
    assert test.always_skips is not None
    assert "enableReuseSSLKey" in test.always_skips


def test_the_plan_of_the_reference_implementation(tests):
    catalogue = load_catalogue()
    plans = catalogue_cli.plan(catalogue, load_implementation(REFERENCE), tests, selected=False)
    assert plans["SCHED-POD-LABEL"].status == "certify"
    extended = [plans[r.id] for r in catalogue.requirements_for_feature("extended")]
    assert {entry.status for entry in extended} == {"skip"}
    assert "does not declare feature 'extended'" in extended[0].reason


def test_a_required_feature_not_declared_skips_its_dependants(tests):
    catalogue = load_catalogue()
    reference = load_implementation(REFERENCE)
    without = reference.model_copy(
        update={"features": [f for f in reference.features if f != "selectors-effects"]}
    )
    plans = catalogue_cli.plan(catalogue, without, tests, selected=False)
    hot = catalogue.requirements_for_feature("hot-updates")[0].id
    assert plans[hot].status == "skip"
    assert "requires selectors-effects" in plans[hot].reason


def test_a_deselected_requirement_is_not_run():
    catalogue = load_catalogue()
    selected = catalogue_cli.collect_tests("pod_label_runs_pod_on_virtual_node")
    plans = catalogue_cli.plan(catalogue, load_implementation(REFERENCE), selected, selected=True)
    assert plans["SCHED-POD-LABEL"].status == "certify"
    assert plans["SCHED-NS-LABEL"] == catalogue_cli.Plan("not run", "deselected by -k")


def test_the_list_command(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["catalogue", "--implementation", str(REFERENCE), "--feature", "core-scheduling"]) == 0
    out = capsys.readouterr().out
    assert "SCHED-POD-LABEL" in out
    assert "test_scheduling.py::test_pod_label_runs_pod_on_virtual_node" in out
    assert "certify" in out
    assert "SEL-OBJECT" not in out


def test_the_show_command(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["catalogue", "show", "SEL-OBJECT", "--implementation", str(REFERENCE)]) == 0
    out = capsys.readouterr().out
    requirement = load_catalogue().requirement("SEL-OBJECT")
    assert requirement.source.section in out
    assert "conformance/test_selectors.py::test_object_selector_routes_matching_pods" in out
    assert "fixtures/profiles/configuration-template.yaml" in out
    assert "this run" in out


def test_an_unknown_id_is_named_with_close_matches(capsys):
    assert main(["catalogue", "show", "SCHED-POD-LABLE"]) == 2
    assert "did you mean SCHED-POD-LABEL" in capsys.readouterr().err


def test_a_broken_implementation_file_is_named(tmp_path, capsys):
    broken = tmp_path / "impl.yaml"
    broken.write_text("kind: Implementation\n")
    assert main(["catalogue", "--implementation", str(broken)]) == 2
    assert "impl.yaml" in capsys.readouterr().err
