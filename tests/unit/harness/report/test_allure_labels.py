"""The Allure results read like the catalogue: feature → requirement, readable titles, the quote."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from vnode_harness.formats.catalogue import load_catalogue
from vnode_harness.report import allure_labels

TITLE = "__allure_display_name__"
"""Where `@allure.title` keeps a test's title: an attribute of the test function."""


class _Item:
    """What label_item reads of a pytest item, recording the markers it gets."""

    def __init__(self, function, name: str, callspec=None) -> None:
        self.obj, self.originalname, self.name = function, function.__name__, name
        if callspec is not None:
            self.callspec = callspec
        self.markers: list[Any] = []

    def add_marker(self, marker) -> None:
        self.markers.append(marker.mark)

    def labels(self, label_type: str) -> list[str]:
        return [
            m.args[0]
            for m in self.markers
            if m.name == "allure_label" and m.kwargs["label_type"] == label_type
        ]

    def description(self) -> str:
        (description,) = [m.args[0] for m in self.markers if m.name == "allure_description"]
        return description


def pod_label_runs_pod_on_virtual_node():
    """Creates one labelled pod."""


def pod_label_other_than_true(value):
    pass


def test_results_are_grouped_by_feature_then_requirement():
    catalogue = load_catalogue()
    item = _Item(pod_label_runs_pod_on_virtual_node, "pod_label_runs_pod_on_virtual_node")
    allure_labels.label_item(catalogue, item, ["SCHED-POD-LABEL"])  # type: ignore[arg-type]
    requirement = catalogue.requirement("SCHED-POD-LABEL")
    feature = catalogue.feature("core-scheduling")
    assert item.labels("epic") == [f"{feature.title} (core-scheduling)"]
    assert item.labels("feature") == [f"SCHED-POD-LABEL: {requirement.statement}"]
    assert item.labels("severity") == [requirement.severity]
    assert allure_labels.ALLURE_TREE == ("epic", "feature")


def test_titles_are_sentences_with_the_parameters():
    catalogue = load_catalogue()
    item = _Item(pod_label_runs_pod_on_virtual_node, "pod_label_runs_pod_on_virtual_node")
    allure_labels.label_item(catalogue, item, [])  # type: ignore[arg-type]
    assert vars(pod_label_runs_pod_on_virtual_node)[TITLE] == "Pod label runs pod on virtual node"
    parametrized = _Item(pod_label_other_than_true, "x[True]", callspec=SimpleNamespace(id="True"))
    allure_labels.label_item(catalogue, parametrized, [])  # type: ignore[arg-type]
    assert vars(pod_label_other_than_true)[TITLE] == "Pod label other than true [{param_id}]"


def test_the_description_quotes_the_document_and_names_its_section():
    catalogue = load_catalogue()
    item = _Item(pod_label_runs_pod_on_virtual_node, "pod_label_runs_pod_on_virtual_node")
    allure_labels.label_item(catalogue, item, ["SEL-OBJECT"])  # type: ignore[arg-type]
    source = catalogue.requirement("SEL-OBJECT").source
    description = item.description()
    assert f"> {' '.join(source.quote.split())}" in description
    assert f"section “{source.section}”" in description
    assert "ack-virtual-node: Configure an ECI profile" in description
    assert description.endswith("**How the test checks it:** Creates one labelled pod.")


def test_unknown_requirement_ids_are_left_to_the_coverage_check():
    item = _Item(pod_label_runs_pod_on_virtual_node, "t")
    allure_labels.label_item(load_catalogue(), item, ["NOPE-NOPE"])  # type: ignore[arg-type]
    assert item.markers == []


def test_the_html_generator_is_told_to_group_by_those_labels():
    from vnode_harness.report.allure_html import allure_config

    config = allure_config("acme conformance", allure_labels.ALLURE_TREE)
    assert config["plugins"]["awesome"]["options"]["groupBy"] == ["epic", "feature"]
