"""Every image a run needs, per provider — what `vnode images` prints for air-gapped vendors.

kind: the node image (its control-plane, CoreDNS, pause and CNI images are inside it, and with the
built set Istio's pilot and sidecar, the test pods' image and the virtual-kubelet image too), the
implementation's own images (`install.kind.images`, loaded by each run); with the upstream set the
nodes pull Istio's and the test pods' images instead, and the run loads the virtual-kubelet image.
existing: the test pods' image (and the suite image for `--in-cluster`). local: none (host
processes). The kind lists are the image set of vnode_harness.providers.kind.images.plan, checked
against it by a unit test. `mirrored` shows where each would be pulled from a mirror.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from vnode_harness.formats import versions
from vnode_harness.formats.image_refs import mirrored
from vnode_harness.formats.implementation import Implementation
from vnode_harness.providers.kind import virtual_nodes as vn
from vnode_harness.providers.kind.images import plan
from vnode_harness.providers.kind.images.suite import SUITE_IMAGE


@dataclass(frozen=True)
class NeededImage:
    name: str
    role: str
    how: str
    """How it reaches the nodes: `node image` (the kind nodes run it), `loaded` (`kind load docker-image`),
    `built and loaded` (the implementation's), `pulled` (by the kubelet), `inside the node image`."""

    def pull_from(self, mirror: str | None) -> str:
        return mirrored(self.name, mirror)


INSIDE = "inside the node image"


def kind_images(implementation: Implementation | None, *, upstream: bool) -> list[NeededImage]:
    """What a kind run creates its nodes from and loads into them (or has them pull, upstream)."""
    if upstream:
        images = [
            NeededImage(versions.KIND_NODE_IMAGE, "kind node", "node image"),
            NeededImage(f"{versions.ISTIO_PROXY_HUB}/pilot:{versions.ISTIO_PROXY_TAG}", "istiod", "pulled"),
            NeededImage(
                f"{versions.ISTIO_PROXY_HUB}/proxyv2:{versions.ISTIO_PROXY_TAG}", "Istio sidecar", "pulled"
            ),
            NeededImage(plan.UPSTREAM_TEST_IMAGE, "test pods on regular nodes", "pulled"),
        ]
    else:
        images = [
            NeededImage(plan.NODE_IMAGE, "kind node", "node image"),
            NeededImage(plan.PILOT_IMAGE, "istiod", INSIDE),
            NeededImage(plan.PROXY_IMAGE, "Istio sidecar (pilot-agent + Envoy)", INSIDE),
            NeededImage(plan.TEST_IMAGE, "test pods on regular nodes", INSIDE),
        ]
    images.append(NeededImage(vn.IMAGE, "virtual-kubelet", "loaded" if upstream else INSIDE))
    return images + implementation_images(implementation)


def implementation_images(implementation: Implementation | None) -> list[NeededImage]:
    install = implementation.install.kind if implementation is not None else None
    project = implementation.metadata.project if implementation is not None else ""
    return [
        NeededImage(image.name, f"{project} (install.kind)", "built and loaded")
        for image in (install.images if install else [])
    ]


def existing_images() -> list[NeededImage]:
    """An existing cluster's nodes pull the test pods' image (VNODE_TEST_IMAGE, else the suite's pin)."""
    test_image = os.environ.get("VNODE_TEST_IMAGE", versions.TEST_POD_IMAGE)
    return [NeededImage(test_image, "test pods on regular nodes", "pulled")]


def needed_images(
    provider: str, implementation: Implementation | None, *, upstream: bool = False, in_cluster: bool = False
) -> list[NeededImage]:
    """Every image of a run on `provider` (kind, existing, local); `in_cluster`: the suite image too."""
    per_provider = {
        "kind": lambda: kind_images(implementation, upstream=upstream),
        "existing": existing_images,
    }
    images = per_provider.get(provider, list)()
    if in_cluster:
        images.append(NeededImage(SUITE_IMAGE, "the suite (vnode run --in-cluster)", "loaded or pulled"))
    return images
