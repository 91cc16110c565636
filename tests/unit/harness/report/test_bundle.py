"""The evidence bundle: what it holds, that its MANIFEST is sha256sum's format, that it is reproducible."""

from __future__ import annotations

import hashlib
import json
import tarfile

from tests.unit.harness.submission import REFERENCE, build_report, write_run
from vnode_harness.report.bundle import MANIFEST, read_bundle, render_manifest, write_bundle


def test_a_run_bundle_holds_every_file_of_the_submission(tmp_path):
    bundle = write_run(tmp_path / "20261122-080000-1", build_report())
    with tarfile.open(bundle, "r:gz") as archive:
        names = archive.getnames()
    assert names == [
        f"20261122-080000-1/{name}"
        for name in (
            "MANIFEST",
            "conformance-report.md",
            "conformance-report.yaml",
            "environment.json",
            "implementation.yaml",
            "junit.xml",
            "reproduce.json",
        )
    ]
    contents = read_bundle(bundle)
    assert contents.problems == []
    assert contents.files["implementation.yaml"] == REFERENCE.read_bytes()
    reproduce, environment = contents.text("reproduce.json"), contents.text("environment.json")
    assert reproduce is not None
    assert environment is not None
    assert json.loads(reproduce)["command"] == [
        "pytest",
        "conformance",
        "--implementation",
        "implementation.yaml",
    ]
    assert json.loads(environment)["clusterProvider"] == "local"
    assert json.loads(environment)["host"]["cpus"] == 2


def test_the_manifest_is_what_sha256sum_checks(tmp_path):
    files = {"b.txt": b"two\n", "a.txt": b"one\n"}
    manifest = render_manifest(files)
    one, two = hashlib.sha256(b"one\n").hexdigest(), hashlib.sha256(b"two\n").hexdigest()
    assert manifest == f"{one}  a.txt\n{two}  b.txt\n"
    bundle = read_bundle(write_bundle(tmp_path, files))
    assert bundle.files[MANIFEST].decode() == manifest


def test_the_same_files_give_the_same_bytes(tmp_path):
    files = {"conformance-report.yaml": b"kind: ConformanceReport\n"}
    first = write_bundle(tmp_path, files).read_bytes()
    assert write_bundle(tmp_path, files).read_bytes() == first


def test_a_bundle_missing_a_required_file_says_which(tmp_path):
    bundle = read_bundle(write_bundle(tmp_path, {"conformance-report.yaml": b"x\n"}))
    assert "bundle.tar.gz: implementation.yaml is missing (every bundle has it)" in bundle.problems


def test_entries_outside_one_directory_are_refused(tmp_path):
    import io

    path = tmp_path / "bundle.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        archive.addfile(info, io.BytesIO(b"x"))
    problems = read_bundle(path).problems
    assert any("unexpected entry '../escape.txt'" in problem for problem in problems)
