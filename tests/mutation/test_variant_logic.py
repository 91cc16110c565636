"""The variants' own decisions, without a cluster: a variant that is wrong by itself would make its green
(or red) matrix run say nothing about the suite.

``binds-by-node-name`` must pick only nodes the scheduler could have picked; ``unspecified-other-way``
must differ from the reference exactly in the catalogue's open cases and nowhere else.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client, config

import eci_reference.mutation as mutation
from eci_reference.cloud import load_cloud_config
from eci_reference.constants import ECI_LABEL
from eci_reference.profile import parse_profile
from tests.mutation import node_binding as nb
from tests.mutation import variants
from tests.unit.reference_service.fake_apiserver import FakeApiServer, seed

REPO = Path(__file__).resolve().parents[2]
ZONE = "topology.kubernetes.io/zone"
TAINT = {"key": "virtual-kubelet.io/provider", "value": "alibabacloud", "effect": "NoSchedule"}
TOLERATION = {"key": "virtual-kubelet.io/provider", "operator": "Exists", "effect": "NoSchedule"}


def node(
    name: str, zone: str, *, ready: bool = True, taints: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"type": "virtual-kubelet", ZONE: zone}},
        "spec": {"taints": [TAINT] if taints is None else taints},
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


NODES = [node("vk-i", "zone-i"), node("vk-j", "zone-j"), node("vk-down", "zone-i", ready=False)]


# --- node_binding ------------------------------------------------------------------------------------


def test_only_ready_nodes_whose_taints_are_tolerated_are_eligible() -> None:
    assert nb.eligible_nodes({}, NODES, [TOLERATION]) == ["vk-i", "vk-j"]
    assert nb.eligible_nodes({}, NODES, []) == []
    cordoned = {**node("vk-c", "zone-i"), "spec": {"unschedulable": True}}
    assert nb.eligible_nodes({}, [cordoned], [TOLERATION]) == []


def test_the_pods_node_selector_and_required_affinity_are_honoured() -> None:
    assert nb.eligible_nodes({"nodeSelector": {ZONE: "zone-j"}}, NODES, [TOLERATION]) == ["vk-j"]
    assert nb.eligible_nodes({"nodeSelector": {"type": "other"}}, NODES, [TOLERATION]) == []
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": ZONE, "operator": "NotIn", "values": ["zone-i"]}]}
                ]
            }
        }
    }
    assert nb.eligible_nodes({"affinity": affinity}, NODES, [TOLERATION]) == ["vk-j"]


def test_a_bound_volume_keeps_the_pod_in_its_zone() -> None:
    volume = {"spec": {"nodeAffinity": {"required": {"nodeSelectorTerms": nb.zone_terms(ZONE, "zone-i")}}}}
    terms = nb.volume_node_terms(volume)
    assert terms is not None
    assert nb.eligible_nodes({}, NODES, [TOLERATION], [terms]) == ["vk-i"]
    assert nb.volume_node_terms({"spec": {}}) is None


@pytest.mark.parametrize(
    ("requirement", "labels", "expected"),
    [
        ({"key": "a", "operator": "In", "values": ["1"]}, {"a": "1"}, True),
        ({"key": "a", "operator": "In", "values": ["1"]}, {}, False),
        ({"key": "a", "operator": "NotIn", "values": ["1"]}, {}, True),
        ({"key": "a", "operator": "Exists"}, {"a": ""}, True),
        ({"key": "a", "operator": "DoesNotExist"}, {"a": ""}, False),
        ({"key": "a", "operator": "Gt", "values": ["2"]}, {"a": "3"}, True),
        ({"key": "a", "operator": "Lt", "values": ["2"]}, {"a": "x"}, False),
        ({"key": "a", "operator": "Bogus", "values": ["1"]}, {"a": "1"}, False),
    ],
)
def test_requirements_read_as_the_scheduler_reads_them(
    requirement: dict[str, Any], labels: dict[str, str], expected: bool
) -> None:
    assert nb.requirement_matches(requirement, labels) is expected


def test_an_empty_term_matches_no_node_and_match_fields_see_the_name() -> None:
    assert not nb.term_matches({}, NODES[0])
    by_name = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["vk-j"]}]}
    assert [nb.node_name(n) for n in NODES if nb.term_matches(by_name, n)] == ["vk-j"]


def test_tolerations_follow_kubernetes() -> None:
    assert nb.tolerates(TAINT, [{"operator": "Exists"}])
    assert nb.tolerates(TAINT, [{"key": TAINT["key"], "operator": "Equal", "value": "alibabacloud"}])
    assert not nb.tolerates(TAINT, [{"key": TAINT["key"], "operator": "Equal", "value": "other"}])
    assert not nb.tolerates(TAINT, [{"key": TAINT["key"], "operator": "Exists", "effect": "NoExecute"}])
    soft = node("soft", "zone-i", taints=[{**TAINT, "effect": "PreferNoSchedule"}])
    assert nb.tolerates_node(soft, [])


def test_round_robin_takes_turns() -> None:
    turns = nb.RoundRobin()
    assert [turns.pick(["a", "b"]) for _ in range(3)] == ["a", "b", "a"]
    assert turns.pick([]) is None


def test_only_a_live_bound_pod_that_mounts_claims_is_a_consumer() -> None:
    pod: dict[str, Any] = {
        "metadata": {"namespace": "ns"},
        "spec": {
            "nodeName": "vk-j",
            "volumes": [{"persistentVolumeClaim": {"claimName": "data"}}, {"name": "x"}],
        },
        "status": {"phase": "Running"},
    }
    assert nb.bound_consumer(pod) == ("ns", "vk-j", ["data"])
    assert nb.bound_consumer({**pod, "status": {"phase": "Succeeded"}}) is None
    assert nb.bound_consumer({**pod, "spec": {**pod["spec"], "nodeName": None}}) is None


# --- binds-by-node-name: planning --------------------------------------------------------------------


class FakeBinder(variants.VirtualNodeBinder):
    def __init__(self, nodes: list[dict[str, Any]]) -> None:  # no API client: choose() only
        self._nodes = {nb.node_name(n): n for n in nodes}
        self._round_robin = nb.RoundRobin()


@pytest.fixture
def binder() -> Iterator[FakeBinder]:
    fake = FakeBinder(NODES)
    previous, variants._BinderHolder.binder = variants._BinderHolder.binder, fake
    yield fake
    variants._BinderHolder.binder = previous


def plan(pod: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    ops: list[dict[str, Any]] = []
    warnings: list[str] = []
    variants.plan_scheduling_by_node_name(pod, ops, warnings)
    return ops, warnings


def test_an_eci_pod_is_bound_to_an_eligible_virtual_node_with_the_toleration(binder: FakeBinder) -> None:
    ops, warnings = plan({"spec": {"nodeSelector": {ZONE: "zone-j"}}})
    assert ops == [
        {"op": "add", "path": "/spec/nodeName", "value": "vk-j"},
        {"op": "add", "path": "/spec/tolerations", "value": [mutation.virtual_node_toleration()]},
    ]
    assert warnings == []


def test_planning_again_on_the_bound_pod_adds_nothing(binder: FakeBinder) -> None:
    assert plan({"spec": {"nodeName": "vk-i", "tolerations": [TOLERATION]}}) == ([], [])


def test_without_an_eligible_node_the_pod_is_left_to_the_scheduler(binder: FakeBinder) -> None:
    ops, warnings = plan({"spec": {"nodeSelector": {ZONE: "zone-x"}}})
    assert {"op": "add", "path": "/spec/nodeSelector/type", "value": "virtual-kubelet"} in ops
    assert not any(op["path"] == "/spec/nodeName" for op in ops)
    assert len(warnings) == 1
    assert "scheduler" in warnings[0]


def test_a_pod_bound_to_a_regular_node_by_its_author_keeps_it(binder: FakeBinder) -> None:
    ops, warnings = plan({"spec": {"nodeName": "worker-1"}})
    assert not any(op["path"] == "/spec/nodeName" for op in ops)
    assert "spec.nodeName" in warnings[0]


def test_a_malformed_affinity_is_a_malformed_pod_not_a_crash(binder: FakeBinder) -> None:
    with pytest.raises(mutation.MalformedPodError):
        plan({"spec": {"affinity": {"nodeAffinity": "no"}}})


def test_unknown_volumes_leave_the_pod_to_the_scheduler(binder: FakeBinder) -> None:
    token = variants._VOLUME_TERMS.set(None)
    try:
        ops, _ = plan({"spec": {}})
    finally:
        variants._VOLUME_TERMS.reset(token)
    assert not any(op["path"] == "/spec/nodeName" for op in ops)


# --- unspecified-other-way ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("yes", True),
        ("1", True),
        ("off", False),
        (" false ", False),
        ("True", None),
        ("TRUE", None),
    ],
)
def test_booleans_are_lower_case_with_synonyms(text: str, expected: bool | None) -> None:
    assert variants.parse_bool_lower_case(text) is expected


def test_eci_false_opts_a_pod_out_of_its_namespace_label_only() -> None:
    decide = variants.decide_routing_false_opts_out
    eci_namespace = {ECI_LABEL: "true", "team": "a"}
    assert not decide({ECI_LABEL: "false"}, eci_namespace, parse_profile({})).is_eci
    assert decide({}, eci_namespace, parse_profile({})).is_eci
    assert decide({ECI_LABEL: "no"}, eci_namespace, parse_profile({})).is_eci  # only "false" opts out
    selector = [{"name": "team", "namespaceSelector": {"matchLabels": {"team": "a"}}}]
    routed = decide({ECI_LABEL: "false"}, eci_namespace, parse_profile({"selectors": json.dumps(selector)}))
    assert routed.is_eci
    assert routed.reasons == ("selector:team",)


def test_routed_pods_are_marked_once() -> None:
    profile = parse_profile({})
    patch = variants.plan_with_marker({"metadata": {"labels": {ECI_LABEL: "true"}}, "spec": {}}, {}, profile)
    marker = [op for op in patch.ops if variants.ROUTED_ANNOTATION in json.dumps(op)]
    assert len(marker) == 1
    marked = {
        "metadata": {"labels": {ECI_LABEL: "true"}, "annotations": {variants.ROUTED_ANNOTATION: "true"}}
    }
    again = variants.plan_with_marker({**marked, "spec": {}}, {}, profile)
    assert not [op for op in again.ops if variants.ROUTED_ANNOTATION in json.dumps(op)]
    assert not variants.plan_with_marker({"metadata": {}, "spec": {}}, {}, profile).ops


# The profile-format cases patch the reference's parser for the whole process, so they are checked in a
# child process (like test_registry's patch check): the other unit tests keep the reference's parser.
_OPEN_PROFILES = {
    "SELECTOR-NAME-ONLY": {"selectors": '[{"name": "only"}]'},
    "SELECTOR-OTHER-LABEL-SELECTOR-FIELDS": {
        "selectors": '[{"name": "x", "objectSelector": '
        '{"matchExpressions": [{"key": "a", "operator": "Exists"}]}}]'
    },
    "SELECTOR-OTHER-LABEL-SELECTOR-FIELDS (empty)": {
        "selectors": '[{"name": "x", "objectSelector": {"matchLabels": {}}}]'
    },
    "SELECTOR-DUPLICATE-JSON-KEYS": {
        "selectors": '[{"name": "x", "objectSelector": {"matchLabels": {"a": "1"}}, '
        '"objectSelector": {"matchLabels": {"b": "2"}}}]'
    },
    "PROFILE-BOOLEAN-SPELLINGS (True)": {"enableClusterIp": "True"},
    "PROFILE-BOOLEAN-SPELLINGS (yes)": {"enableClusterIp": "yes", "featureGates": "WaitForFirstConsumer=1"},
}
_CHECK = """
import json, sys
from tests.mutation.variants import VARIANTS
if sys.argv[1] != "reference":
    VARIANTS[sys.argv[1]].patch()
