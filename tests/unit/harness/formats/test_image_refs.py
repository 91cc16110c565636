"""Image references as the runtime names them, and rewritten onto a mirror (path and tag kept)."""

from __future__ import annotations

import pytest

from vnode_harness.formats.image_refs import mirrored, normalized


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("nginx:1.27", "docker.io/library/nginx:1.27"),
        ("vnode/conformance:0.1.0", "docker.io/vnode/conformance:0.1.0"),
        ("registry.invalid/pause:3.10.1", "registry.invalid/pause:3.10.1"),
        ("localhost/x:1", "localhost/x:1"),
        ("registry:5000/a/b:c", "registry:5000/a/b:c"),
    ],
)
def test_normalized(reference, expected):
    assert normalized(reference) == expected


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("nginx:1.27", "mirror.invalid/ci/library/nginx:1.27"),
        ("vnode/conformance:0.1.0", "mirror.invalid/ci/vnode/conformance:0.1.0"),
        ("registry.invalid/coredns/coredns:v1.13.1", "mirror.invalid/ci/coredns/coredns:v1.13.1"),
        ("docker.io/istio/proxyv2:1.31.1", "mirror.invalid/ci/istio/proxyv2:1.31.1"),
    ],
)
def test_mirrored_keeps_path_and_tag(reference, expected):
    assert mirrored(reference, "mirror.invalid/ci/") == expected


def test_no_mirror_changes_nothing():
    assert mirrored("nginx:1.27", None) == "nginx:1.27"
