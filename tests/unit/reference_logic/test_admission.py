"""The admission HTTP handler, through a real aiohttp server on a local port (no pytest plugin)."""

import asyncio
import base64
import json
import logging
from functools import partial

import pytest
from aiohttp.test_utils import TestClient, TestServer

from eci_reference.admission import build_admission_app
from eci_reference.admission_requests import POD_KIND, admission_review
from eci_reference.constants import ECI_LABEL, SECURITY_GROUP_ANNOTATION, VSWITCH_ANNOTATION
from eci_reference.profile import DEFAULT_PROFILE_DATA, parse_profile

from .jsonpatch_apply import apply_patch
from .seed_examples import EXAMPLE_2

DEFAULTS = parse_profile(DEFAULT_PROFILE_DATA)


class FakeContext:
    """The controller's side: a profile and a namespace table; some namespaces fail or hang."""

    def __init__(self, profile=DEFAULTS, namespaces=None):
        self.profile = profile
        self.namespaces = {"default": {}, "eci": {ECI_LABEL: "true"}, "gpu": {"gpu": "true"}}
        self.namespaces.update(namespaces or {})
        self.lookups = []

    def active_profile(self):
        return self.profile

    async def namespace_labels(self, name):
        self.lookups.append(name)
        if name == "broken":
            raise RuntimeError("the API server is unreachable")
        if name == "slow":
            await asyncio.sleep(10)
        return self.namespaces.get(name)


def make_pod(labels=None, namespace="default", **spec):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"generateName": "web-", "namespace": namespace, "labels": labels or {}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}], **spec},
    }


make_review = partial(admission_review, uid="0b5a8c5e-1")


def exchange(context, *requests, **app_options):
    """Send (method, path, body) requests to a fresh server; return [(status, text)]."""

    async def run():
        async with TestClient(TestServer(build_admission_app(context, **app_options))) as client:
            answers = []
            for method, path, body in requests:
                data = body if isinstance(body, bytes | None) else json.dumps(body).encode()
                response = await client.request(method, path, data=data)
                answers.append((response.status, await response.text()))
            return answers

    return asyncio.run(run())


def admit(context, review, **app_options):
    ((status, text),) = exchange(context, ("POST", "/mutate", review), **app_options)
    assert status == 200, text
    payload = json.loads(text)
    assert payload["apiVersion"] == "admission.k8s.io/v1"
    assert payload["kind"] == "AdmissionReview"
    return payload["response"]


def patch_of(response):
    assert response["patchType"] == "JSONPatch"
    return json.loads(base64.b64decode(response["patch"]))


# --- health --------------------------------------------------------------------------------------


def test_healthz_and_readyz():
    assert exchange(FakeContext(), ("GET", "/healthz", None), ("GET", "/readyz", None)) == [
        (200, "ok"),
        (200, "ok"),
    ]


def test_not_ready_without_a_profile():
    assert exchange(FakeContext(profile=None), ("GET", "/healthz", None), ("GET", "/readyz", None)) == [
        (200, "ok"),
        (503, "no eci-profile is active yet"),
    ]


# --- pods ----------------------------------------------------------------------------------------


def test_eci_pod_is_allowed_with_a_patch():
    pod = make_pod({ECI_LABEL: "true"})
    response = admit(FakeContext(), make_review(pod))
    assert response["uid"] == "0b5a8c5e-1"
    assert response["allowed"] is True
    assert "warnings" not in response
    result = apply_patch(pod, patch_of(response))
    assert result["spec"]["nodeSelector"] == {"type": "virtual-kubelet"}
    assert result["metadata"]["annotations"] == {
        VSWITCH_ANNOTATION: "vsw-hz-i,vsw-hz-j",
        SECURITY_GROUP_ANNOTATION: "sg-reference-default",
    }
    # The API server calls once per matching vk-webhook entry: the patched pod needs nothing more.
    assert admit(FakeContext(), make_review(result)) == {"uid": "0b5a8c5e-1", "allowed": True}


def test_regular_pod_is_allowed_unchanged():
    assert admit(FakeContext(), make_review(make_pod({"app": "web"}))) == {
        "uid": "0b5a8c5e-1",
        "allowed": True,
    }


def test_namespace_labels_are_looked_up():
    context = FakeContext(profile=parse_profile({"selectors": EXAMPLE_2}))
    response = admit(context, make_review(make_pod(namespace="gpu"), namespace="gpu"))
    assert context.lookups == ["gpu"]
    result = apply_patch(make_pod(namespace="gpu"), patch_of(response))
    assert result["metadata"]["labels"] == {"gpu": "test"}
    response = admit(context, make_review(make_pod(namespace="eci"), namespace="eci"))
    assert "patch" in response


def test_missing_namespace_is_allowed_with_a_warning():
    response = admit(FakeContext(), make_review(make_pod({ECI_LABEL: "true"}, "gone"), namespace="gone"))
    assert response["allowed"] is True
    assert response["warnings"] == ["namespace 'gone' not found; namespace labels were not considered"]
    assert "patch" in response


def test_conflicting_node_selector_is_returned_as_a_warning():
    pod = make_pod({ECI_LABEL: "true"}, nodeSelector={"type": "gpu"})
    response = admit(FakeContext(), make_review(pod))
    assert response["warnings"] == [
        "pod sets nodeSelector type='gpu'; kept, so it will not run on a virtual node"
    ]


