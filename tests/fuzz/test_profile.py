"""Fuzz ``parse_profile`` and the controller that applies its result (issue 13 item 4).

Any ConfigMap data gives a ``Profile`` or a ``ProfileError`` whose every problem names its field,
never another exception and never a hang; and however valid and invalid versions alternate, the
controller keeps the last valid profile in force and reports each invalid one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from eci_reference.constants import EVENT_REASON_INVALID_PROFILE
from eci_reference.controller import NamespaceLabelCache, ProfileController
from eci_reference.events import EventRecorder
from eci_reference.profile import DEFAULT_PROFILE_DATA, Profile, ProfileError, parse_profile

from .budget import budgeted
from .profile_inputs import VALID_DATA, any_data, data_maps
from .profile_oracle import assert_clear_problems
from .watchdog import within


def parse_or_problems(data: Any) -> Profile | list[str]:
    """The profile, or the problems of its ``ProfileError``; any other exception fails the test."""
    try:
        return within(lambda: parse_profile(data), "parse_profile")
    except ProfileError as error:
        return error.problems


@budgeted()
@given(data=any_data)
def test_any_data_gives_a_profile_or_problems_naming_the_field(data):
    outcome = parse_or_problems(data)
    if isinstance(outcome, Profile):
        event("profile")
        hash(outcome)
        assert outcome == parse_profile(data), "parsing is deterministic"
        return
    event(f"{min(len(outcome), 5)}+ problems" if len(outcome) >= 5 else f"{len(outcome)} problems")
    assert_clear_problems(outcome, data)


# --- the controller keeps the last valid profile -----------------------------------------------------


class RecordingEvents(EventRecorder):
    """Keeps the Events the controller posts instead of sending them to an API server."""

    def __init__(self) -> None:
        super().__init__(api_client=_NoApi(), host="fuzz")
        self.posted: list[tuple[Mapping[str, Any], str, str, str]] = []

    async def post(self, reference: Mapping[str, Any], event_type: str, reason: str, message: str) -> None:
        self.posted.append((reference, event_type, reason, message))


class _NoApi:
    """An API client the test never reaches: with no reconcilers, applying a profile makes no call."""


def config_map(data: Any, version: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "eci-profile", "namespace": "kube-system", "uid": "u-1",
                     "resourceVersion": str(version)},
        "data": data,
    }  # fmt: skip


async def apply_versions(versions: list[Any]) -> None:
    events = RecordingEvents()
    controller = ProfileController(
        _NoApi(), default_data=DEFAULT_PROFILE_DATA, events=events, namespaces=NamespaceLabelCache(_NoApi())
    )
    in_force = parse_profile(DEFAULT_PROFILE_DATA)  # no valid version yet: the defaults
    for number, data in enumerate(versions, start=1):
        posted_before = len(events.posted)
        await asyncio.wait_for(controller.on_event("MODIFIED", config_map(data, number)), 10)
        outcome = parse_or_problems(data or {})
        rejections = [
            posted for posted in events.posted[posted_before:] if posted[2] == EVENT_REASON_INVALID_PROFILE
        ]
        if isinstance(outcome, Profile):
            in_force = outcome
            assert not rejections, rejections
        else:
            assert len(rejections) == 1, events.posted[posted_before:]
            reference, event_type, _, message = rejections[0]
            assert event_type == "Warning"
            assert reference["resourceVersion"] == str(number)
            # Not compared with ``outcome`` word for word: how deep a JSON text may nest before it is
            # "nested too deeply" depends on the stack of the thread that parses it.
            assert_clear_problems([message], data or {})
        assert controller.active_profile() == in_force, f"version {number} left the wrong profile in force"


@budgeted(scale=0.5)
@given(versions=st.lists(data_maps | st.just(VALID_DATA) | st.just(None), min_size=1, max_size=6))
def test_controller_keeps_the_last_valid_profile(versions):
    event(f"{sum(isinstance(parse_or_problems(v or {}), Profile) for v in versions)} valid versions")
    asyncio.run(apply_versions(versions))
