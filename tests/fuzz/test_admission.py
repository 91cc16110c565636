"""Fuzz the reference webhook's AdmissionReview handling over real HTTP (issue 13 item 4).

Whatever the body: no 5xx (an unhandled exception), an answer within ``HANG_SECONDS``, and every
rejection a clear one: HTTP 400/413 with a JSON ``error`` that names what is wrong, or an
AdmissionReview whose ``allowed: false`` carries a status code and a message. Well-formed reviews
are still answered exactly as the pure planner (``plan_pod_patch``) decides.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from eci_reference.admission_requests import admission_review
from eci_reference.constants import ECI_LABEL
from eci_reference.mutation import MalformedPodError, plan_pod_patch
from eci_reference.profile import parse_profile

from .admission_server import (
    FAILING_NAMESPACES,
    FUZZ_MAX_BODY_BYTES,
    NAMESPACES,
    AdmissionClient,
    Answer,
    FuzzContext,
    running_admission_server,
)
from .budget import budgeted
from .strategies import (
    awkward_text,
    bad_values,
    broken_bytes,
    damaged,
    huge_text,
    json_values,
    nested_values,
    render_json,
    to_bytes,
)

PROFILE = parse_profile(
    {
        "vSwitchIds": "vsw-a,vsw-b",
        "securityGroupId": "sg-1",
        "selectors": json.dumps(
            [
                {"name": "gpu", "namespaceSelector": {"matchLabels": {"gpu": "true"}}},
                {
                    "name": "batch",
                    "objectSelector": {"matchLabels": {"tier": "batch"}},
                    "effect": {"annotations": {"k8s.aliyun.com/eci-use-specs": "ecs.c6.xlarge"}},
                },
                {"name": "everywhere", "effect": {"labels": {"fuzzed": "yes"}}},
            ]
        ),
    }
)
API_VERSION = "admission.k8s.io/v1"


VALID_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"generateName": "web-", "namespace": "eci", "labels": {ECI_LABEL: "true", "tier": "batch"},
                 "annotations": {"note": "x"}},
    "spec": {"containers": [{"name": "c", "image": "nginx"}], "nodeSelector": {"disk": "ssd"},
             "tolerations": [{"key": "other", "operator": "Exists"}]},
}  # fmt: skip
VALID_REVIEW = admission_review(VALID_POD, namespace="eci")


@pytest.fixture(scope="module")
def admission() -> Iterator[AdmissionClient]:
    """One server for every example: starting one per example would dominate the run."""
    with running_admission_server(FuzzContext(PROFILE)) as client:
        yield client


# --- the oracle ------------------------------------------------------------------------------------


#: Nesting from which "nested too deeply" is a fair answer: where it starts depends on the stack depth
#: of the thread that parses, so the oracle cannot predict the exact level.
DEEP_NESTING = 100


def parse_deep(body: bytes) -> Any:
    """``json.loads`` with room for the fuzzer's deepest documents (the server thread is idle now)."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))
    try:
        return json.loads(body)
    finally:
        sys.setrecursionlimit(limit)


def nesting(value: Any) -> int:
    """How many arrays and objects deep ``value`` goes (iteratively: it may be thousands)."""
    deepest, todo = 0, [(value, 0)]
    while todo:
        node, depth = todo.pop()
        deepest = max(deepest, depth)
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        todo.extend((child, depth + 1) for child in children)
    return deepest


def expected_rejection(body: bytes) -> tuple[int, str] | None:
    """The HTTP error the module's contract gives ``body``, with a word its message must contain."""
    if len(body) > FUZZ_MAX_BODY_BYTES:
        return 413, "exceeds"
    try:
        document = parse_deep(body)
    except (ValueError, RecursionError):
        return 400, "JSON"
    if not isinstance(document, dict):
        return 400, "JSON object"
    if document.get("apiVersion") != API_VERSION:
        return 400, "apiVersion"
    if document.get("kind") != "AdmissionReview":
        return 400, "kind"
    request = document.get("request")
    if not isinstance(request, dict):
        return 400, "request"
    if not isinstance(request.get("uid"), str) or not request["uid"]:
        return 400, "uid"
    return None


