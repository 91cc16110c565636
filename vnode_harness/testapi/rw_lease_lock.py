"""A readers/writer lock made of Leases: exclusive for tests that change the eci-profile, shared for the
tests that assume the baseline profile, so that no profile change is in force while they run.

The writer lease is the exclusive `ClusterLock` (one Lease, `name`). Each reader holds a Lease of its
own, `<name>-reader-<hash of the holder>`, labelled `READER_LABEL=<name>` so that writers list them.
Everything lives in the cluster, renewed in the background like ClusterLock's, so two runs against one
existing cluster (or two xdist workers) serialize with no state in the process.

Protocol (each step is one request to the API server, which orders them):
- writer: acquire the writer lease (as ClusterLock does), then wait until no *live* reader lease is
  left. Expired reader leases (dead holders) are deleted with a uid and resourceVersion precondition
  (a renewal in between changes the resourceVersion, so a reader that came back is never deleted) and
  recorded as taken over.
- reader: if a live writer holds the writer lease, wait. Otherwise create (or renew) its own reader
  lease FIRST, and only then read the writer lease again: if a live writer holds it now, delete its
  reader lease and wait again; if it is free, the shared hold is ours.

Why that excludes a writer and a reader running together: each side writes its own lease and then
reads the other's. If the reader's second read saw no live writer, it came before the writer's acquire,
so the reader lease was already there when the writer listed the readers afterwards: the writer waits.
If the writer's list saw no live reader, the reader lease was written after it, so the reader's read
that follows sees the writer and backs off. Readers back off from a writer that is merely waiting for
readers, so a queue of readers never starves a writer (writer preference).

An expired writer lease (a holder that died, maybe with the profile still changed) does not block a
reader: the reader deletes it (uid and resourceVersion preconditions, so a writer taking it over at the
same moment wins) and records it as taken over, so the report says that this test may have run under a
dead test's profile.

"Expired" is judged with this machine's clock against the renewTime another holder wrote, as ClusterLock
does; clocks of machines sharing a cluster must agree to well within the lease duration.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Literal

from kubernetes import client

from vnode_harness.plumbing.waits import wait_for
from vnode_harness.testapi.lease_lock import ClusterLock, LeaseSettings, expired_since, takeover_text

LOG = logging.getLogger(__name__)

READER_LABEL = "conformance.vnode.dev/shared-lock"
"""Label of every reader lease; its value is the name of the writer lease the reader shares."""

LockMode = Literal["exclusive", "shared"]


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def reader_lease_name(lock_name: str, holder: str) -> str:
    """One reader lease per holder; a hash, because a holder identity is no valid object name."""
    return f"{lock_name}-reader-{hashlib.sha256(holder.encode()).hexdigest()[:12]}"


def holder_identity(what: str, run_id: str) -> str:
    """Who holds a lease, as the Lease shows it: the test (or run step), the xdist worker, the run and the
    process, plus a random part so that two holders never share an identity (nor a reader lease)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return (
        f"{what} (worker {worker}, run {run_id or '-'}, pid {os.getpid()} on {socket.gethostname()}) "
        f"#{uuid.uuid4().hex[:6]}"
    )


def held_for(identity: str) -> str:
    """The test (or run step) a `holder_identity` holds the lock for."""
    return identity.split(" (worker ", 1)[0]


def _delete_if_unchanged(coordination: client.CoordinationV1Api, lease: client.V1Lease) -> bool:
    """Delete exactly this version of the lease; False when it changed or went meanwhile."""
    try:
        coordination.delete_namespaced_lease(
            lease.metadata.name,
            lease.metadata.namespace,
            body=client.V1DeleteOptions(
                preconditions=client.V1Preconditions(
                    uid=lease.metadata.uid, resource_version=lease.metadata.resource_version
                )
            ),
        )
    except client.ApiException as error:
        if error.status in (404, 409):
            return False
        raise
    return True


def _joined(*notes: str | None) -> str | None:
    present = [note for note in notes if note]
    return "; ".join(present) if present else None


