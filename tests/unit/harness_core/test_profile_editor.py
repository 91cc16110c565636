import json

from vnode_harness.testkit.profile import PROBE_LABEL, with_probe_selector


def test_probe_selector_is_appended_last_and_keeps_the_tests_selectors():
    written = json.loads(
        with_probe_selector('[{"name": "a", "objectSelector": {"matchLabels": {"x": "1"}}}]', "t1")
    )
    assert [s["name"] for s in written] == ["a", "conformance-probe-t1"]
    assert written[-1]["objectSelector"]["matchLabels"] == {PROBE_LABEL: "t1"}
    assert written[-1]["effect"]["annotations"] == {PROBE_LABEL: "t1"}


def test_empty_selectors_get_only_the_probe():
    assert len(json.loads(with_probe_selector("", "t2"))) == 1