def check_answer(body: bytes, answer: Answer) -> dict[str, Any] | None:
    """Assert the contract for any body; the AdmissionReview ``response`` when there is one."""
    assert answer.status < 500, f"HTTP {answer.status} (unhandled error?): {answer.text[:300]}"
    rejection = expected_rejection(body)
    if answer.status == 400 and "nested too deeply" in answer.text and rejection != (413, "exceeds"):
        event("HTTP 400 (nested too deeply)")
        assert nesting(parse_deep(body)) >= DEEP_NESTING, answer.text
        assert json.loads(answer.text)["error"] == "body is not valid JSON: nested too deeply"
        return None
    if rejection is not None:
        status, word = rejection
        event(f"HTTP {status} ({word})")
        assert answer.status == status, answer.text[:300]
        message = json.loads(answer.text)["error"]
        assert isinstance(message, str)
        assert word in message, message
        return None
    assert answer.status == 200, answer.text[:300]
    payload = json.loads(answer.text)
    assert payload["apiVersion"] == API_VERSION
    assert payload["kind"] == "AdmissionReview"
    response: dict[str, Any] = payload["response"]
    assert response["uid"] == parse_deep(body)["request"]["uid"]
    assert isinstance(response["allowed"], bool)
    if not response["allowed"]:
        event(f"denied {response['status']['code']}")
        assert response["status"]["code"] in (400, 503)
        assert isinstance(response["status"]["message"], str)
        assert response["status"]["message"].strip()
        assert "patch" not in response
    elif "patch" in response:
        event("patched")
        assert response["patchType"] == "JSONPatch"
        ops = json.loads(base64.b64decode(response["patch"], validate=True))
        assert ops
        assert all(op["op"] == "add" and op["path"].startswith("/") for op in ops)
    else:
        event("allowed unchanged")
    return response


# --- bad bodies ------------------------------------------------------------------------------------


@budgeted()
@given(damage=damaged(VALID_REVIEW))
def test_a_review_with_any_field_wrong_or_missing(admission, damage):
    """Every field at every level of a valid review: another type, huge, deeply nested, or removed."""
    body = to_bytes(render_json(damage.document))
    event(f"damaged at depth {len(damage.path)}")
    check_answer(body, admission.post(body))


@budgeted()
@given(body=broken_bytes(to_bytes(json.dumps(VALID_REVIEW))), chunked=st.booleans())
def test_truncated_corrupted_or_arbitrary_bytes(admission, body, chunked):
    check_answer(body, admission.post(body, chunked=chunked))


whole_bodies = st.one_of(
    json_values.map(render_json),
    nested_values.map(render_json),
    huge_text.map(lambda text: render_json(admission_review({"metadata": {"labels": {"big": text}}}))),
    st.builds(lambda api, kind: render_json({"apiVersion": api, "kind": kind, "request": {"uid": "u"}}),
              bad_values | st.just(API_VERSION), bad_values | st.just("AdmissionReview")),
    st.builds(lambda uid: render_json(admission_review(VALID_POD, uid=uid)), bad_values | awkward_text),
)  # fmt: skip


@budgeted()
@given(
    text=whole_bodies,
    chunked=st.booleans(),
    content_type=st.sampled_from(["application/json", "text/plain", ""]),
)
def test_whole_bodies_of_the_wrong_shape(admission, text, chunked, content_type):
    """Any JSON value, deep nesting, huge reviews, a wrong apiVersion/kind, any uid."""
    body = to_bytes(text)
    check_answer(body, admission.post(body, chunked=chunked, content_type=content_type))


# --- well-formed reviews are still answered right ---------------------------------------------------

label_maps = st.dictionaries(
    st.sampled_from([ECI_LABEL, "tier", "app", "example.com/role"]),
    st.sampled_from(["true", "false", "batch", "web"]),
    max_size=3,
)
maybe_bad = st.one_of(label_maps, json_values)
pods = st.fixed_dictionaries(
    {"kind": st.just("Pod"), "spec": st.fixed_dictionaries({"containers": st.just([{"name": "c"}])})},
    optional={
        "metadata": st.fixed_dictionaries(
            {}, optional={"labels": maybe_bad, "annotations": maybe_bad, "name": awkward_text}
        ),
    },
)
reviews = st.builds(
    admission_review,
    pods | json_values,
    st.sampled_from([*NAMESPACES, *FAILING_NAMESPACES, "gone"]),
    awkward_text.filter(bool),
    st.sampled_from(["CREATE", "CREATE", "CREATE", "UPDATE", "DELETE"]),
)


@budgeted()
@given(document=reviews)
def test_well_formed_reviews_get_the_planned_patch(admission, document):
    body = to_bytes(json.dumps(document))
    response = check_answer(body, admission.post(body))
    assert response is not None
    request = document["request"]
    pod, namespace = request["object"], request["namespace"]
    if request["operation"] != "CREATE":
        assert response == {"uid": request["uid"], "allowed": True}
        return
    if not isinstance(pod, dict):
        assert response["status"] == {
            "code": 400,
            "message": "malformed pod: request.object is not a JSON object",
        }
        return
    if namespace in FAILING_NAMESPACES:
        assert not response["allowed"]
        assert response["status"]["code"] == 503
        assert repr(namespace) in response["status"]["message"]
        return
    malformed: str | None
    try:
        plan = plan_pod_patch(pod, NAMESPACES.get(namespace, {}), PROFILE)
    except MalformedPodError as error:
        malformed = f"malformed pod: {error}"
    else:
        malformed = None
    if malformed is not None:
        assert response["status"] == {"code": 400, "message": malformed}
        return
    assert response["allowed"]
    ops = json.loads(base64.b64decode(response["patch"])) if "patch" in response else []
    assert ops == json.loads(json.dumps(plan.ops))
    assert set(plan.warnings) <= set(response.get("warnings", []))
    event("eci pod" if plan.routing.is_eci else "regular pod")
