"""The conformance report: its model and JSON schema, the result rules, and the writers.

`collector.ResultCollector` gathers outcomes during a run and builds the `model.ConformanceReport`;
`markdown.render_markdown` renders it for people; `allure_env.write_allure_environment` writes allure's
run-level files. The rules that turn outcomes into verdicts are in `rules`.
"""

from vnode_harness.report.collector import ResultCollector, classify_phase
from vnode_harness.report.markdown import render_markdown
from vnode_harness.report.model import REPORT_SCHEMA_VERSION, ConformanceReport, RunInfo

__all__ = [
    "REPORT_SCHEMA_VERSION",
    "ConformanceReport",
    "ResultCollector",
    "RunInfo",
    "classify_phase",
    "render_markdown",
]