@dataclass
class WriterLock(LeaseSettings):
    """The exclusive hold: the writer lease, then no live reader. Same interface as ClusterLock."""

    mode: LockMode = field(default="exclusive", init=False)
    readers_taken_over: list[str] = field(default_factory=list, init=False)
    """Expired reader leases this writer deleted during its last acquire (dead readers)."""
    _writer: ClusterLock = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._writer = ClusterLock(
            self.coordination,
            self.namespace,
            self.name,
            self.holder,
            lease_seconds=self.lease_seconds,
            renew_interval=self.renew_interval,
            labels=self.labels,
        )

    @property
    def lost(self) -> str | None:
        return self._writer.lost

    @property
    def taken_over(self) -> str | None:
        """The writer lease of a dead holder and the reader leases of dead holders this acquire took over."""
        return _joined(self._writer.taken_over, *self.readers_taken_over)

    @property
    def renewals(self) -> int:
        return self._writer.renewals

    def acquire(self, timeout: float) -> None:
        """Take the writer lease, then wait until no live reader holds a shared lease (both within
        `timeout`). Readers that come meanwhile see the writer lease and wait: they cannot starve it."""
        deadline = time.monotonic() + timeout
        self.readers_taken_over = []
        self._writer.acquire(timeout)
        try:
            wait_for(
                f"the shared holders of {self.namespace}/{self.name} to finish",
                self._no_live_reader,
                timeout=max(deadline - time.monotonic(), 1.0),
                interval=0.3,
                hint=f"kubectl -n {self.namespace} get leases -l {READER_LABEL}={self.name} "
                "-o custom-columns=NAME:.metadata.name,HOLDER:.spec.holderIdentity,RENEWED:.spec.renewTime",
            )
        except BaseException:
            self._writer.release()
            raise

    def release(self) -> None:
        """Stop renewing and delete the writer lease if it is still ours (never someone else's)."""
        self._writer.release()

    def _no_live_reader(self) -> tuple[bool | None, str]:
        leases = self.coordination.list_namespaced_lease(
            self.namespace, label_selector=f"{READER_LABEL}={self.name}"
        ).items
        live = []
        for lease in leases:
            expired_for = expired_since(lease.spec, _now())
            if expired_for is not None and _delete_if_unchanged(self.coordination, lease):
                note = f"reader lease {lease.metadata.name}: {takeover_text(lease.spec, expired_for)}"
                self.readers_taken_over.append(note)
                LOG.warning("cluster lock %s/%s: %s", self.namespace, self.name, note)
            elif expired_for is None:
                live.append(str(lease.spec.holder_identity))
            # expired but not deleted: renewed or deleted meanwhile; the next poll sees which
            else:
                live.append(f"{lease.spec.holder_identity} (changed while being taken over)")
        if live:
            return None, f"{len(live)} shared holder(s): {', '.join(live)}"
        return True, "no live shared holder"

    def __enter__(self) -> WriterLock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


@dataclass
class ReaderLock(LeaseSettings):
    """The shared hold: a reader lease of our own while no live writer holds the writer lease (`name`
    is the writer lease's, the lock's name; the reader lease is named after it)."""

    mode: LockMode = field(default="shared", init=False)
    taken_over: str | None = field(default=None, init=False)
    """When this acquire deleted the expired writer lease of a holder that died (who, how stale)."""
    _own: ClusterLock = field(init=False, repr=False)
    _holding_own: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        self._own = ClusterLock(
            self.coordination,
            self.namespace,
            reader_lease_name(self.name, self.holder),
            self.holder,
            lease_seconds=self.lease_seconds,
            renew_interval=self.renew_interval,
            labels={**(self.labels or {}), READER_LABEL: self.name},
        )

    @property
    def lease_name(self) -> str:
        return self._own.name

    @property
    def lost(self) -> str | None:
        """Why our reader lease stopped being ours while held (a writer judged us dead and deleted it)."""
        return self._own.lost

    @property
    def renewals(self) -> int:
        return self._own.renewals

    def acquire(self, timeout: float) -> None:
        """Wait until no live writer holds the lock, with our reader lease written before the last look."""
        deadline = time.monotonic() + timeout
        self.taken_over = None
        try:
            wait_for(
                f"a shared hold of {self.namespace}/{self.name} (no test changing the eci-profile)",
                lambda: self._try_acquire(deadline),
                timeout=timeout,
                interval=0.3,
                hint=f"kubectl -n {self.namespace} get lease {self.name} -o yaml",
            )
        except BaseException:  # never leave a reader lease behind that a writer would wait for
            self._let_go()
            raise

    def release(self) -> None:
        """Stop renewing and delete our reader lease if it is still ours."""
        self._let_go()

    def _let_go(self) -> None:
        self._own.release()
        self._holding_own = False

    def _try_acquire(self, deadline: float) -> tuple[bool | None, str]:
        writer = self._live_writer()
        if writer is not None:
            if self._holding_own:  # left from an attempt the API server did not answer: a writer waits on it
                self._let_go()
            return None, writer
        self._own.acquire(max(deadline - time.monotonic(), 1.0))  # our lease first (renewed from now on)
        self._holding_own = True
        writer = self._live_writer()  # ... then the look that counts
        if writer is not None:
            self._let_go()  # the writer came first: let it go ahead
            return None, writer
        return True, "shared"

    def _live_writer(self) -> str | None:
        """Who holds the writer lease while it is live; None when it is free (an expired one is deleted)."""
        try:
            lease = self.coordination.read_namespaced_lease(self.name, self.namespace)
        except client.ApiException as error:
            if error.status == 404:
                return None
            raise
        expired_for = expired_since(lease.spec, _now())
        if expired_for is None:
            return f"held by the writer {lease.spec.holder_identity} (renewed {lease.spec.renew_time})"
        if _delete_if_unchanged(self.coordination, lease):
            self.taken_over = _joined(self.taken_over, takeover_text(lease.spec, expired_for))
            LOG.warning("cluster lock %s/%s: %s", self.namespace, self.name, self.taken_over)
            return None
        return "the expired writer lease changed meanwhile (taken over by a writer?)"

    def __enter__(self) -> ReaderLock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()
