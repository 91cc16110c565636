"""A realistic submission for the verify tests: a report on the real catalogue, its JUnit XML and its
evidence bundle, as a run writes them (every requirement tested once; `extended` not declared)."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import yaml

from tests.unit.harness.builders import run_info
from vnode_harness.formats.catalogue import catalogue_digest, load_catalogue
from vnode_harness.formats.implementation import Implementation, load_implementation
from vnode_harness.formats.paths import REPO_ROOT
from vnode_harness.report.bundle import render_manifest, sha256_hex
from vnode_harness.report.collector import ResultCollector
from vnode_harness.report.junit import junit_key
from vnode_harness.report.model import ConformanceReport, Fingerprint, HostFacts, NodeFacts
from vnode_harness.report.writer import WrittenRun

REPO = REPO_ROOT
REFERENCE = REPO / "implementations" / "reference.yaml"
_JUNIT_CHILD = {"failed": "<failure message='x'/>", "broken": "<error message='x'/>", "skipped": "<skipped/>"}


FINGERPRINT = Fingerprint(
    nodes=[
        NodeFacts(name="virtual-kubelet-cn-hangzhou-i", labels={"type": "virtual-kubelet"},
                  kubelet_version="v1.31.4-vk", os_image="", kernel_version="", container_runtime_version="",
                  architecture="amd64")
    ],
    cgroup_version="v2",
    host=HostFacts(os="Linux", kernel="6.1", distribution="Debian GNU/Linux 12 (bookworm)",
                   architecture="x86_64", cpus=2, memory_bytes=8 << 30, python="3.11.7"),
    checkout="0123456789abcdef0123456789abcdef01234567",
)  # fmt: skip


def nodeid_for(requirement_id: str) -> str:
    module = requirement_id.split("-", maxsplit=1)[0].lower()
    return f"conformance/test_{module}.py::test_{requirement_id.lower()}"


def build_report(
    outcomes: dict[str, str] | None = None, *, implementation: Implementation | None = None
) -> ConformanceReport:
    """Every requirement's test passed (skipped when its feature is not declared) unless `outcomes`
    says otherwise (requirement id → outcome); `implementation`: the reference unless given."""
    catalogue = load_catalogue()
    implementation = implementation or load_implementation(REFERENCE)
    collector = ResultCollector(catalogue)
    for requirement in catalogue.requirements:
        default = "passed" if implementation.supports(requirement.feature) else "skipped"
        outcome = (outcomes or {}).get(requirement.id, default)
        reason = None if outcome == "passed" else f"{outcome}: because"
        collector.record(nodeid_for(requirement.id), [requirement.id], outcome, 1.0, reason)
    run = run_info(
        catalogue_digest=catalogue_digest(),
        implementation_sha256=sha256_hex(REFERENCE.read_bytes()),
        fingerprint=FINGERPRINT,
    )
    return collector.build_report(implementation, run)


def report_data(report: ConformanceReport) -> dict[str, Any]:
    return report.model_dump(mode="json", by_alias=True)


def dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False)


def junit_xml(report: ConformanceReport, *, drop: str | None = None) -> str:
    """The JUnit XML pytest would write for `report`'s tests (without the test `drop`)."""
    cases = []
    for test in report.tests:
        if test.nodeid == drop:
            continue
        classname, name = junit_key(test.nodeid)
        child = _JUNIT_CHILD.get(test.outcome, "")
        cases.append(
            f"<testcase classname={quoteattr(classname)} name={quoteattr(name)} time='1'>{child}</testcase>"
        )
    counts = {outcome: sum(1 for t in report.tests if t.outcome == outcome and t.nodeid != drop)
              for outcome in ("failed", "broken", "skipped")}  # fmt: skip
    return (
        "<?xml version='1.0' encoding='utf-8'?><testsuites><testsuite name='pytest' "
        f"errors='{counts['broken']}' failures='{counts['failed']}' skipped='{counts['skipped']}' "
        f"tests='{len(cases)}'>" + "".join(cases) + "</testsuite></testsuites>"
    )


def write_run(run_dir: Path, report: ConformanceReport, *, junit: str | None = None) -> Path:
    """A run directory as the plugin leaves it (report, Markdown, pytest's JUnit) plus its bundle, packed
    by the writer; the bundle."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "conformance-report.yaml").write_text(report.to_yaml())
    (run_dir / "conformance-report.md").write_text("# report\n")
    (run_dir / "junit.xml").write_text(junit if junit is not None else junit_xml(report))
    written = WrittenRun(run_dir=run_dir, report=report, implementation_file=REFERENCE.read_bytes())
    from rich.console import Console

    return written.write_bundle(Console(file=io.StringIO()))


def rewrite_bundle(bundle: Path, change: dict[str, bytes | None]) -> None:
    """Replace (bytes) or remove (None) members of a bundle, leaving its MANIFEST as it was."""
    with tarfile.open(bundle, "r:gz") as archive:
        members = [(m, archive.extractfile(m).read()) for m in archive.getmembers() if m.isfile()]  # type: ignore[union-attr]
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb") as compressed,
        tarfile.open(fileobj=compressed, mode="w") as out,
    ):
        for member, data in members:
            name = member.name.split("/", 1)[1]
            content = change.get(name, data) if name in change else data
            if content is None:
                continue
            member.size = len(content)
            out.addfile(member, io.BytesIO(content))
    bundle.write_bytes(buffer.getvalue())


def rewrite_signed(bundle: Path, change: dict[str, bytes | None]) -> None:
    """Replace, add (bytes) or remove (None) members, then write the MANIFEST again: what a submitter who
    edits files and recomputes the digests hands in, so that the digest check alone cannot catch it."""
    with tarfile.open(bundle, "r:gz") as archive:
        top = archive.getmembers()[0].name.split("/", 1)[0]
        files = {m.name.split("/", 1)[1]: _read(archive, m) for m in archive.getmembers() if m.isfile()}
    for name, content in change.items():
        if content is None:
            files.pop(name, None)
        else:
            files[name] = content
    files["MANIFEST"] = render_manifest(files).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as out:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    bundle.write_bytes(buffer.getvalue())


def _read(archive: tarfile.TarFile, info: tarfile.TarInfo) -> bytes:
    extracted = archive.extractfile(info)
    assert extracted is not None
    return extracted.read()


def member(bundle: Path, name: str) -> str:
    """The text of one file of a bundle."""
    with tarfile.open(bundle, "r:gz") as archive:
        extracted = archive.extractfile(f"{archive.getmembers()[0].name.split('/', 1)[0]}/{name}")
        assert extracted is not None
        return extracted.read().decode()
