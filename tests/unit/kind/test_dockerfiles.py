"""Every Dockerfile the kind provider builds has pinned bases; the virtual-kubelet image wraps
the toolchain build.

"Pinned" means an exact version tag (major.minor.patch, or a dated tag) or a digest: never `latest`,
never a floating `golang:1.26`. A stage built earlier in the same file (`FROM build`) is not a base.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.unit.kind.kindconfig import REPOSITORY
from vnode_harness.implementation import load_implementation
from vnode_harness.providers.kind.cluster import VIRTUAL_KUBELET_DOCKERFILE
from vnode_harness.toolchain import RECIPES

_SKIPPED_DIRS = {".venv", ".git", "node_modules", ".tox", "reports"}
_FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(?P<image>\S+)(?:\s+AS\s+(?P<stage>\S+))?", re.I | re.M)
_EXACT_TAG = re.compile(r":[^:/@]*(\d+\.\d+\.\d+|\d{8})[^:/@]*(@sha256:[0-9a-f]{64})?$")
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def repository_dockerfiles() -> list[Path]:
    found = {
        path
        for pattern in ("Dockerfile", "*.Dockerfile", "Dockerfile.*")
        for path in REPOSITORY.rglob(pattern)
        if not _SKIPPED_DIRS.intersection(path.relative_to(REPOSITORY).parts)
    }
    for implementation in (REPOSITORY / "implementations").glob("*.yaml"):
        install = load_implementation(implementation).install.kind
        for image in install.images if install else []:
            found.add(REPOSITORY / image.dockerfile)
    return sorted(found)


def bases(text: str) -> list[str]:
    """Images the FROM lines pull, with ${ARG} defaults filled in; earlier stages are left out."""
    defaults = dict(re.findall(r"^\s*ARG\s+(\w+)=(\S+)", text, re.M))
    stages: set[str] = set()
    images = []
    for match in _FROM.finditer(text):
        image = re.sub(r"\$\{?(\w+)\}?", lambda m: defaults.get(m.group(1), m.group(0)), match.group("image"))
        if image.lower() not in stages and image != "scratch":
            images.append(image)
        if match.group("stage"):
            stages.add(match.group("stage").lower())
    return images


def test_the_virtual_kubelet_dockerfile_is_checked():
    assert VIRTUAL_KUBELET_DOCKERFILE in repository_dockerfiles()


@pytest.mark.parametrize("dockerfile", repository_dockerfiles(), ids=lambda p: str(p.relative_to(REPOSITORY)))
def test_every_base_image_is_pinned(dockerfile):
    assert dockerfile.is_file(), f"{dockerfile} is named by an implementation file but does not exist"
    images = bases(dockerfile.read_text())
    assert images, f"{dockerfile} has no FROM"
    for image in images:
        assert ":latest" not in image, f"{dockerfile}: {image} is not pinned"
        assert _EXACT_TAG.search(image) or _DIGEST.search(image), (
            f"{dockerfile}: {image} has neither an exact version tag nor a digest"
        )


@pytest.mark.parametrize(
    ("image", "pinned"),
    [
        ("golang:1.26.4-bookworm", True),
        ("debian:bookworm-20260112-slim", True),
        ("example/static:nonroot@sha256:" + "a" * 64, True),
        ("golang:1.26", False),
        ("golang", False),
        ("debian:bookworm-slim", False),
        ("python:latest", False),
    ],
)
def test_the_pin_rule_itself(image, pinned):
    assert bool(_EXACT_TAG.search(image) or _DIGEST.search(image)) is pinned


def test_the_virtual_kubelet_image_holds_the_toolchains_static_build():
    """No Go build in Docker: the image copies the toolchain's binary (patched, CGO_ENABLED=0), so the
    kind nodes run exactly what the local provider runs and Docker needs no module proxy."""
    text = "\n".join(
        line
        for line in VIRTUAL_KUBELET_DOCKERFILE.read_text().splitlines()
        if not line.lstrip().startswith("#")
    )
    assert "COPY --from=toolchain virtual-kubelet /usr/local/bin/virtual-kubelet" in text
    assert "go build" not in text
    assert "ARG" not in text  # nothing of the build machine is passed in
    assert bases(text) == [bases(text)[0]]
    assert bases(text)[0].startswith("gcr.io/distroless/static-")
    assert ("CGO_ENABLED", "0") in RECIPES["virtual-kubelet"].build_env
