"""The Markdown's Environment section shows the fingerprint for every provider, `existing` included."""

from __future__ import annotations

from tests.unit.harness.builders import implementation, run_info
from tests.unit.harness.submission import FINGERPRINT
from vnode_harness.formats.catalogue import load_catalogue
from vnode_harness.report.collector import ResultCollector
from vnode_harness.report.markdown import render_markdown
from vnode_harness.report.model import Fingerprint


def page(fingerprint: Fingerprint | None, **run: object) -> str:
    report = ResultCollector(load_catalogue()).build_report(
        implementation(["core-scheduling"]),
        run_info(cluster_provider="existing", fingerprint=fingerprint, **run),
    )
    return render_markdown(report)


def test_an_existing_cluster_shows_its_nodes_host_and_checkout():
    text = page(FINGERPRINT)
    assert "## Environment\n\n| Fact | Value |\n|---|---|\n" in text
    assert "| Suite checkout | `0123456789abcdef0123456789abcdef01234567` |" in text
    assert "| Host | Debian GNU/Linux 12 (bookworm), Linux 6.1, x86_64 |" in text
    assert "| Host size | 2 CPUs, 8.0 GiB |" in text
    assert "| cgroup version | v2 |" in text
    assert (
        "### Nodes\n\n| Node | Labels | Kubelet | OS image | Kernel | Runtime | Arch |\n"
        "|---|---|---|---|---|---|---|\n"
        "| `virtual-kubelet-cn-hangzhou-i` | type=virtual-kubelet | v1.31.4-vk | — | — | — | amd64 |"
    ) in text


def test_the_provider_facts_come_first():
    text = page(FINGERPRINT, environment={"kwok": "v0.8.0"})
    assert "|---|---|\n| kwok | v0.8.0 |\n| Suite checkout |" in text


def test_nodes_not_read_say_why():
    unread = FINGERPRINT.model_copy(update={"nodes": [], "nodes_unread": "no cluster (the run ended early)"})
    assert "### Nodes\n\nNot read: no cluster (the run ended early)" in page(unread)


def test_a_report_of_an_older_suite_without_facts_has_no_section():
    assert "## Environment" not in page(None)
