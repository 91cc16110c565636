import yaml

from tests.unit.harness.builders import run_info
from vnode_harness.cli.main import main
from vnode_harness.formats.catalogue import load_catalogue
from vnode_harness.formats.implementation import load_implementation
from vnode_harness.formats.paths import REPO_ROOT
from vnode_harness.report.collector import ResultCollector

REPO = REPO_ROOT


def test_report_render_turns_a_written_report_into_markdown(tmp_path, capsys):
    collector = ResultCollector(load_catalogue())
    collector.record(
        "conformance/test_scheduling.py::t", ["SCHED-POD-LABEL"], "failed", 1.0, "AssertionError: x"
    )
    report = collector.build_report(
        load_implementation(REPO / "implementations" / "reference.yaml"),
        run_info(suite_version="0", kubernetes_version="v1", mode="focused", command="pytest"),
    )
    path = tmp_path / "conformance-report.yaml"
    path.write_text(yaml.safe_dump(report.model_dump(mode="json", by_alias=True)))
    assert main(["report", "render", str(path)]) == 0
    out = capsys.readouterr().out
    assert "SCHED-POD-LABEL" in out
    assert "FAILURE" in out


def test_report_render_rejects_other_files(tmp_path):
    other = tmp_path / "x.yaml"
    other.write_text("a: 1\n")
    assert main(["report", "render", str(other)]) == 2