from eci_reference.profile import ProfileError, parse_profile
from eci_reference.matching import is_eci_pod
accepted = {}
for case, data in json.loads(sys.argv[2]).items():
    try:
        profile = parse_profile(data)
    except ProfileError:
        accepted[case] = None
        continue
    accepted[case] = is_eci_pod({"a": "1", "b": "2"}, {}, profile)
print(json.dumps(accepted))
"""


def _accepted(implementation: str) -> dict[str, bool | None]:
    result = subprocess.run(
        [sys.executable, "-c", _CHECK, implementation, json.dumps(_OPEN_PROFILES)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    decided: dict[str, bool | None] = json.loads(result.stdout)
    return decided


def test_the_open_profile_cases_are_decided_unlike_the_reference() -> None:
    """None: rejected; otherwise accepted, and whether the pod labelled a=1,b=2 is routed."""
    assert _accepted("reference") == {
        **dict.fromkeys(_OPEN_PROFILES),
        "PROFILE-BOOLEAN-SPELLINGS (True)": False,  # any letter case, as Go's strconv.ParseBool
    }
    assert _accepted("unspecified-other-way") == {
        "SELECTOR-NAME-ONLY": False,
        "SELECTOR-OTHER-LABEL-SELECTOR-FIELDS": False,  # accepted, routes nothing
        "SELECTOR-OTHER-LABEL-SELECTOR-FIELDS (empty)": False,
        "SELECTOR-DUPLICATE-JSON-KEYS": True,  # the last objectSelector (b=2) is in force
        "PROFILE-BOOLEAN-SPELLINGS (True)": None,
        "PROFILE-BOOLEAN-SPELLINGS (yes)": False,
    }


# --- the variants' provisioners, against the in-memory API server ------------------------------------


class _NoEvents:
    async def post(self, reference: Mapping[str, Any], event_type: str, reason: str, message: str) -> None:
        return None


def _storage_class(mode: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "eci-disk"},
        "provisioner": "disk.eci-reference.io",
        "parameters": {"regionId": "cn-hangzhou", "zoneId": "cn-hangzhou-i"},
        "volumeBindingMode": mode,
    }


def _claim() -> dict[str, Any]:
    return {
        "metadata": {"name": "data", "namespace": "ns", "uid": "claim-uid"},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "eci-disk",
                 "resources": {"requests": {"storage": "1Gi"}}},
        "status": {"phase": "Pending"},
    }  # fmt: skip


def _consumer(node_name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "consumer", "namespace": "ns", "uid": "pod-uid"},
        "spec": {
            "nodeName": node_name,
            "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}],
        },
        "status": {"phase": "Running"},
    }


def _zone_of_volume(api: FakeApiServer) -> str | None:
    volume = api.get("persistentvolumes", "pvc-claim-uid")
    return None if volume is None else volume["metadata"]["labels"][ZONE]


def _with_provisioner(tmp_path: Path, kind: type[variants.BoundPodProvisioner], scenario: Any) -> None:
    async def main() -> None:
        api = FakeApiServer()
        node_j = {
            "metadata": {
                "name": "vk-j",
                "labels": {ZONE: "cn-hangzhou-j", "topology.kubernetes.io/region": "cn-hangzhou"},
            }
        }
        seed(api, [("nodes", node_j), ("storageclasses", _storage_class("WaitForFirstConsumer"))])
        await api.start()
        try:
            kubeconfig = tmp_path / "kubeconfig"
            kubeconfig.write_text(api.kubeconfig())
            configuration = client.Configuration()
            await config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
            async with client.ApiClient(configuration) as api_client:
                await scenario(api, kind(api_client, load_cloud_config(), _NoEvents()))
        finally:
            await api.stop()

    asyncio.run(asyncio.wait_for(main(), timeout=60))


def test_a_wait_for_first_consumer_disk_follows_the_node_its_pod_is_bound_to(tmp_path: Path) -> None:
    async def scenario(api: FakeApiServer, provisioner: variants.BoundPodProvisioner) -> None:
        assert not await provisioner.provision(_claim())  # no consumer: deferred
        provisioner._pod_seen(_consumer("vk-j"))  # bound by spec.nodeName: no selected-node annotation
        assert await provisioner.provision(_claim())
        assert _zone_of_volume(api) == "cn-hangzhou-j"  # the node's zone, not the class's cn-hangzhou-i

    _with_provisioner(tmp_path, variants.BoundPodProvisioner, scenario)


def test_a_claim_keeps_the_binding_mode_it_was_first_seen_under(tmp_path: Path) -> None:
    async def scenario(api: FakeApiServer, provisioner: variants.BoundPodProvisioner) -> None:
        assert not await provisioner.provision(_claim())  # first seen under WaitForFirstConsumer
        api.put("storageclasses", _storage_class("Immediate"))  # featureGates switched back
        assert not await provisioner.provision(_claim())  # still waits for a consumer
        provisioner._pod_seen(_consumer("vk-j"))
        assert await provisioner.provision(_claim())
        assert _zone_of_volume(api) == "cn-hangzhou-j"

    _with_provisioner(tmp_path, variants.ModeAtCreationProvisioner, scenario)


def test_a_claim_first_seen_under_immediate_is_provisioned_at_once_after_the_switch(tmp_path: Path) -> None:
    async def scenario(api: FakeApiServer, provisioner: variants.BoundPodProvisioner) -> None:
        assert isinstance(provisioner, variants.ModeAtCreationProvisioner)
        provisioner._modes["claim-uid"] = "Immediate"  # seen before the switch to WaitForFirstConsumer
        assert await provisioner.provision(_claim())
        assert _zone_of_volume(api) == "cn-hangzhou-i"  # the class's zone, without a consumer

    _with_provisioner(tmp_path, variants.ModeAtCreationProvisioner, scenario)
