"""Which local cluster directories count as orphans: never one another shard is creating right now."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from vnode_harness.providers.local import cluster
from vnode_harness.providers.local.cluster import STATE_FILE, STATELESS_GRACE_SECONDS, list_clusters


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(cluster, "clusters_root", lambda: tmp_path)
    return tmp_path


def _owner_alive(root: Path, name: str) -> bool:
    return {state["name"]: state["owner_alive"] for state in list_clusters()}[name]


def test_a_directory_made_a_moment_ago_without_its_state_is_not_an_orphan(root: Path) -> None:
    (root / "vnode-starting").mkdir()
    assert _owner_alive(root, "vnode-starting")


def test_a_stateless_directory_past_the_grace_is_an_orphan(root: Path) -> None:
    old = root / "vnode-crashed"
    old.mkdir()
    then = time.time() - STATELESS_GRACE_SECONDS - 5
    os.utime(old, (then, then))
    assert not _owner_alive(root, "vnode-crashed")


def test_a_state_naming_a_dead_owner_is_an_orphan_and_a_live_one_is_not(root: Path) -> None:
    for name, pid in (("vnode-dead", 2**22 + 17), ("vnode-live", os.getpid())):
        (root / name).mkdir()
        (root / name / STATE_FILE).write_text(json.dumps({"name": name, "owner_pid": pid}))
    assert not _owner_alive(root, "vnode-dead")
    assert _owner_alive(root, "vnode-live")
