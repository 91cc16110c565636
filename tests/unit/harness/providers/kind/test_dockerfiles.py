"""Every Dockerfile the kind provider builds has pinned or locally built bases; the generated images
of `vnode kind images` come from the local Debian image or scratch and wrap the toolchain's builds.

"Pinned" means an exact version tag (major.minor.patch, or a dated tag) or a digest: never `latest`,
never a floating `golang:1.26`. A stage built earlier in the same file (`FROM build`) is not a base,
and neither is an image `vnode kind images` builds here (`vnode/…`, cached under a key of its inputs).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.unit.harness.providers.kind.kindconfig import REPOSITORY
from vnode_harness.formats.implementation import load_implementation
from vnode_harness.providers.kind.images import debian, dockerfiles, plan
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


LOCALLY_BUILT = ("vnode/",)
"""Images of the locally built set (vnode_harness/providers/kind/images/plan.py): made here, never pulled."""


def test_the_reference_dockerfile_is_checked():
    assert REPOSITORY / "eci_reference" / "deploy" / "Dockerfile" in repository_dockerfiles()


@pytest.mark.parametrize("dockerfile", repository_dockerfiles(), ids=lambda p: str(p.relative_to(REPOSITORY)))
def test_every_base_image_is_pinned(dockerfile):
    assert dockerfile.is_file(), f"{dockerfile} is named by an implementation file but does not exist"
    images = bases(dockerfile.read_text())
    assert images, f"{dockerfile} has no FROM"
    for image in images:
        assert ":latest" not in image, f"{dockerfile}: {image} is not pinned"
        if image.startswith(LOCALLY_BUILT):
            continue
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


def test_the_reference_image_needs_no_registry():
    """Debian's Python on the local Debian image, dependencies from the host-built wheelhouse, offline."""
    text = (REPOSITORY / "eci_reference" / "deploy" / "Dockerfile").read_text()
    assert bases(text) == [plan.WHEELS_IMAGE, debian.IMAGE]
    assert "PIP_NO_INDEX=1" in text


def test_generated_dockerfiles_start_from_the_local_base_or_scratch():
    generated = [
        dockerfiles.binary_image(debian.IMAGE, "kube-proxy", packages=("iptables", "conntrack")),
        dockerfiles.static_image("coredns"),
        dockerfiles.packages_image(debian.IMAGE, ("nginx",), ["nginx", "-g", "daemon off;"]),
        dockerfiles.files_image("wheels", "/wheels"),
        dockerfiles.proxyv2_image(debian.IMAGE, proxy_sha="upstream-envoy-1.40.0"),
    ]
    for text in generated:
        assert all(image == debian.IMAGE for image in bases(text)), text


def test_a_binary_image_runs_the_copied_toolchain_binary():
    text = dockerfiles.binary_image(debian.IMAGE, "virtual-kubelet", user="65532:65532")
    assert "COPY virtual-kubelet /usr/local/bin/virtual-kubelet" in text
    assert 'ENTRYPOINT ["/usr/local/bin/virtual-kubelet"]' in text
    assert "USER 65532:65532" in text
    assert "go build" not in text
    assert ("CGO_ENABLED", "0") in RECIPES["virtual-kubelet"].build_env


def test_the_built_set_has_no_stand_in():
    """The sidecar was the last one (a readiness-only script); the report's `standIn` comes from here."""
    assert plan.STAND_INS == {}
    assert "proxyv2" in plan.PROXY_IMAGE


@pytest.mark.parametrize(
    "text",
    [
        dockerfiles.packages_image(debian.IMAGE, ("nginx",), ["nginx", "-g", "daemon off;"]),
        dockerfiles.proxyv2_image(debian.IMAGE, proxy_sha="upstream-envoy-1.40.0"),
        (REPOSITORY / "eci_reference" / "deploy" / "Dockerfile").read_text(),
        (
            REPOSITORY
            / "vnode_harness"
            / "providers"
            / "kind"
            / "images"
            / "files"
            / "conformance.Dockerfile"
        ).read_text(),
    ],
    ids=["nginx", "proxyv2", "eci-reference", "conformance"],
)
def test_images_a_run_loads_keep_no_apt_cache(text):
    """The debootstrap base has no docker-clean hook: each apt-get install must clean up in its own layer."""
    for run in re.findall(r"^RUN (?:[^\n]*\\\n)*[^\n]*", text, re.M):
        if "apt-get install" in run:
            assert "apt-get clean" in run, run
            assert "rm -rf /var/lib/apt/lists/*" in run, run
