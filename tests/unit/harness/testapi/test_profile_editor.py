import json
from types import SimpleNamespace

import pytest

from vnode_harness.formats.implementation import Limits, Observation, ProfileRejectionEvent
from vnode_harness.plumbing.waits import ConsistencyViolation
from vnode_harness.testapi.profile import PROBE_LABEL, ProfileEditor, ProfileLockLost, with_probe_selector


def test_probe_selector_is_appended_last_and_keeps_the_tests_selectors():
    written = json.loads(
        with_probe_selector('[{"name": "a", "objectSelector": {"matchLabels": {"x": "1"}}}]', "t1")
    )
    assert [s["name"] for s in written] == ["a", "conformance-probe-t1"]
    assert written[-1]["objectSelector"]["matchLabels"] == {PROBE_LABEL: "t1"}
    assert written[-1]["effect"]["annotations"] == {PROBE_LABEL: "t1"}


def test_empty_selectors_get_only_the_probe():
    assert len(json.loads(with_probe_selector("", "t2"))) == 1


# --- apply_invalid holds "the last valid profile stays in force" over the hold window ---------------


def editor_with(probe_results, *, hold=1, rejection=True):
    """A ProfileEditor without a cluster: writes are recorded, probe answers come from `probe_results`."""
    editor = ProfileEditor.__new__(ProfileEditor)
    editor.observation = Observation(profile_rejection_event=ProfileRejectionEvent() if rejection else None)
    editor.limits = Limits(hold_seconds=hold, profile_propagation_seconds=1)
    editor.snapshot = None
    editor._last_token = "tok"
    # Test doubles in place of the methods that would talk to the cluster:
    editor._merged = lambda changes: {key: value for key, value in changes.items() if value is not None}  # type: ignore[method-assign]
    editor._write = lambda data, labels=None, annotations=None: SimpleNamespace(  # type: ignore[method-assign]
        metadata=SimpleNamespace(resource_version="7")
    )
    editor._rejection_event = lambda reason, resource_version: (True, "event seen")  # type: ignore[method-assign]
    answers = iter(probe_results)
    editor._probe_present = lambda token: next(answers, (True, "stamped"))  # type: ignore[method-assign]
    return editor


def test_invalid_profile_applied_a_little_after_its_rejection_event_fails():
    # The Event arrives and the token is still stamped at first; two samples later it is gone.
    editor = editor_with([(True, "stamped"), (True, "stamped"), (None, "annotation None")])
    with pytest.raises(ConsistencyViolation, match=r"last valid profile in force .* seen annotation None"):
        editor.apply_invalid({"selectors": "not json"})


def test_invalid_profile_that_stays_rejected_passes_and_extra_claims_share_the_window():
    seen = []
    editor = editor_with([])

    def webhook_claim():
        seen.append(1)
        return True, "0 entries"

    assert (
        editor.apply_invalid({"x": "y"}, also_holding={"the selector out of vk-webhook": webhook_claim})
        == "7"
    )
    assert len(seen) >= 2, "the test's own claim is sampled throughout the same window"


def test_an_extra_claim_that_breaks_fails_with_its_own_description():
    editor = editor_with([])
    answers = iter([(True, "0 entries"), (None, "an entry with broken-selector")])
    with pytest.raises(ConsistencyViolation, match="the selector out of vk-webhook: no longer holds"):
        editor.apply_invalid(
            {"x": "y"}, also_holding={"the selector out of vk-webhook": lambda: next(answers)}
        )


def test_a_lost_profile_lock_makes_the_restore_raise():
    editor = ProfileEditor.__new__(ProfileEditor)
    editor.snapshot = None
    editor.observation = Observation()
    editor.lock = SimpleNamespace(release=lambda: None, lost="the lease is now held by 'other'")  # type: ignore[assignment]
    with pytest.raises(ProfileLockLost, match=r"was lost while this test held it \(the lease is now held"):
        editor.restore()


# --- a profile that the run found is never applied fails each test at once, with that cause ---------


def test_a_known_propagation_failure_fails_apply_at_once_without_writing():
    from vnode_harness.testapi.profile import ProfileNotApplied

    editor = editor_with([])
    editor.known_propagation_failure = "timed out after 60 s waiting for the implementation to apply"
    writes: list[object] = []
    editor._write = writes.append
    with pytest.raises(ProfileNotApplied, match="timed out after 60 s"):
        editor.apply({"securityGroupId": "sg-1"})
    assert writes == []
    assert isinstance(ProfileNotApplied("x"), AssertionError)  # reported failed, not broken
