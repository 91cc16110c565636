"""Every conformance test holds the eci-profile lock one way: shared (the autouse `profile_hold`) unless
it changes the profile through `eci_profile` (exclusive; `profile_hold` then yields None). Checked on the
collected suite, without a cluster: a test that reached the editor another way would hold the lock
shared and then wait for it exclusively, for ever."""

from __future__ import annotations

import contextlib
import io
import re

import pytest

from vnode_harness.formats.paths import CONFORMANCE_DIR, REPO_ROOT


class _Recorder:
    def __init__(self) -> None:
        self.fixtures: dict[str, tuple[str, ...]] = {}

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            self.fixtures[item.nodeid] = tuple(getattr(item, "fixturenames", ()))


def collected_fixture_names() -> dict[str, tuple[str, ...]]:
    recorder = _Recorder()
    args = ["--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "--rootdir", str(REPO_ROOT)]
    with contextlib.redirect_stdout(io.StringIO()):
        code = pytest.main([*args, str(CONFORMANCE_DIR)], plugins=[recorder])
    assert code == pytest.ExitCode.OK
    return recorder.fixtures


def test_every_conformance_test_takes_the_shared_hold_or_the_editor():
    fixtures = collected_fixture_names()
    assert fixtures, "no conformance test was collected"
    without_hold = [nodeid for nodeid, names in fixtures.items() if "profile_hold" not in names]
    assert without_hold == [], "tests that would run beside a profile change"
    exclusive = [nodeid for nodeid, names in fixtures.items() if "eci_profile" in names]
    assert 0 < len(exclusive) < len(fixtures), "both kinds of test exist"


def test_no_conformance_code_reaches_the_profile_editor_but_by_its_fixture():
    """`profile_hold` decides from the fixture names; the editor by getfixturevalue or constructed in a
    test would not be seen there."""
    sources = {path.name: path.read_text() for path in sorted(CONFORMANCE_DIR.glob("*.py"))}
    reaching = {
        name: found
        for name, text in sources.items()
        if (found := re.findall(r"getfixturevalue\(|ProfileEditor\(|WriterLock\(", text))
        and not (name == "conftest.py" and found == ["ProfileEditor("])
    }
    assert reaching == {}
