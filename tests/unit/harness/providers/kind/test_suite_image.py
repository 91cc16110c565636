"""The suite image holds what `pytest conformance` reads and is keyed by its content."""

from __future__ import annotations

import shutil

from vnode_harness.formats.paths import REPO_ROOT
from vnode_harness.providers.kind.images.suite import suite_digest, suite_files


def test_the_image_holds_the_suite_and_no_caches():
    files = {path.relative_to(REPO_ROOT).as_posix() for path in suite_files()}
    for needed in (
        "conformance/catalogue.yaml",
        "conftest.py",
        "pyproject.toml",
        "README.md",
        "vnode_harness/incluster/pod.py",
        "fixtures/README.md",
        "implementations/reference.yaml",
        "docs/conformance-report.schema.json",
    ):
        assert needed in files
    assert not [name for name in files if "__pycache__" in name or name.endswith(".pyc")]
    assert not [name for name in files if name.startswith(("tests/", "eci_reference/", ".tox/"))]


def test_its_key_is_the_content(tmp_path):
    for name in ("conformance", "vnode_harness", "fixtures", "implementations"):
        shutil.copytree(REPO_ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "conftest.py"):
        shutil.copy2(REPO_ROOT / name, tmp_path / name)
    (tmp_path / "docs").mkdir()
    shutil.copy2(REPO_ROOT / "docs" / "conformance-report.schema.json", tmp_path / "docs")
    before = suite_digest(tmp_path)
    assert before == suite_digest(REPO_ROOT)
    (tmp_path / "vnode_harness" / "__pycache__").mkdir(exist_ok=True)
    (tmp_path / "vnode_harness" / "__pycache__" / "x.pyc").write_bytes(b"cache")
    assert suite_digest(tmp_path) == before
    catalogue = tmp_path / "conformance" / "catalogue.yaml"
    catalogue.write_text(catalogue.read_text() + "\n")
    assert suite_digest(tmp_path) != before
