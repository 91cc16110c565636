"""The profile lock against the in-memory API server the runtime tests use (real HTTP, the real client).

Timings are scaled down (a 1 s lease renewed every 0.2 s): what matters is that renewTime keeps moving
while the lock is held, so a lease shorter than the test never expires under it, and that nothing is
written after release.
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from kubernetes import client

from tests.unit.reference_service.fake_apiserver import FakeApiServer
from vnode_harness.plumbing.kube import api_client
from vnode_harness.plumbing.waits import WaitTimeout
from vnode_harness.testapi.lease_lock import ClusterLock

NAMESPACE, NAME = "kube-system", "vnode-conformance-eci-profile"


class ServerThread:
    """The fake API server on an event loop of its own, so the synchronous client can call it."""

    def __init__(self) -> None:
        self.server = FakeApiServer()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)
        return self

    def __exit__(self, *exc_info: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def call(self, function, *args):
        """Run a store operation on the server's loop (it is not thread-safe), return its result."""

        async def run():
            return function(*args)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def lease(self):
        return self.call(self.server.get, "leases", NAME, NAMESPACE)

    def lease_writes(self) -> int:
        return sum(
            1 for method, path in self.server.requests if method in ("PUT", "POST") and "/leases" in path
        )


@pytest.fixture
def apiserver():
    with ServerThread() as running:
        yield running


@pytest.fixture
def coordination(apiserver, tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(apiserver.server.kubeconfig())
    with api_client(kubeconfig, "lease-lock-test") as api:
        yield client.CoordinationV1Api(api)


def lock(coordination, holder, **options) -> ClusterLock:
    return ClusterLock(coordination, NAMESPACE, NAME, holder, **options)


def parse(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def test_renew_time_moves_while_held_and_acquire_time_stays(apiserver, coordination):
    held = lock(coordination, "worker-a", lease_seconds=1, renew_interval=0.2)
    held.acquire(timeout=5)
    try:
        first = apiserver.lease()["spec"]
        time.sleep(1.0)
        later = apiserver.lease()["spec"]
    finally:
        held.release()
    assert later["holderIdentity"] == "worker-a"
    assert parse(later["acquireTime"]) == parse(first["acquireTime"])
    renewed_by = parse(later["renewTime"]) - parse(first["renewTime"])
    assert renewed_by >= timedelta(seconds=0.5), f"renewTime moved only {renewed_by} in 1 s"
    assert held.renewals >= 3
    assert held.lost is None


def test_a_held_lock_outlives_its_lease_duration(apiserver, coordination):
    held = lock(coordination, "worker-a", lease_seconds=1, renew_interval=0.2)
    held.acquire(timeout=5)
    try:
        time.sleep(2.0)  # twice the lease duration: without renewal it would have expired
        with pytest.raises(WaitTimeout, match="held by worker-a"):
            lock(coordination, "worker-b", lease_seconds=1).acquire(timeout=0.8)
    finally:
        held.release()


def test_default_renewal_is_well_within_the_lease_duration(coordination):
    assert lock(coordination, "a").interval <= lock(coordination, "a").lease_seconds / 3
    assert lock(coordination, "a", lease_seconds=300).interval == 75


def test_release_stops_renewing_and_deletes_the_lease(apiserver, coordination):
    with lock(coordination, "worker-a", lease_seconds=1, renew_interval=0.1) as held:
        held.acquire(timeout=5)
        time.sleep(0.3)
    assert apiserver.lease() is None
    writes = apiserver.lease_writes()
    time.sleep(0.4)
    assert apiserver.lease_writes() == writes, "the lease was written after release"
    assert apiserver.lease() is None


def test_released_lock_is_free_for_the_next_holder_at_once(coordination):
    first = lock(coordination, "worker-a")
    first.acquire(timeout=5)
    first.release()
    second = lock(coordination, "worker-b")
    second.acquire(timeout=1)
    second.release()


def test_an_expired_lease_of_a_dead_holder_is_taken_over(apiserver, coordination):
    stale = datetime.now(UTC) - timedelta(seconds=30)
    apiserver.call(
        apiserver.server.put,
        "leases",
        {
            "metadata": {"name": NAME, "namespace": NAMESPACE},
            "spec": {
                "holderIdentity": "crashed-run",
                "leaseDurationSeconds": 10,
                "acquireTime": stale.isoformat(),
                "renewTime": stale.isoformat(),
            },
        },
    )
    taker = lock(coordination, "worker-b")
    taker.acquire(timeout=2)
    try:
        assert apiserver.lease()["spec"]["holderIdentity"] == "worker-b"
    finally:
        taker.release()


def test_a_lock_taken_over_meanwhile_is_reported_lost_and_not_deleted(apiserver, coordination):
    held = lock(coordination, "worker-a", lease_seconds=1, renew_interval=0.1)
    held.acquire(timeout=5)
    lease = apiserver.lease()
    lease["spec"]["holderIdentity"] = "someone-else"
    apiserver.call(apiserver.server.put, "leases", lease)
    deadline = time.monotonic() + 3
    while held.lost is None and time.monotonic() < deadline:
        time.sleep(0.05)
    held.release()
    assert held.lost == "the lease is now held by 'someone-else'"
    assert apiserver.lease()["spec"]["holderIdentity"] == "someone-else", "release deleted another's lease"
