"""A lock that lives in the cluster (a coordination.k8s.io Lease), for changes to cluster-global state.

The eci-profile is one object for the whole cluster. Tests that change it — in any xdist worker, or in
another run against the same existing cluster from another machine — take this lock first. A holder
that dies without releasing it (a killed run) loses it when the lease expires, so a crash never blocks
the next run for longer than the lease duration.

While held, the lease is renewed in the background (every quarter of its duration by default), like a
leader-election client does: a test may legitimately run far longer than the lease (its waits are the
implementation's published limits, up to an hour each), and a lease that silently expired under it
would let another worker change the profile in the middle of the test. Renewing is what allows the
duration to stay short, so a crashed run blocks the next one only briefly. If the lease is lost all the
same (renewals failed for a whole duration and someone took it over), the lock says so (`lost`) instead
of pretending, and `release` leaves the new holder's lease alone. Taking over an expired lease of
another holder is recorded (`taken_over`): a holder that died is worth a line in the report, since the
run it belonged to may have left the profile changed.
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from types import TracebackType

from kubernetes import client

from vnode_harness.plumbing.interruptions import interrupts_deferred
from vnode_harness.plumbing.waits import API_SERVER_AWAY, wait_for, when_answered

LOG = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 60
"""How long a crashed holder blocks others. Renewal keeps a live holder's lease fresh however long it
holds, so this only needs to outlast a few missed renewals on a busy machine."""


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def expired_since(spec: client.V1LeaseSpec, now: datetime.datetime) -> float | None:
    """Seconds since the lease expired (its last renewal plus its duration), None while it is live.

    A lease that was never renewed nor acquired counts as long expired (0 s: nothing to wait for)."""
    renewed = spec.renew_time or spec.acquire_time
    if renewed is None:
        return 0.0
    expiry = renewed + datetime.timedelta(seconds=spec.lease_duration_seconds or 0)
    return (now - expiry).total_seconds() if expiry < now else None


def takeover_text(spec: client.V1LeaseSpec, expired_for: float | None) -> str:
    """One line for the report: whose expired lease was taken over, and how stale it was."""
    return (
        f"took over the lease of {spec.holder_identity!r} (acquired {spec.acquire_time}, last renewed "
        f"{spec.renew_time}, {spec.lease_duration_seconds} s lease, expired {expired_for or 0:.0f} s "
        "before): that holder died without releasing it"
    )


@dataclass
class LeaseSettings:
    """Where a lock's Lease lives, who holds it and how it is kept fresh: shared by every Lease lock."""

    coordination: client.CoordinationV1Api
    namespace: str
    name: str
    holder: str
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    renew_interval: float | None = None
    """Seconds between renewals while held; None: a quarter of `lease_seconds`, so three renewals in a
    row may fail (an API server restarting) before the lease can expire."""
    labels: Mapping[str, str] | None = None
    """Labels of the Lease (the run label, so a Lease left behind is found: vnode_harness.lifecycle.leaks)."""


