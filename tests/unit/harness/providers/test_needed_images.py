"""`vnode images` lists exactly what a kind run creates its nodes from and loads into them (or has them
pull), as the image plan defines it — checked against `build_image_set` itself, with nothing built."""

from __future__ import annotations

import pytest

from vnode_harness.formats.implementation import load_implementation
from vnode_harness.formats.paths import REPO_ROOT
from vnode_harness.providers.kind.images import plan
from vnode_harness.providers.kind.images.suite import SUITE_IMAGE
from vnode_harness.providers.needed_images import needed_images

REFERENCE = load_implementation(REPO_ROOT / "implementations" / "reference.yaml")


@pytest.fixture
def image_set(monkeypatch):
    """The kind provider's BuiltImageSet as a run gets it, without building any image."""
    monkeypatch.setattr(plan, "plan", lambda console, upstream=False, suite=False: [])
    monkeypatch.setattr(plan, "run_steps", lambda steps, console, log, required_gib: {})
    return lambda upstream: plan.build_image_set(upstream=upstream)


def test_the_built_set_is_the_node_image_with_what_every_run_needs_and_the_implementation(image_set):
    images = image_set(False)
    needed = needed_images("kind", REFERENCE)
    assert [image.name for image in needed] == [images.node_image, *images.preloaded, "eci-reference:dev"]
    assert {image.how for image in needed if image.name in images.preloaded} == {"inside the node image"}
    assert images.load_images == ()
    assert {images.test_image, images.virtual_kubelet_image} <= set(images.preloaded)


def test_the_upstream_set_adds_what_the_nodes_pull(image_set):
    images = image_set(True)
    listed = {image.name for image in needed_images("kind", REFERENCE, upstream=True)}
    assert images.load_images == ()
    assert listed == {
        images.node_image,
        f"{images.istio_hub}/pilot:{images.istio_tag}",
        f"{images.istio_hub}/proxyv2:{images.istio_tag}",
        images.test_image,
        images.virtual_kubelet_image,
        "eci-reference:dev",
    }


def test_in_cluster_adds_the_suite_image_and_local_needs_none(monkeypatch):
    monkeypatch.setenv("VNODE_TEST_IMAGE", "nginx:1.27")
    existing = needed_images("existing", REFERENCE, in_cluster=True)
    assert [image.name for image in existing] == ["nginx:1.27", SUITE_IMAGE]
    assert [image.pull_from("mirror.invalid/ci") for image in existing] == [
        "mirror.invalid/ci/library/nginx:1.27",
        f"mirror.invalid/ci/{SUITE_IMAGE}",
    ]
    assert needed_images("local", REFERENCE) == []
