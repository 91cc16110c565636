"""vk-webhook construction from profiles, comparison with what the API server returns, caBundle."""

import base64
import copy
import json
from datetime import timedelta
from typing import Any

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from eci_reference.constants import (
    ECI_LABEL,
    NAMESPACE_LABEL_ENTRY,
    NAMESPACE_NAME_LABEL,
    POD_LABEL_ENTRY,
    WEBHOOK_CONFIGURATION_NAME,
)
from eci_reference.profile import DEFAULT_PROFILE_DATA, parse_profile
from eci_reference.webhook_config import (
    ServiceEndpoint,
    UrlEndpoint,
    build_webhook_configuration,
    configuration_differs,
    existing_ca_bundle,
    merge_ca_bundle,
    selector_entry_name,
)

from ..reference_logic.seed_examples import EXAMPLE_1, EXAMPLE_2, EXAMPLE_3, TEMPLATE

CA = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
HOST = UrlEndpoint(host="127.0.0.1", port=18443)
SERVICE = ServiceEndpoint(namespace="kube-system", name="eci-reference")
SYSTEM = ["kube-system", "kube-node-lease"]


def profile_with(selectors: str):
    return parse_profile({**DEFAULT_PROFILE_DATA, "selectors": selectors})


def entries(configuration) -> dict[str, Any]:
    return {entry["name"]: entry for entry in configuration["webhooks"]}


def exemption(namespaces=SYSTEM):
    return [{"key": NAMESPACE_NAME_LABEL, "operator": "NotIn", "values": list(namespaces)}]


# --- the object ----------------------------------------------------------------------------------


def test_default_profile_has_the_two_label_entries():
    configuration = build_webhook_configuration(parse_profile(DEFAULT_PROFILE_DATA), HOST, CA)
    assert configuration["apiVersion"] == "admissionregistration.k8s.io/v1"
    assert configuration["kind"] == "MutatingWebhookConfiguration"
    assert configuration["metadata"] == {
        "name": WEBHOOK_CONFIGURATION_NAME,
        "labels": {"app.kubernetes.io/managed-by": "eci-reference"},
    }
    assert [entry["name"] for entry in configuration["webhooks"]] == [POD_LABEL_ENTRY, NAMESPACE_LABEL_ENTRY]
    pod_label, namespace_label = configuration["webhooks"]
    assert POD_LABEL_ENTRY == "pod-label.vk-webhook.eci-reference.io"
    assert NAMESPACE_LABEL_ENTRY == "namespace-label.vk-webhook.eci-reference.io"
    assert pod_label["objectSelector"] == {"matchLabels": {ECI_LABEL: "true"}}
    assert pod_label["namespaceSelector"] == {}  # an explicit opt-in is honoured in every namespace
    assert namespace_label["namespaceSelector"] == {
        "matchLabels": {ECI_LABEL: "true"},
        "matchExpressions": exemption(),
    }
    assert namespace_label["objectSelector"] == {}


def test_every_entry_has_the_documented_policies():
    configuration = build_webhook_configuration(profile_with(TEMPLATE), HOST, CA)
    for entry in configuration["webhooks"]:
        assert entry["rules"] == [
            {
                "operations": ["CREATE"],
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "resources": ["pods"],
                "scope": "Namespaced",
            }
        ]
        assert entry["admissionReviewVersions"] == ["v1"]
        assert entry["sideEffects"] == "None"
        assert entry["timeoutSeconds"] == 5
        assert entry["failurePolicy"] == "Fail"
        assert entry["reinvocationPolicy"] == "Never"
        assert entry["matchPolicy"] == "Equivalent"


def test_one_entry_per_routing_selector_with_exactly_its_match_labels():
    configuration = build_webhook_configuration(profile_with(TEMPLATE), HOST, CA)
    found = entries(configuration)
    assert list(found) == [
        POD_LABEL_ENTRY,
        NAMESPACE_LABEL_ENTRY,
        "selector-demo1.selector.vk-webhook.eci-reference.io",
        "selector-demo2.selector.vk-webhook.eci-reference.io",
    ]
    both = found[selector_entry_name("selector-demo1")]
    assert both["namespaceSelector"] == {"matchLabels": {"eci": "true"}, "matchExpressions": exemption()}
    assert both["objectSelector"] == {"matchLabels": {"eci": "true"}}
    object_only = found[selector_entry_name("selector-demo2")]
    assert object_only["namespaceSelector"] == {"matchExpressions": exemption()}  # every other namespace
    assert object_only["objectSelector"] == {"matchLabels": {"eci": "test"}}


