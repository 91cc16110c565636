"""Kubernetes names the suite makes from test names and run ids (vnode_harness.formats.names.dns_label)."""

from __future__ import annotations

import re

import pytest

from vnode_harness.formats.names import ISTIO_INJECTION, dns_label

DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vnc-test_invalid_values[True1]", "vnc-test-invalid-values-true1"),
        ("vnode-probes-20261202-101500", "vnode-probes-20261202-101500"),
        ("--Upper__Case--", "upper-case"),
    ],
)
def test_a_label_is_lower_case_with_one_dash_per_run_of_other_characters(text, expected):
    assert dns_label(text) == expected


def test_the_limit_is_kept_and_a_cut_never_ends_in_a_dash():
    long = "vnc-" + "abc_" * 30
    for limit in (40, 63):
        label = dns_label(long, limit)
        assert len(label) <= limit
        assert DNS_LABEL.fullmatch(label), label
    assert dns_label("a" * 39 + "_b", 40) == "a" * 39


def test_the_injection_label_cannot_be_changed_by_a_caller():
    with pytest.raises(TypeError):
        ISTIO_INJECTION["istio-injection"] = "disabled"  # type: ignore[index]
    assert dict(ISTIO_INJECTION) == {"istio-injection": "enabled"}
