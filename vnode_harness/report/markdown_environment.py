"""The Environment section of the Markdown report: where the result was measured.

The provider's facts and images, and the `fingerprint` (nodes, host, cgroup version, suite checkout),
which every provider records, `existing` included: a reviewer reads on the page what the bundle's
`environment.json` holds, without unpacking it.
"""

from __future__ import annotations

from vnode_harness.report.markdown_table import table
from vnode_harness.report.model import ConformanceReport, Fingerprint


def environment_section(report: ConformanceReport) -> str:
    fingerprint = report.fingerprint
    if not report.environment and not report.images and fingerprint is None:
        return ""
    facts = [[key, value] for key, value in report.environment.items()]
    if fingerprint is not None:
        facts += _fingerprint_facts(fingerprint)
    text = "## Environment\n\n" + table(["Fact", "Value"], facts)
    if fingerprint is not None:
        text += "\n\n### Nodes\n\n" + _nodes(fingerprint)
    if report.images:
        rows = [
            [image.name, image.id.removeprefix("sha256:")[:12], image.stand_in or ""]
            for image in report.images
        ]
        text += "\n\n### Images\n\n" + table(["Image", "ID", "Stand-in for"], rows)
    return text


def _fingerprint_facts(fingerprint: Fingerprint) -> list[list[str]]:
    host = fingerprint.host
    memory = f"{host.memory_bytes / (1 << 30):.1f} GiB" if host.memory_bytes is not None else "unknown"
    return [
        ["Suite checkout", f"`{fingerprint.checkout}`"],
        ["Runner", "a pod in the cluster under test" if fingerprint.runner == "in-cluster" else "host"],
        ["Host", f"{host.distribution}, {host.os} {host.kernel}, {host.architecture}"],
        ["Host size", f"{host.cpus if host.cpus is not None else 'unknown'} CPUs, {memory}"],
        ["Python", host.python],
        ["cgroup version", fingerprint.cgroup_version],
    ]


def _nodes(fingerprint: Fingerprint) -> str:
    if fingerprint.nodes_unread:
        return f"Not read: {fingerprint.nodes_unread}"
    rows = [
        [
            f"`{node.name}`",
            ", ".join(f"{key}={value}" for key, value in sorted(node.labels.items())) or "—",
            node.kubelet_version,
            node.os_image or "—",
            node.kernel_version or "—",
            node.container_runtime_version or "—",
            node.architecture,
        ]
        for node in fingerprint.nodes
    ]
    header = ["Node", "Labels", "Kubelet", "OS image", "Kernel", "Runtime", "Arch"]
    return table(header, rows) if rows else "None listed."
