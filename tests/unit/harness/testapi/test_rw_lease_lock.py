"""The readers/writer profile lock against the in-memory API server (real HTTP, the real client).

Leases are short (1 to 2 s) so that expiry can be watched; a holder "dies" by stopping its renewals without
releasing, as a killed run does. Each protocol rule has a test that fails when the rule is dropped: the
reader's second look at the writer lease, the writer's wait for live readers, writer preference, the
takeover of dead holders on both sides, and releases that leave other holders' leases alone.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from kubernetes import client

from tests.unit.harness.testapi import test_lease_lock
from tests.unit.harness.testapi.test_lease_lock import NAME, NAMESPACE
from vnode_harness.plumbing.waits import WaitTimeout, consistently, wait_for
from vnode_harness.testapi.lease_lock import ClusterLock
from vnode_harness.testapi.rw_lease_lock import (
    READER_LABEL,
    ReaderLock,
    WriterLock,
    holder_identity,
    reader_lease_name,
)

apiserver = test_lease_lock.apiserver  # the lock tests' in-memory API server and client, as fixtures
coordination = test_lease_lock.coordination


def writer(coordination, holder, **options) -> WriterLock:
    return WriterLock(coordination, NAMESPACE, NAME, holder, **options)


def reader(coordination, holder, **options) -> ReaderLock:
    return ReaderLock(coordination, NAMESPACE, NAME, holder, **options)


def reader_leases(apiserver) -> dict[str, str]:
    """Reader lease name → holder, as the API server has them."""
    leases = apiserver.call(apiserver.server.list, "leases", NAMESPACE)
    return {
        lease["metadata"]["name"]: lease["spec"]["holderIdentity"]
        for lease in leases
        if (lease["metadata"].get("labels") or {}).get(READER_LABEL) == NAME
    }


def seed_lease(apiserver, name: str, holder: str, *, renewed_ago: float, labels=None) -> None:
    renewed = datetime.now(UTC) - timedelta(seconds=renewed_ago)
    apiserver.call(
        apiserver.server.put,
        "leases",
        {
            "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels or {}},
            "spec": {
                "holderIdentity": holder,
                "leaseDurationSeconds": 10,
                "acquireTime": renewed.isoformat(),
                "renewTime": renewed.isoformat(),
            },
        },
    )


def seed_reader(apiserver, holder: str, *, renewed_ago: float) -> str:
    name = reader_lease_name(NAME, holder)
    seed_lease(apiserver, name, holder, renewed_ago=renewed_ago, labels={READER_LABEL: NAME})
    return name


def in_background(function) -> threading.Thread:
    thread = threading.Thread(target=function, daemon=True)
    thread.start()
    return thread


# --- names and holders -----------------------------------------------------------------------------


def test_reader_leases_are_one_per_holder_and_holders_say_who():
    assert reader_lease_name(NAME, "a") == reader_lease_name(NAME, "a")
    assert reader_lease_name(NAME, "a") != reader_lease_name(NAME, "b")
    assert reader_lease_name(NAME, "a").startswith(f"{NAME}-reader-")
    identity = holder_identity("conformance/test_x.py::test_a", "20250101-000000-1")
    assert "conformance/test_x.py::test_a" in identity
    assert "run 20250101-000000-1" in identity
    assert "worker " in identity
    assert identity != holder_identity("conformance/test_x.py::test_a", "20250101-000000-1")


# --- readers and writers exclude each other -----------------------------------------------------------


def test_readers_share_and_a_reader_is_blocked_by_a_writer(apiserver, coordination):
    first, second = reader(coordination, "reader-1"), reader(coordination, "reader-2")
    first.acquire(timeout=5)
    second.acquire(timeout=5)  # shared: no wait
    assert sorted(reader_leases(apiserver).values()) == ["reader-1", "reader-2"]
    first.release()
    second.release()
    assert reader_leases(apiserver) == {}

    held = writer(coordination, "writer-1")
    held.acquire(timeout=5)
    try:
        with pytest.raises(WaitTimeout, match="held by the writer writer-1"):
            reader(coordination, "reader-3").acquire(timeout=0.8)
        assert reader_leases(apiserver) == {}, "a blocked reader left its lease (the writer would wait on it)"
    finally:
        held.release()
    late = reader(coordination, "reader-3")
    late.acquire(timeout=1)
    late.release()


def test_a_writer_waits_for_live_readers_and_lets_its_lease_go_when_it_gives_up(apiserver, coordination):
    shared = reader(coordination, "long-reader", lease_seconds=1, renew_interval=0.2)
    shared.acquire(timeout=5)
    try:
        with pytest.raises(WaitTimeout, match=r"1 shared holder.*long-reader"):
            writer(coordination, "writer-1").acquire(timeout=2)  # two lease durations: renewed, not dead
        assert apiserver.lease() is None, "a writer that gave up kept the writer lease"
        assert shared.lost is None
    finally:
        shared.release()
    after = writer(coordination, "writer-1")
    after.acquire(timeout=1)
    assert after.taken_over is None
    after.release()


def test_a_reader_whose_lease_a_writer_overtook_backs_off(apiserver, coordination):
    """The interleaving the second look exists for: the writer takes its lease after the reader's first
    look but before the reader's lease is seen. The reader must see the writer and withdraw."""
    racing = reader(coordination, "reader-1")
    own = racing._own
    plain_acquire = own.acquire
    intruder = ClusterLock(coordination, NAMESPACE, NAME, "writer-in-between")

    def acquire_then_let_a_writer_in(timeout: float) -> None:
        plain_acquire(timeout)
        if intruder.renewals == 0 and apiserver.lease() is None:
            intruder.acquire(timeout=1)  # the writer lease, as WriterLock's first step takes it

    own.acquire = acquire_then_let_a_writer_in  # type: ignore[method-assign]
    try:
        with pytest.raises(WaitTimeout, match="held by the writer writer-in-between"):
            racing.acquire(timeout=1)
        assert reader_leases(apiserver) == {}
    finally:
        intruder.release()


