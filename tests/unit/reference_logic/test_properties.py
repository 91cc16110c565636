"""Property tests: the parser fails only with ProfileError, the patch is idempotent and only adds,
and the admission handler answers any body with an AdmissionReview or a 4xx, never a 500."""

import asyncio
import base64
import json

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from eci_reference.admission import build_admission_app
from eci_reference.constants import ECI_LABEL, SECURITY_GROUP_ANNOTATION, VSWITCH_ANNOTATION
from eci_reference.matching import is_eci_pod
from eci_reference.mutation import plan_pod_patch, tolerates_virtual_node_taint
from eci_reference.profile import Profile, ProfileError, parse_profile
from tests.seed_data import SEED_KUBECTL_DATA

from .jsonpatch_apply import apply_patch
from .test_admission import FakeContext, make_review

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
jsonish = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
KNOWN_KEYS = list(SEED_KUBECTL_DATA)


# --- parse_profile ----------------------------------------------------------------------------------


def assert_profile_or_profile_error(data):
    try:
        profile = parse_profile(data)
    except ProfileError as error:
        problems = error.problems
    else:
        assert isinstance(profile, Profile)
        hash(profile)
        return
    assert problems
    assert all(isinstance(problem, str) and problem for problem in problems)


@FAST
@given(st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=20), st.text(max_size=40)))
def test_parse_profile_on_arbitrary_strings(data):
    assert_profile_or_profile_error(data)


@FAST
@given(st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=10), jsonish))
def test_parse_profile_on_arbitrary_json_values(data):
    assert_profile_or_profile_error(data)


@FAST
@given(jsonish)
def test_parse_profile_on_arbitrary_selectors_json(document):
    assert_profile_or_profile_error({"selectors": json.dumps(document)})


@FAST
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["name", "namespaceSelector", "objectSelector", "effect", "other"]),
            jsonish | st.dictionaries(st.sampled_from(["matchLabels", "labels", "annotations"]), jsonish),
            max_size=4,
        ),
        max_size=4,
    )
)
def test_parse_profile_on_selector_shaped_json(selectors):
    assert_profile_or_profile_error({"selectors": json.dumps(selectors)})


@FAST
@given(jsonish)
def test_parse_profile_on_data_that_is_not_a_map(data):
    assert_profile_or_profile_error(data)


# --- plan_pod_patch -------------------------------------------------------------------------------

LABEL_KEYS = st.sampled_from(["app", "team", "tier", "example.com/role", ECI_LABEL])
LABEL_VALUES = st.sampled_from(["a", "b", "true", "false"])
ANNOTATION_KEYS = LABEL_KEYS | st.sampled_from([VSWITCH_ANNOTATION, SECURITY_GROUP_ANNOTATION, "note"])
label_maps = st.dictionaries(LABEL_KEYS, LABEL_VALUES, max_size=3)
annotation_maps = st.dictionaries(ANNOTATION_KEYS, st.text(max_size=5), max_size=3)
match_labels = st.dictionaries(LABEL_KEYS, LABEL_VALUES, min_size=1, max_size=2).map(
    lambda labels: {"matchLabels": labels}
)
raw_selectors = st.fixed_dictionaries(
    {},
    optional={
        "namespaceSelector": match_labels,
        "objectSelector": match_labels,
        "effect": st.fixed_dictionaries({}, optional={"labels": label_maps, "annotations": annotation_maps}),
    },
)


def valid_selectors(raw):
    selectors = []
    for index, fields in enumerate(raw):
        selector = {"name": f"s{index}", **fields}
        effect = selector.get("effect", {})
        if (
            "namespaceSelector" not in selector
            and "objectSelector" not in selector
            and not any(effect.values())
        ):
            selector["effect"] = {"labels": {"global": str(index)}}
        selectors.append(selector)
    return selectors


profiles = st.builds(
    lambda raw, vswitch, security_group: parse_profile(
        {
            "selectors": json.dumps(valid_selectors(raw)),
            "vSwitchIds": vswitch,
            "securityGroupId": security_group,
        }
    ),
    st.lists(raw_selectors, max_size=5),
    st.sampled_from(["", "vsw-hz-i", "vsw-hz-i,vsw-hz-j"]),
    st.sampled_from(["", "sg-1"]),
)
tolerations = st.sampled_from(
    [
        {"key": "virtual-kubelet.io/provider", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "virtual-kubelet.io/provider", "operator": "Equal", "value": "x"},
        {"operator": "Exists"},
        {"key": "other", "operator": "Exists"},
    ]
)
absent = st.just("absent")


def without_absent(mapping):
    return {key: value for key, value in mapping.items() if value != "absent"}


node_selectors = st.dictionaries(
    st.sampled_from(["type", "disk"]), st.sampled_from(["virtual-kubelet", "gpu"])
)
metadata = st.fixed_dictionaries(
    {"labels": absent | st.none() | label_maps, "annotations": absent | st.none() | annotation_maps}
).map(without_absent)
specs = st.fixed_dictionaries(
    {
        "nodeSelector": absent | st.none() | node_selectors,
        "tolerations": absent | st.none() | st.lists(tolerations, max_size=2),
        "nodeName": absent | st.sampled_from(["", "worker-1"]),
    }
).map(without_absent)
#: Pod-shaped objects where any map may be absent or null ("absent" marks a field left out).
pods = st.builds(
    lambda metadata, spec: without_absent({"kind": "Pod", "metadata": metadata, "spec": spec}),
    absent | metadata,
    absent | specs,
)


