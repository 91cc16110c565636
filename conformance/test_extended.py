"""Extended behaviors: optional, certified only for implementations that declare the `extended` feature
(eci-profile document: enableReuseSSLKey, enableLinuxArm64Node, vSwitchIds)."""

from __future__ import annotations

import pytest

from vnode_harness.plumbing.waits import wait_for
from vnode_harness.testapi.observe import node_is_ready, virtual_nodes

ARCH_LABEL = "kubernetes.io/arch"


@pytest.mark.requirement("EXT-ARM64-NODE")
def test_arm64_virtual_node_appears_when_enabled(core, implementation, eci_profile):
    eci_profile.apply({"enableLinuxArm64Node": "true"})

    def probe():
        nodes = [n for n in virtual_nodes(core, implementation.observation) if node_is_ready(n)]
        arm = [n.metadata.name for n in nodes if (n.metadata.labels or {}).get(ARCH_LABEL) == "arm64"]
        return (arm or None), f"Ready virtual nodes: {[n.metadata.name for n in nodes]}"

    wait_for(
        "a Ready arm64 virtual node",
        probe,
        timeout=implementation.limits.profile_propagation_seconds,
        hint=f"kubectl get nodes -L {ARCH_LABEL}",
    )


@pytest.mark.requirement("EXT-NODE-PER-ZONE")
def test_virtual_nodes_cover_every_zone_of_the_vswitches(core, implementation, eci_profile):
    # The suite cannot look up which zone a vSwitch is in; what it can see is that vSwitches in several
    # zones give virtual nodes in several zones, each with its zone label set.
    vswitches = [v for v in eci_profile.baseline.get("vSwitchIds", "").split(",") if v.strip()]
    if len(vswitches) < 2:
        pytest.skip(
            "the cluster's profile lists fewer than two vSwitches: one node per zone cannot be observed"
        )
    zone_label = implementation.observation.zone_label
    nodes = virtual_nodes(core, implementation.observation)
    unlabelled = [n.metadata.name for n in nodes if not (n.metadata.labels or {}).get(zone_label)]
    assert not unlabelled, f"virtual nodes without {zone_label}: {unlabelled}"
    zones = {(n.metadata.labels or {})[zone_label] for n in nodes}
    assert len(zones) >= 2, (
        f"{len(vswitches)} vSwitches configured but virtual nodes only in zones {sorted(zones)}"
    )


@pytest.mark.requirement("EXT-REUSE-SSL-KEY")
def test_reuse_ssl_key():
    pytest.skip(
        "enableReuseSSLKey has no signal visible through the Kubernetes API yet; the observation "
        "contract has no field for a pod's certificate identity (not conformant until it does)"
    )