def test_writer_preference_new_readers_wait_behind_a_waiting_writer(apiserver, coordination):
    first = reader(coordination, "reader-1")
    first.acquire(timeout=5)
    exclusive = writer(coordination, "writer-1")
    errors: list[BaseException] = []

    def take_exclusive() -> None:
        try:
            exclusive.acquire(timeout=10)
        except BaseException as error:
            errors.append(error)

    waiting = in_background(take_exclusive)
    wait_for("the writer lease taken", lambda: (apiserver.lease(), "no writer lease yet"), timeout=5)
    try:
        with pytest.raises(WaitTimeout, match="held by the writer writer-1"):
            reader(coordination, "reader-2").acquire(timeout=0.8)  # reader-1 still reads: no matter
        assert waiting.is_alive(), "the writer did not wait for the reader that held the lock"
    finally:
        first.release()
    waiting.join(10)
    assert not errors
    assert not waiting.is_alive()
    try:
        assert apiserver.lease()["spec"]["holderIdentity"] == "writer-1"
    finally:
        exclusive.release()
    later = reader(coordination, "reader-2")
    later.acquire(timeout=2)
    later.release()


# --- dead holders -----------------------------------------------------------------------------------


def test_a_dead_readers_expired_lease_is_taken_over_by_a_writer(apiserver, coordination):
    live = seed_reader(apiserver, "live-reader", renewed_ago=0)
    with pytest.raises(WaitTimeout, match="live-reader"):  # a live reader lease blocks: not ignored
        writer(coordination, "writer-1").acquire(timeout=0.8)
    apiserver.call(apiserver.server.delete, "leases", live, NAMESPACE)
    dead = seed_reader(apiserver, "killed-worker", renewed_ago=30)
    exclusive = writer(coordination, "writer-1")
    exclusive.acquire(timeout=2)
    try:
        assert apiserver.call(apiserver.server.get, "leases", dead, NAMESPACE) is None
        assert exclusive.taken_over is not None
        assert f"reader lease {dead}" in exclusive.taken_over
        assert "'killed-worker'" in exclusive.taken_over
    finally:
        exclusive.release()


def test_a_reader_that_died_holding_expires_and_then_never_blocks_writers(apiserver, coordination):
    dead = reader(coordination, "killed-reader", lease_seconds=1, renew_interval=0.2)
    dead.acquire(timeout=5)
    dead._own._stop_renewing()  # killed: no renewal, no release
    exclusive = writer(coordination, "writer-1")
    exclusive.acquire(timeout=5)  # waits out the 1 s lease
    try:
        assert reader_leases(apiserver) == {}
        assert "'killed-reader'" in (exclusive.taken_over or "")
    finally:
        exclusive.release()


def test_a_dead_writers_expired_lease_lets_readers_in_and_is_recorded(apiserver, coordination):
    seed_lease(apiserver, NAME, "live-writer", renewed_ago=0)
    with pytest.raises(WaitTimeout, match="live-writer"):  # a live writer lease blocks
        reader(coordination, "reader-1").acquire(timeout=0.8)
    seed_lease(apiserver, NAME, "crashed-writer", renewed_ago=30)
    shared = reader(coordination, "reader-1")
    shared.acquire(timeout=2)
    try:
        assert apiserver.lease() is None, "the expired writer lease was left"
        assert shared.taken_over is not None
        assert "'crashed-writer'" in shared.taken_over
        assert "died without releasing it" in shared.taken_over
    finally:
        shared.release()


