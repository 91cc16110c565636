"""The evidence bundle of a run: everything a reviewer needs to check a submission, in one archive.

`reports/runs/<id>/bundle.tar.gz` holds, under one directory `<id>/`, exactly `BUNDLE_FILES`: the
report (YAML and Markdown), the JUnit XML, the implementation file as it was run, the environment
fingerprint, how to reproduce the run (`reproduce.json`, data), and `MANIFEST`: one `<sha256>  <name>`
line per file (the `sha256sum` format, so `sha256sum -c MANIFEST` checks an extracted bundle too).

A MANIFEST only says the files were not changed after it was written; anyone can write it again. So
every file but the implementation file is rendered from the report (vnode_harness.report.bundle_members)
and `vnode report verify` renders them again and compares; the implementation file's SHA-256 is in the
report. This module reads the archive: the digests, the MANIFEST as the suite writes it, no other file.

The archive is reproducible (fixed member owner, mode and mtime) so the same files give the same bytes.
A bundle is read without extracting anything, so a hostile archive cannot write outside memory.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

BUNDLE_NAME = "bundle.tar.gz"
MANIFEST = "MANIFEST"
REPORT_YAML = "conformance-report.yaml"
REPORT_MARKDOWN = "conformance-report.md"
JUNIT = "junit.xml"
IMPLEMENTATION = "implementation.yaml"
ENVIRONMENT = "environment.json"
REPRODUCE = "reproduce.json"

REQUIRED_FILES = (REPORT_YAML, REPORT_MARKDOWN, JUNIT, IMPLEMENTATION, ENVIRONMENT, REPRODUCE)
"""Files every bundle has, besides its MANIFEST."""
BUNDLE_FILES = frozenset({*REQUIRED_FILES, MANIFEST})
"""Everything a bundle may hold: a reviewer is never handed a file `vnode report verify` does not check."""

MAX_MEMBER_BYTES = 64 * 1024 * 1024
"""A bundle member larger than this is refused rather than read into memory."""

_MANIFEST_LINE = re.compile(r"^([0-9a-f]{64})  (\S(?:.*\S)?)$")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def render_manifest(files: Mapping[str, bytes]) -> str:
    """`<sha256>  <name>` per file, sorted by name (MANIFEST itself is not listed)."""
    return "".join(f"{sha256_hex(files[name])}  {name}\n" for name in sorted(files) if name != MANIFEST)


def first_difference(found: bytes, expected: bytes) -> str:
    """Where two versions of a text file part, as `line N is '…', expected '…'`, for a problem line."""
    found_lines = found.decode("utf-8", errors="replace").splitlines()
    expected_lines = expected.decode("utf-8", errors="replace").splitlines()
    for number, (have, want) in enumerate(zip(found_lines, expected_lines, strict=False), start=1):
        if have != want:
            return f"line {number} is {_clip(have)}, expected {_clip(want)}"
    if len(found_lines) != len(expected_lines):
        return f"it has {len(found_lines)} lines, expected {len(expected_lines)}"
    return "its bytes differ (line endings or a final newline)"


def write_bundle(run_dir: Path, files: Mapping[str, bytes]) -> Path:
    """Write `run_dir/bundle.tar.gz` with `files` (name → bytes) and their MANIFEST; return its path."""
    members = {**files, MANIFEST: render_manifest(files).encode()}
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as archive,
    ):
        for name in sorted(members, key=lambda member: (member != MANIFEST, member)):
            data = members[name]
            info = tarfile.TarInfo(f"{run_dir.name}/{name}")
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            archive.addfile(info, io.BytesIO(data))
    path = run_dir / BUNDLE_NAME
    path.write_bytes(buffer.getvalue())
    return path


@dataclass
class Bundle:
    """A bundle as read: its files by name (without the top directory), and what is wrong with it."""

    path: Path
    files: dict[str, bytes] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def text(self, name: str) -> str | None:
        data = self.files.get(name)
        return None if data is None else data.decode("utf-8", errors="replace")


def read_bundle(path: Path) -> Bundle:
    """Read a bundle and check it against its MANIFEST: every problem is named, nothing is raised."""
    bundle = Bundle(path)
    try:
        members = _read_members(path, bundle.problems)
    except (OSError, tarfile.TarError, EOFError, gzip.BadGzipFile, ValueError) as error:
        bundle.problems.append(f"{path.name}: not a readable .tar.gz bundle ({_one_line(error)})")
        return bundle
    bundle.files = members
    _check_manifest(bundle)
    return bundle


def _read_members(path: Path, problems: list[str]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    tops: set[str] = set()
    with tarfile.open(path, mode="r:gz") as archive:
        for member in archive:
            parts = PurePosixPath(member.name).parts
            if member.isdir() and len(parts) == 1:
                continue
            if not member.isfile() or len(parts) != 2 or ".." in parts or member.name.startswith("/"):
                problems.append(f"{path.name}: unexpected entry {member.name!r} (a bundle holds files "
                                "in one directory)")  # fmt: skip
                continue
            if member.size > MAX_MEMBER_BYTES:
                problems.append(
                    f"{path.name}: {parts[1]} is {member.size} bytes, more than a bundle file may be"
                )
                continue
            tops.add(parts[0])
            if parts[1] in files:
                problems.append(f"{path.name}: {parts[1]} appears more than once")
            stream = archive.extractfile(member)
            files[parts[1]] = stream.read() if stream is not None else b""
    if len(tops) > 1:
        problems.append(f"{path.name}: files in more than one directory: {', '.join(sorted(tops))}")
    return files


def _check_manifest(bundle: Bundle) -> None:
    name = bundle.path.name
    manifest = bundle.text(MANIFEST)
    if manifest is None:
        bundle.problems.append(f"{name}: no {MANIFEST}: the files' digests cannot be checked")
        return
    listed: dict[str, str] = {}
    for number, line in enumerate(manifest.splitlines(), start=1):
        match = _MANIFEST_LINE.match(line)
        if match is None:
            bundle.problems.append(
                f"{name}: {MANIFEST} line {number} is not '<sha256>  <file>': {line[:80]!r}"
            )
            continue
        listed[match.group(2)] = match.group(1)
    for member, digest in listed.items():
        data = bundle.files.get(member)
        if data is None:
            bundle.problems.append(f"{name}: {member} is listed in {MANIFEST} but missing from the bundle")
        elif sha256_hex(data) != digest:
            bundle.problems.append(
                f"{name}: {member} was altered: its SHA-256 is {sha256_hex(data)}, {MANIFEST} says {digest}"
            )
    for member in sorted(set(bundle.files) - set(listed) - {MANIFEST}):
        bundle.problems.append(f"{name}: {member} is in the bundle but not in {MANIFEST}")
    for member in sorted(set(bundle.files) - BUNDLE_FILES):
        bundle.problems.append(
            f"{name}: {member} is not a file a bundle holds (only {', '.join(sorted(BUNDLE_FILES))}: "
            "nothing a reviewer is handed goes unchecked)"
        )
    for member in REQUIRED_FILES:
        if member not in bundle.files and member not in listed:
            bundle.problems.append(f"{name}: {member} is missing (every bundle has it)")
    expected = render_manifest(bundle.files).encode()
    if not bundle.problems and bundle.files[MANIFEST] != expected:
        bundle.problems.append(
            f"{name}: {MANIFEST} is not the one the suite writes for these files: "
            f"{first_difference(bundle.files[MANIFEST], expected)}"
        )


def _clip(line: str, limit: int = 100) -> str:
    return repr(line if len(line) <= limit else line[:limit] + "…")


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