@dataclass
class ClusterLock(LeaseSettings):
    lost: str | None = field(default=None, init=False)
    """Why the lock stopped being ours while we held it (None while it is, or was until released)."""
    renewals: int = field(default=0, init=False)
    """Successful renewals since the last acquire (for tests and diagnostics)."""
    taken_over: str | None = field(default=None, init=False)
    """When the last acquire took an expired lease over from another holder: who held it, and since
    when it had expired (None when the lease was free or already ours)."""
    _stop: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _renewer: threading.Thread | None = field(default=None, init=False, repr=False)

    # --- acquire / release ---------------------------------------------------------------------------

    def acquire(self, timeout: float) -> None:
        """Wait until the lease is ours (free, expired or already ours), then keep renewing it."""
        self.lost = None
        self.renewals = 0
        self.taken_over = None
        try:
            wait_for(
                f"the cluster lock {self.namespace}/{self.name}",
                self._try_acquire,
                timeout=timeout,
                interval=0.3,
                hint=f"kubectl -n {self.namespace} get lease {self.name} -o yaml",
            )
        except BaseException:  # interrupted once the lease was ours, before this returned: not left held
            with suppress(client.ApiException, *API_SERVER_AWAY):  # the first error is the one to report
                self.release()
            raise
        self._start_renewing()

    def release(self) -> None:
        """Stop renewing, then delete the lease if it is still ours (never someone else's)."""
        with interrupts_deferred():
            self._stop_renewing()
            when_answered(self._delete_if_ours)

    def _delete_if_ours(self) -> None:
        try:
            lease = self.coordination.read_namespaced_lease(self.name, self.namespace)
        except client.ApiException as error:
            if error.status == 404:
                return
            raise
        if lease.spec.holder_identity != self.holder:
            return
        try:
            self.coordination.delete_namespaced_lease(
                self.name,
                self.namespace,
                body=client.V1DeleteOptions(preconditions=client.V1Preconditions(uid=lease.metadata.uid)),
            )
        except client.ApiException as error:
            if error.status not in (404, 409):
                raise

    def __enter__(self) -> ClusterLock:
        """`with lock:` holds it for the block; acquire() first with the timeout you need."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()

    # --- the lease -----------------------------------------------------------------------------------

    def _body(
        self, resource_version: str | None = None, acquire_time: datetime.datetime | None = None
    ) -> client.V1Lease:
        now = _now()
        return client.V1Lease(
            metadata=client.V1ObjectMeta(
                name=self.name,
                namespace=self.namespace,
                resource_version=resource_version,
                labels=dict(self.labels) if self.labels else None,
            ),
            spec=client.V1LeaseSpec(
                holder_identity=self.holder,
                lease_duration_seconds=self.lease_seconds,
                acquire_time=acquire_time or now,
                renew_time=now,
            ),
        )

    def _try_acquire(self) -> tuple[bool | None, str]:
        try:
            self.coordination.create_namespaced_lease(self.namespace, self._body())
        except client.ApiException as error:
            if error.status != 409:
                raise
        else:
            return True, "acquired"
        try:
            lease = self.coordination.read_namespaced_lease(self.name, self.namespace)
        except client.ApiException as error:
            if error.status == 404:
                return None, "lease vanished; retrying"
            raise
        spec = lease.spec
        expired_for = expired_since(spec, _now())
        if spec.holder_identity == self.holder or expired_for is not None:
            try:
                self.coordination.replace_namespaced_lease(
                    self.name, self.namespace, self._body(lease.metadata.resource_version)
                )
            except client.ApiException as error:
                if error.status != 409:
                    raise
                return None, "lost a race for the lease"
            if spec.holder_identity != self.holder:
                self.taken_over = takeover_text(spec, expired_for)
                LOG.warning("cluster lock %s/%s: %s", self.namespace, self.name, self.taken_over)
            return True, "taken over"
        return None, f"held by {spec.holder_identity} since {spec.acquire_time}, renewed {spec.renew_time}"

    # --- renewal -------------------------------------------------------------------------------------

    @property
    def interval(self) -> float:
        return self.renew_interval if self.renew_interval is not None else self.lease_seconds / 4

    def _start_renewing(self) -> None:
        self._stop_renewing()
        self._stop = threading.Event()
        self._renewer = threading.Thread(
            target=self._renew_until_stopped, name=f"lease-renewer-{self.name}", daemon=True
        )
        self._renewer.start()

    def _stop_renewing(self) -> None:
        self._stop.set()
        if self._renewer is not None and self._renewer is not threading.current_thread():
            self._renewer.join(timeout=max(self.interval, 5.0) + 30.0)
        self._renewer = None

    def _renew_until_stopped(self) -> None:
        """The renewer thread: renew every `interval` until released, or until the lease is not ours.

        A daemon thread, so a run that is torn down without releasing does not hang at exit; the lease
        then expires on its own.
        """
        while not self._stop.wait(self.interval):
            if not self.renew_once():
                return

    def renew_once(self) -> bool:
        """Move renewTime to now if the lease is still ours; False once it is not (then `lost` says why).

        A failed request (an API server restarting, a write conflict with our own previous renewal) is
        logged and left to the next tick: the interval leaves room for several misses.
        """
        try:
            lease = self.coordination.read_namespaced_lease(self.name, self.namespace)
            if lease.spec.holder_identity != self.holder:
                self.lost = f"the lease is now held by {lease.spec.holder_identity!r}"
                LOG.warning("cluster lock %s/%s lost: %s", self.namespace, self.name, self.lost)
                return False
            self.coordination.replace_namespaced_lease(
                self.name,
                self.namespace,
                self._body(lease.metadata.resource_version, acquire_time=lease.spec.acquire_time),
            )
        except client.ApiException as error:
            if error.status == 404:
                self.lost = "the lease was deleted by someone else"
                LOG.warning("cluster lock %s/%s lost: %s", self.namespace, self.name, self.lost)
                return False
            LOG.warning("renewing cluster lock %s/%s failed: %s %s", self.namespace, self.name,
                        error.status, error.reason)  # fmt: skip
            return True
        except Exception as error:  # connection errors: the next tick tries again
            LOG.warning("renewing cluster lock %s/%s failed: %s", self.namespace, self.name, error)
            return True
        self.renewals += 1
        return True