def test_seed_examples():
    example_1 = entries(build_webhook_configuration(profile_with(EXAMPLE_1), HOST, CA))
    entry = example_1[selector_entry_name("eci-selector")]
    assert entry["namespaceSelector"]["matchLabels"] == {"type": "eci"}
    assert entry["objectSelector"] == {"matchLabels": {"created-by-eci": "true"}}

    example_2 = entries(build_webhook_configuration(profile_with(EXAMPLE_2), HOST, CA))
    entry = example_2[selector_entry_name("gpu-namespace-selector")]
    assert entry["namespaceSelector"]["matchLabels"] == {"gpu": "true"}
    assert entry["objectSelector"] == {}  # every pod of a matching namespace

    example_3 = entries(build_webhook_configuration(profile_with(EXAMPLE_3), HOST, CA))
    entry = example_3[selector_entry_name("autoimc-object-selector")]
    assert entry["objectSelector"] == {"matchLabels": {"imc": "auto"}}


def test_global_effect_selectors_get_no_entry():
    selectors = json.dumps(
        [
            {"name": "everyone", "effect": {"annotations": {"k8s.aliyun.com/eci-auto-imc": "true"}}},
            {"name": "web", "objectSelector": {"matchLabels": {"app": "web"}}},
        ]
    )
    names = [
        entry["name"] for entry in build_webhook_configuration(profile_with(selectors), HOST, CA)["webhooks"]
    ]
    assert names == [POD_LABEL_ENTRY, NAMESPACE_LABEL_ENTRY, selector_entry_name("web")]


def test_several_labels_are_carried_together():
    selectors = json.dumps(
        [{"name": "both", "namespaceSelector": {"matchLabels": {"team": "a", "tier": "gold"}}}]
    )
    entry = entries(build_webhook_configuration(profile_with(selectors), HOST, CA))[
        selector_entry_name("both")
    ]
    assert entry["namespaceSelector"]["matchLabels"] == {"team": "a", "tier": "gold"}


def test_profile_order_is_entry_order():
    selectors = json.dumps(
        [{"name": f"s{i}", "objectSelector": {"matchLabels": {"n": str(i)}}} for i in range(5)]
    )
    names = [
        entry["name"] for entry in build_webhook_configuration(profile_with(selectors), HOST, CA)["webhooks"]
    ]
    assert names[2:] == [selector_entry_name(f"s{i}") for i in range(5)]


# --- client config -------------------------------------------------------------------------------


def test_host_process_client_config_is_a_url():
    entry = build_webhook_configuration(parse_profile(DEFAULT_PROFILE_DATA), HOST, CA)["webhooks"][0]
    assert entry["clientConfig"] == {
        "url": "https://127.0.0.1:18443/mutate",
        "caBundle": base64.b64encode(CA).decode(),
    }


def test_ipv6_url_has_brackets():
    assert UrlEndpoint(host="::1", port=8443).url == "https://[::1]:8443/mutate"


def test_in_cluster_client_config_is_the_service_and_exempts_our_namespace():
    configuration = build_webhook_configuration(profile_with(TEMPLATE), SERVICE, CA)
    for entry in configuration["webhooks"]:
        assert entry["clientConfig"] == {
            "service": {"namespace": "kube-system", "name": "eci-reference", "path": "/mutate", "port": 443},
            "caBundle": base64.b64encode(CA).decode(),
        }
    elsewhere = ServiceEndpoint(namespace="eci-system", name="eci-reference", port=8443)
    configuration = build_webhook_configuration(profile_with(TEMPLATE), elsewhere, CA)
    for entry in configuration["webhooks"][1:]:
        assert entry["namespaceSelector"]["matchExpressions"] == exemption([*SYSTEM, "eci-system"])
    assert configuration["webhooks"][0]["clientConfig"]["service"]["port"] == 8443


# --- comparison ----------------------------------------------------------------------------------


