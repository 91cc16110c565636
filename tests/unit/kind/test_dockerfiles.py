"""Every Dockerfile the kind provider builds has pinned bases, and the virtual-kubelet build pins its module.

"Pinned" means an exact version tag (major.minor.patch, or a dated tag) or a digest: never `latest`,
never a floating `golang:1.26`. A stage built earlier in the same file (`FROM build`) is not a base.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.unit.kind.kindconfig import REPOSITORY
from vnode_harness import versions
from vnode_harness.implementation import load_implementation
from vnode_harness.providers.kind.cluster import VIRTUAL_KUBELET_DOCKERFILE, virtual_kubelet_build_command
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


def test_virtual_kubelet_is_built_the_wrapper_module_way_at_the_pinned_version():
    text = "\n".join(
        line
        for line in VIRTUAL_KUBELET_DOCKERFILE.read_text().splitlines()
        if not line.lstrip().startswith("#")
    )
    assert re.search(rf"^ARG VIRTUAL_KUBELET_VERSION={re.escape(versions.VIRTUAL_KUBELET)}$", text, re.M)
    assert "require github.com/virtual-kubelet/virtual-kubelet %s" in text  # printf'd with the version
    assert "go build" in text
    assert "go install" not in text
    assert "@latest" not in text
    assert "GOTOOLCHAIN=local" in text  # the pinned builder's Go, never a downloaded toolchain
    # the upstream module is patched (mock provider's pods map lock) and the binary says so
    assert re.search(
        rf"^ARG VIRTUAL_KUBELET_PATCH_LEVEL={re.escape(versions.VIRTUAL_KUBELET_PATCH_LEVEL)}$", text, re.M
    )
    assert "COPY --from=patches *.patch /patches/" in text
    assert 'git apply --verbose "${patch}"' in text
    assert "replace github.com/virtual-kubelet/virtual-kubelet => /src/virtual-kubelet" in text
    assert 'grep -F "Version: ${VIRTUAL_KUBELET_VERSION}+${VIRTUAL_KUBELET_PATCH_LEVEL}"' in text


def test_the_provider_passes_the_pinned_version(monkeypatch):
    for name in ("GOPROXY", "GOSUMDB", "GONOSUMDB", "GOPRIVATE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GOPROXY", "direct")
    command = virtual_kubelet_build_command()
    tag = f"vnode/virtual-kubelet:{versions.VIRTUAL_KUBELET}-{versions.VIRTUAL_KUBELET_PATCH_LEVEL}"
    assert command[:6] == ["docker", "build", "--tag", tag, "--file", str(VIRTUAL_KUBELET_DOCKERFILE)]
    build_args = [command[i + 1] for i, argument in enumerate(command) if argument == "--build-arg"]
    assert build_args == [
        f"VIRTUAL_KUBELET_VERSION={versions.VIRTUAL_KUBELET}",
        f"VIRTUAL_KUBELET_PATCH_LEVEL={versions.VIRTUAL_KUBELET_PATCH_LEVEL}",
        "GOPROXY=direct",
    ]
    contexts = [command[i + 1] for i, argument in enumerate(command) if argument == "--build-context"]
    assert contexts == [f"patches={RECIPES['virtual-kubelet'].patch_paths()[0].parent}"]
    assert command[-1] == str(VIRTUAL_KUBELET_DOCKERFILE.parent)
