"""kind-config/*.yaml as kind itself reads them: strict decoding, defaulting and validation.

kind's `--config` parsing needs a Docker Engine only after it has validated the file, so the check
runs kind's real create path (sigs.k8s.io/kind at versions.KIND) against a stand-in docker that stops
it at the first container operation. See tests/kindconfig_check/main.go.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.unit.harness.providers.kind.kindconfig import REPOSITORY, SOURCE, check
from vnode_harness.formats import versions
from vnode_harness.providers.kind.config import DEFAULT_CONFIG

CONFIGS = sorted((REPOSITORY / "kind-config").glob("*.yaml"))
ZONE, REGION = "topology.kubernetes.io/zone", "topology.kubernetes.io/region"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cluster.yaml"
    path.write_text(text)
    return path


def test_the_provider_uses_the_checked_in_config():
    assert DEFAULT_CONFIG in CONFIGS


@pytest.mark.parametrize("config", CONFIGS, ids=lambda path: path.name)
def test_kind_accepts_the_config(config):
    status, (result,) = check([config], versions.KIND_NODE_IMAGE)
    assert result["validated"], result.get("error")
    assert status == 0
    # Validation passed and kind went on to set up its Docker network: the stand-in stopped it there.
    assert result["stoppedAt"].startswith("docker network")


def test_cluster_topology_as_kind_decodes_it():
    _, (result,) = check([DEFAULT_CONFIG], versions.KIND_NODE_IMAGE)
    nodes = result["cluster"]["nodes"]
    assert [node["role"] for node in nodes] == ["control-plane"]  # one node, also the regular worker
    (node,) = nodes
    assert node["labels"][ZONE] == "cn-hangzhou-i"
    assert node["labels"][REGION] == "cn-hangzhou"
    assert {node["image"] for node in nodes} == {versions.KIND_NODE_IMAGE}  # what --image does


@pytest.mark.parametrize("config", CONFIGS, ids=lambda path: path.name)
def test_node_image_is_pinned_only_in_versions(config):
    raw = yaml.safe_load(config.read_text())
    assert all("image" not in node for node in raw.get("nodes", []))


def test_unknown_fields_are_rejected(tmp_path):
    path = write(
        tmp_path,
        "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: worker\n  label: {a: b}\n",
    )
    status, (result,) = check([path], versions.KIND_NODE_IMAGE)
    assert status == 1
    assert not result["validated"]
    assert "strict decoding" in result["error"]
    assert "field label not found" in result["error"]


@pytest.mark.parametrize(
    ("nodes", "message"),
    [
        ("- role: worker\n", "must have at least one control-plane node"),
        ("- role: control-plane\n- role: master\n", '"master" is not a valid node role'),
    ],
)
def test_what_kind_validation_rejects_is_rejected(tmp_path, nodes, message):
    path = write(tmp_path, f"kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n{nodes}")
    status, (result,) = check([path], versions.KIND_NODE_IMAGE)
    assert status == 1
    assert result["error"].startswith("kind validation:")
    assert message in result["error"]


def test_checker_uses_the_pinned_kind():
    require = re.search(
        r"^\s*(?:require\s+)?sigs\.k8s\.io/kind (v\S+)", (SOURCE / "go.mod").read_text(), re.M
    )
    assert require is not None
    assert require.group(1) == versions.KIND


def test_node_image_is_digest_pinned_and_matches_the_local_kubernetes_minor():
    match = re.fullmatch(r"kindest/node:(v\d+\.\d+)\.\d+@sha256:[0-9a-f]{64}", versions.KIND_NODE_IMAGE)
    assert match, versions.KIND_NODE_IMAGE
    assert versions.KUBERNETES.startswith(match.group(1) + ".")