def value_at(pod, *path, default):
    node = pod
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node or default


def string_map(pod, *path):
    return value_at(pod, *path, default={})


@FAST
@given(pod=pods, namespace_labels=label_maps, profile=profiles)
def test_plan_is_idempotent_and_only_adds(pod, namespace_labels, profile):
    patch = plan_pod_patch(pod, namespace_labels, profile)
    pod_labels = string_map(pod, "metadata", "labels")
    if not is_eci_pod(pod_labels, namespace_labels, profile):
        assert patch.ops == ()
        return
    assert all(op["op"] == "add" for op in patch.ops)
    result = apply_patch(pod, patch.ops)
    again = plan_pod_patch(result, namespace_labels, profile)
    assert again.ops == ()
    for path in (("metadata", "labels"), ("metadata", "annotations"), ("spec", "nodeSelector")):
        before, after = string_map(pod, *path), string_map(result, *path)
        assert {key: after.get(key) for key in before} == before, path
    tolerations_before = value_at(pod, "spec", "tolerations", default=[])
    tolerations_after = value_at(result, "spec", "tolerations", default=[])
    assert tolerations_after[: len(tolerations_before)] == tolerations_before
    if not string_map(pod, "spec").get("nodeName"):
        assert "type" in string_map(result, "spec", "nodeSelector")
        assert tolerates_virtual_node_taint(tolerations_after)
    annotations = string_map(result, "metadata", "annotations")
    if profile.vswitch_ids:
        assert VSWITCH_ANNOTATION in annotations
    if profile.security_group_id:
        assert SECURITY_GROUP_ANNOTATION in annotations


# --- the admission handler ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def admission_client():
    """One server for all fuzzed bodies: a fresh one per example would dominate the run time."""

    async def start():
        client = TestClient(TestServer(build_admission_app(FakeContext(), namespace_lookup_timeout=0.05)))
        await client.start_server()
        return client

    loop = asyncio.new_event_loop()
    client = loop.run_until_complete(start())
    yield loop, client
    loop.run_until_complete(client.close())
    loop.close()


admission_requests = st.fixed_dictionaries(
    {},
    optional={
        "uid": st.text(max_size=8) | st.integers() | st.none(),
        "kind": st.sampled_from(
            [{"group": "", "version": "v1", "kind": "Pod"}, {"kind": "Secret"}, "Pod", None]
        ),
        "operation": st.sampled_from(["CREATE", "UPDATE", "CONNECT", 7]),
        "namespace": st.sampled_from(["default", "eci", "gone", "broken", "slow", "", 3])
        | st.text(max_size=5),
        "subResource": st.sampled_from(["", "status"]),
        "object": pods | jsonish,
    },
)
reviews = st.fixed_dictionaries(
    {},
    optional={
        "apiVersion": st.sampled_from(["admission.k8s.io/v1", "admission.k8s.io/v1beta1"]) | jsonish,
        "kind": st.sampled_from(["AdmissionReview", "Pod"]),
        "request": admission_requests | jsonish,
    },
)
good_reviews = st.builds(
    make_review, pods | jsonish, st.sampled_from(["default", "eci", "gone", "broken", "slow"])
)
arbitrary_bodies = st.one_of(
    reviews.map(lambda document: json.dumps(document).encode()),
    jsonish.map(lambda document: json.dumps(document).encode()),
    st.binary(max_size=200),
)


async def post(client, body):
    response = await client.post("/mutate", data=body)
    return response.status, await response.text()


def check_answer(status, text, body):
    assert status in (200, 400, 413), text
    payload = json.loads(text)
    if status != 200:
        assert isinstance(payload["error"], str)
        return
    request = json.loads(body)["request"]
    response = payload["response"]
    assert payload["apiVersion"] == "admission.k8s.io/v1"
    assert payload["kind"] == "AdmissionReview"
    assert response["uid"] == request["uid"]
    assert isinstance(response["allowed"], bool)
    event("patched" if "patch" in response else "allowed" if response["allowed"] else "denied")
    if "patch" in response:
        assert response["patchType"] == "JSONPatch"
        ops = json.loads(base64.b64decode(response["patch"]))
        assert ops
        apply_patch(request["object"], ops)
    if not response["allowed"]:
        assert response["status"]["code"] in (400, 503)


@FAST
@given(body=arbitrary_bodies)
def test_every_body_gets_an_admission_review_or_a_4xx(admission_client, body):
    loop, client = admission_client
    status, text = loop.run_until_complete(post(client, body))
    event(f"HTTP {status}")
    check_answer(status, text, body)


@FAST
@given(review=good_reviews)
def test_every_pod_review_gets_an_admission_review(admission_client, review):
    loop, client = admission_client
    body = json.dumps(review).encode()
    status, text = loop.run_until_complete(post(client, body))
    assert status == 200, text
    check_answer(status, text, body)
