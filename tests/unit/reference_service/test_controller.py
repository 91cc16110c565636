"""The controller's pure parts: profile evaluation, Event objects and messages."""

from datetime import UTC, datetime

from eci_reference.constants import EVENT_MESSAGE_LIMIT
from eci_reference.controller import evaluate_profile, profile_summary
from eci_reference.events import build_event, object_reference
from eci_reference.profile import DEFAULT_PROFILE_DATA, parse_profile
from eci_reference.text import trim_utf8

from ..reference_logic.seed_examples import TEMPLATE

DEFAULTS = dict(DEFAULT_PROFILE_DATA)
CONFIG_MAP = {
    "metadata": {"name": "eci-profile", "namespace": "kube-system", "uid": "u-1", "resourceVersion": "77"},
    "data": DEFAULTS,
}


def test_valid_data_becomes_the_profile():
    evaluation = evaluate_profile({**DEFAULTS, "selectors": TEMPLATE}, None, DEFAULTS)
    assert evaluation.valid
    assert [selector.name for selector in evaluation.profile.selectors] == [
        "selector-demo1",
        "selector-demo2",
    ]


def test_invalid_data_keeps_the_active_profile():
    active = parse_profile({**DEFAULTS, "selectors": TEMPLATE})
    evaluation = evaluate_profile({**DEFAULTS, "selectors": "[not json"}, active, DEFAULTS)
    assert not evaluation.valid
    assert evaluation.profile is active
    assert not evaluation.fell_back_to_defaults
    assert evaluation.problems[0].startswith("selectors: not valid JSON")


def test_invalid_data_without_an_active_profile_falls_back_to_the_defaults():
    evaluation = evaluate_profile({"enableLogController": "true"}, None, DEFAULTS)
    assert evaluation.fell_back_to_defaults
    assert evaluation.profile == parse_profile(DEFAULTS)
    assert evaluation.problems == ('enableLogController is "true" but slsMachineGroup is empty',)


def test_profile_summary():
    summary = profile_summary(parse_profile({**DEFAULTS, "selectors": TEMPLATE}))
    assert summary == (
        "eci-profile applied: 2 routing selector(s) (selector-demo1, selector-demo2), 0 global effect(s), "
        "vSwitchIds=vsw-hz-i,vsw-hz-j, securityGroupId=sg-reference-default, WaitForFirstConsumer=false"
    )


def test_trim_utf8_counts_bytes_and_keeps_characters_whole():
    assert trim_utf8("short") == "short"
    exact = "a" * EVENT_MESSAGE_LIMIT
    assert trim_utf8(exact) == exact
    trimmed = trim_utf8("é" * 1000)  # 2000 bytes
    assert len(trimmed.encode()) <= EVENT_MESSAGE_LIMIT
    assert trimmed.endswith("…")
    assert set(trimmed[:-1]) == {"é"}


def test_object_reference_records_the_version():
    assert object_reference("ConfigMap", "v1", CONFIG_MAP) == {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "name": "eci-profile",
        "namespace": "kube-system",
        "uid": "u-1",
        "resourceVersion": "77",
    }
    cluster_scoped = object_reference("PersistentVolume", "v1", {"metadata": {"name": "pv", "uid": "u"}})
    assert "namespace" not in cluster_scoped


def test_event_object():
    now = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
    reference = object_reference("ConfigMap", "v1", CONFIG_MAP)
    event = build_event(reference, "Warning", "InvalidProfile", "x" * 5000, now=now, host="node-1")
    assert event["apiVersion"] == "v1"
    assert event["kind"] == "Event"
    assert event["metadata"]["namespace"] == "kube-system"
    assert event["metadata"]["name"].startswith("eci-profile.")
    assert int(event["metadata"]["name"].split(".")[1], 16) == 1772600767123456000
    assert event["involvedObject"] == reference
    assert event["type"] == "Warning"
    assert event["reason"] == "InvalidProfile"
    assert len(event["message"].encode()) <= EVENT_MESSAGE_LIMIT
    assert event["source"] == {"component": "eci-reference", "host": "node-1"}
    assert event["firstTimestamp"] == event["lastTimestamp"] == "2026-03-04T05:06:07Z"
    assert event["count"] == 1


def test_event_about_a_cluster_scoped_object_goes_to_default():
    reference = object_reference("PersistentVolume", "v1", {"metadata": {"name": "pv", "uid": "u"}})
    assert (
        build_event(reference, "Normal", "R", "m", now=datetime.now(UTC))["metadata"]["namespace"]
        == "default"
    )
