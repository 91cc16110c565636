"""A sharded run's report: every test names one of the run's shards, and verify checks that it does."""

from __future__ import annotations

from tests.unit.harness.submission import build_report
from vnode_harness.report.content_checks import Suite, check_report
from vnode_harness.report.markdown import render_markdown
from vnode_harness.report.model import ConformanceReport, Shard

SHARDS = [
    Shard(name="shard-1", cluster="vnode-a1", kubernetes_version="v1.35.4"),
    Shard(name="shard-2", cluster="vnode-b2", kubernetes_version="v1.35.4"),
]


def sharded(report: ConformanceReport) -> ConformanceReport:
    tests = [test.model_copy(update={"shard": SHARDS[i % 2].name}) for i, test in enumerate(report.tests)]
    return report.model_copy(update={"tests": tests, "shards": SHARDS})


def test_a_sharded_report_is_consistent_and_shows_each_tests_shard():
    report = sharded(build_report())
    assert check_report(report, Suite.current()) == []
    markdown = render_markdown(report)
    assert (
        "- Shards: 2 clusters at once, each test on one (shard-1 = vnode-a1, shard-2 = vnode-b2)" in markdown
    )


def test_a_test_on_an_unknown_shard_or_a_shard_without_shards_is_a_problem():
    report = sharded(build_report())
    first = report.tests[0]
    moved = report.model_copy(
        update={"tests": [first.model_copy(update={"shard": "shard-9"}), *report.tests[1:]]}
    )
    assert (
        f"tests[{first.nodeid}].shard is 'shard-9', not one of shards ['shard-1', 'shard-2']"
        in check_report(moved, Suite.current())
    )
    unsharded = report.model_copy(update={"shards": []})
    assert any("but the report lists no shards" in p for p in check_report(unsharded, Suite.current()))
    one = report.model_copy(update={"shards": SHARDS[:1]})
    assert "shards lists one shard: a run on one cluster lists none" in check_report(one, Suite.current())