@pytest.mark.parametrize(
    ("operation", "kind"),
    [
        ("UPDATE", POD_KIND),
        ("DELETE", POD_KIND),
        ("CREATE", {"group": "", "version": "v1", "kind": "ConfigMap"}),
        ("CREATE", {"group": "apps", "version": "v1", "kind": "Pod"}),
        ("CREATE", "Pod"),
    ],
)
def test_anything_but_pod_create_is_allowed_unchanged(operation, kind):
    review = make_review(make_pod({ECI_LABEL: "true"}), operation=operation, kind=kind)
    assert admit(FakeContext(), review) == {"uid": "0b5a8c5e-1", "allowed": True}


def test_subresources_are_allowed_unchanged():
    review = make_review(make_pod({ECI_LABEL: "true"}))
    review["request"]["subResource"] = "ephemeralcontainers"
    assert admit(FakeContext(), review) == {"uid": "0b5a8c5e-1", "allowed": True}


# --- denials -------------------------------------------------------------------------------------


def test_no_active_profile_denies_with_503():
    response = admit(FakeContext(profile=None), make_review(make_pod({ECI_LABEL: "true"})))
    assert response == {
        "uid": "0b5a8c5e-1",
        "allowed": False,
        "status": {"code": 503, "message": "no eci-profile is active yet; retry shortly"},
    }


def test_failed_namespace_lookup_denies_with_503():
    response = admit(FakeContext(), make_review(make_pod(namespace="broken"), namespace="broken"))
    assert response["allowed"] is False
    assert response["status"] == {
        "code": 503,
        "message": "looking up namespace 'broken' failed; retry shortly",
    }


def test_slow_namespace_lookup_times_out_with_503():
    review = make_review(make_pod(namespace="slow"), namespace="slow")
    response = admit(FakeContext(), review, namespace_lookup_timeout=0.05)
    assert response["status"]["code"] == 503


@pytest.mark.parametrize(
    ("pod", "message"),
    [
        ("not-a-pod", "malformed pod: request.object is not a JSON object"),
        (None, "malformed pod: request.object is not a JSON object"),
        ({"metadata": {"labels": {ECI_LABEL: 1}}}, "malformed pod: metadata.labels must be a map of strings"),
        (
            {"metadata": {"labels": {ECI_LABEL: "true"}}, "spec": 3},
            "malformed pod: spec must be a JSON object",
        ),
    ],
)
def test_malformed_pod_is_denied_with_400(pod, message):
    response = admit(FakeContext(), make_review(pod))
    assert response == {"uid": "0b5a8c5e-1", "allowed": False, "status": {"code": 400, "message": message}}


# --- bad requests --------------------------------------------------------------------------------

GOOD = make_review(make_pod())


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            b"{",
            "body is not valid JSON: Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)",
        ),
        (b"\xff\xfe\xfa", None),
        (
            b"[" * 100_000,
            "body is not valid JSON: nested too deeply",
        ),
        (b"[]", "body is not a JSON object"),
        (
            {**GOOD, "apiVersion": "admission.k8s.io/v1beta1"},
            "apiVersion must be admission.k8s.io/v1, got 'admission.k8s.io/v1beta1'",
        ),
        ({**GOOD, "kind": "Pod"}, "kind must be AdmissionReview, got 'Pod'"),
        ({k: v for k, v in GOOD.items() if k != "request"}, "request is missing"),
        ({**GOOD, "request": {**GOOD["request"], "uid": ""}}, "request.uid is missing"),
        (
            {**GOOD, "request": {k: v for k, v in GOOD["request"].items() if k != "uid"}},
            "request.uid is missing",
        ),
    ],
)
def test_bad_requests_get_400_with_a_json_error(body, error):
    ((status, text),) = exchange(FakeContext(), ("POST", "/mutate", body))
    assert status == 400
    if error is not None:
        assert json.loads(text) == {"error": error}
    else:
        assert json.loads(text)["error"].startswith("body is not valid JSON")


def test_too_large_body_gets_413():
    big = make_review(make_pod({ECI_LABEL: "true"}))
    big["request"]["object"]["metadata"]["annotations"] = {"big": "x" * 2000}
    ((status, text),) = exchange(FakeContext(), ("POST", "/mutate", big), max_body_bytes=1000)
    assert status == 413
    assert json.loads(text) == {"error": "request body exceeds 1000 bytes"}


def test_default_body_limit_is_the_api_servers():
    body = b" " * (3 * 1024 * 1024 + 1)
    ((status, _),) = exchange(FakeContext(), ("POST", "/mutate", body))
    assert status == 413
    ((status, _),) = exchange(
        FakeContext(), ("POST", "/mutate", json.dumps(GOOD).encode() + b" " * 1_000_000)
    )
    assert status == 200


# --- logging -------------------------------------------------------------------------------------


def test_one_structured_log_line_per_decision(caplog):
    caplog.set_level(logging.INFO, logger="eci_reference.admission")
    context = FakeContext(profile=parse_profile({"selectors": EXAMPLE_2}))
    admit(context, make_review(make_pod(namespace="gpu"), namespace="gpu", uid="u-7"))
    (record,) = [record for record in caplog.records if record.name == "eci_reference.admission"]
    line = json.loads(record.getMessage())
    assert line["uid"] == "u-7"
    assert line["namespace"] == "gpu"
    assert line["generateName"] == "web-"
    assert line["eci"] is True
    assert line["reasons"] == ["selector:gpu-namespace-selector"]
    assert line["selectors"] == ["gpu-namespace-selector"]
    assert line["effects"] == ["gpu-namespace-selector"]
    assert line["ops"] == 4
    assert line["warnings"] == []
    assert isinstance(line["ms"], float)