def as_served(configuration):
    """What the API server returns: metadata filled in, empty selectors as {}, no empty lists."""
    served = copy.deepcopy(configuration)
    served["metadata"].update(resourceVersion="42", uid="u", generation=1)
    served["metadata"]["labels"]["extra"] = "added-by-someone"
    return served


def test_same_object_as_served_does_not_differ():
    desired = build_webhook_configuration(profile_with(TEMPLATE), HOST, CA)
    served = as_served(desired)
    served["webhooks"][0].pop("namespaceSelector")  # "unset" and {} are the same
    served["webhooks"][0]["matchConditions"] = []
    assert not configuration_differs(served, desired)


def test_a_changed_selector_differs():
    desired = build_webhook_configuration(profile_with(TEMPLATE), HOST, CA)
    served = as_served(desired)
    served["webhooks"][3]["objectSelector"] = {"matchLabels": {"eci": "other"}}
    assert configuration_differs(served, desired)


def test_an_extra_entry_or_field_is_drift():
    desired = build_webhook_configuration(profile_with(TEMPLATE), HOST, CA)
    served = as_served(desired)
    served["webhooks"].append(copy.deepcopy(served["webhooks"][0]) | {"name": "extra.example.io"})
    assert configuration_differs(served, desired)
    served = as_served(desired)
    served["webhooks"][1]["matchConditions"] = [{"name": "never", "expression": "false"}]
    assert configuration_differs(served, desired)
    served = as_served(desired)
    served["webhooks"][1]["failurePolicy"] = "Ignore"
    assert configuration_differs(served, desired)


def test_a_missing_label_or_new_ca_differs():
    desired = build_webhook_configuration(profile_with(TEMPLATE), HOST, CA)
    served = as_served(desired)
    del served["metadata"]["labels"]["app.kubernetes.io/managed-by"]
    assert configuration_differs(served, desired)
    assert configuration_differs(
        as_served(desired), build_webhook_configuration(profile_with(TEMPLATE), HOST, b"x")
    )


# --- caBundle ------------------------------------------------------------------------------------


def ca_pem() -> bytes:
    return trustme.CA().cert_pem.bytes()


def test_merge_keeps_previous_valid_cas_after_our_own():
    own, old = ca_pem(), ca_pem()
    merged = merge_ca_bundle(own, old)
    certificates = x509.load_pem_x509_certificates(merged)
    assert [c.fingerprint(hashes.SHA256()) for c in certificates] == [
        c.fingerprint(hashes.SHA256()) for c in x509.load_pem_x509_certificates(own + old)
    ]


def test_merge_without_previous_is_our_own():
    own = ca_pem()
    assert merge_ca_bundle(own, b"") == own
    assert merge_ca_bundle(own, own) == own
    assert merge_ca_bundle(own, b"not pem") == own


def test_merge_drops_expired_and_non_ca_and_keeps_at_most_two():
    own = ca_pem()
    authority = trustme.CA()
    leaf = authority.issue_cert("example.invalid").cert_chain_pems[0].bytes()
    olds = [ca_pem() for _ in range(3)]
    merged = x509.load_pem_x509_certificates(merge_ca_bundle(own, leaf + b"".join(olds)))
    assert len(merged) == 3  # own + 2 previous, the leaf dropped
    after_expiry = x509.load_pem_x509_certificate(olds[0]).not_valid_after_utc + timedelta(seconds=1)
    assert merge_ca_bundle(own, olds[0], now=after_expiry) == own
    before_validity = x509.load_pem_x509_certificate(olds[0]).not_valid_before_utc - timedelta(days=1)
    assert merge_ca_bundle(own, olds[0], now=before_validity) == own


def test_existing_ca_bundle_is_read_back():
    desired = build_webhook_configuration(profile_with(TEMPLATE), HOST, CA)
    assert existing_ca_bundle(desired) == CA
    assert existing_ca_bundle({"webhooks": []}) == b""
    assert existing_ca_bundle({"webhooks": [{"clientConfig": {"caBundle": "!!"}}]}) == b""


@pytest.mark.parametrize("endpoint", [HOST, SERVICE])
def test_object_is_json_serialisable(endpoint):
    json.dumps(build_webhook_configuration(profile_with(TEMPLATE), endpoint, CA))