def test_an_expired_lease_renewed_meanwhile_is_not_deleted(apiserver, coordination):
    """Deleting a dead holder's lease carries its resourceVersion: a holder that came back in between
    (renewed it) keeps it. Here the writer's list is answered with the stale version."""
    name = seed_reader(apiserver, "slow-reader", renewed_ago=30)
    stale = coordination.read_namespaced_lease(name, NAMESPACE)
    seed_reader(apiserver, "slow-reader", renewed_ago=0)  # the reader renews (new resourceVersion)
    exclusive = writer(coordination, "writer-1")
    exclusive._writer.acquire(timeout=2)
    original_list = coordination.list_namespaced_lease

    def stale_list(*args, **kwargs):
        return client.V1LeaseList(items=[stale])

    coordination.list_namespaced_lease = stale_list
    try:
        assert exclusive._no_live_reader()[0] is None
        assert apiserver.call(apiserver.server.get, "leases", name, NAMESPACE) is not None
        assert exclusive.readers_taken_over == []
    finally:
        coordination.list_namespaced_lease = original_list
        exclusive.release()


# --- release and loss --------------------------------------------------------------------------------


def test_release_never_deletes_another_holders_lease(apiserver, coordination):
    shared = reader(coordination, "reader-1", lease_seconds=1, renew_interval=0.1)
    shared.acquire(timeout=5)
    name = shared.lease_name
    lease = apiserver.call(apiserver.server.get, "leases", name, NAMESPACE)
    lease["spec"]["holderIdentity"] = "someone-else"
    apiserver.call(apiserver.server.put, "leases", lease)
    wait_for("the reader to notice", lambda: (shared.lost, "not noticed"), timeout=3)
    shared.release()
    assert shared.lost == "the lease is now held by 'someone-else'"
    assert reader_leases(apiserver) == {name: "someone-else"}

    exclusive = writer(coordination, "writer-1", lease_seconds=1, renew_interval=0.1)
    exclusive.acquire(timeout=5)
    lease = apiserver.lease()
    lease["spec"]["holderIdentity"] = "next-writer"
    apiserver.call(apiserver.server.put, "leases", lease)
    wait_for("the writer to notice", lambda: (exclusive.lost, "not noticed"), timeout=3)
    exclusive.release()
    assert apiserver.lease()["spec"]["holderIdentity"] == "next-writer"


def test_nothing_is_written_after_release(apiserver, coordination):
    shared = reader(coordination, "reader-1", lease_seconds=1, renew_interval=0.1)
    shared.acquire(timeout=5)
    shared.release()
    writes = apiserver.lease_writes()
    consistently(
        "no lease write after release",
        lambda: (apiserver.lease_writes() == writes or None, f"writes: {apiserver.lease_writes()}"),
        hold=0.4,  # four renewal intervals
        interval=0.05,
    )
    assert reader_leases(apiserver) == {}


# --- many holders at once ------------------------------------------------------------------------------


def test_no_writer_ever_runs_beside_anyone(apiserver, coordination):
    """Three readers and two writers in threads, each taking the lock a few times: a writer is always
    alone, and every one of them gets its turns."""
    state = {"readers": 0, "writers": 0}
    guard = threading.Lock()
    violations: list[str] = []
    errors: list[BaseException] = []

    def hold(lock, is_writer: bool) -> None:
        try:
            for _ in range(3):
                lock.acquire(timeout=20)
                with guard:
                    state["writers" if is_writer else "readers"] += 1
                    if state["writers"] > 1 or (state["writers"] and state["readers"]):
                        violations.append(f"{lock.holder}: {dict(state)}")
                time.sleep(0.15)  # the test's work while holding
                with guard:
                    state["writers" if is_writer else "readers"] -= 1
                lock.release()
        except BaseException as error:
            errors.append(error)

    threads = [in_background(lambda n=n: hold(reader(coordination, f"reader-{n}"), False)) for n in range(3)]
    threads += [in_background(lambda n=n: hold(writer(coordination, f"writer-{n}"), True)) for n in range(2)]
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert not violations, violations
    assert apiserver.lease() is None
    assert reader_leases(apiserver) == {}


def test_a_holder_identity_names_the_test_it_holds_the_lock_for():
    from vnode_harness.testapi.rw_lease_lock import held_for, holder_identity

    nodeid = "conformance/test_parameters.py::test_selector_changes_apply_to_new_pods_without_restart"
    assert held_for(holder_identity(nodeid, "20261206-062409-19290")) == nodeid
