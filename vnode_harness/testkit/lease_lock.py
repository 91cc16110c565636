"""A lock that lives in the cluster (a coordination.k8s.io Lease), for changes to cluster-global state.

The eci-profile is one object for the whole cluster. Tests that change it — in any xdist worker, or in
another run against the same existing cluster from another machine — take this lock first. A holder
that dies without releasing it (a killed run) loses it when the lease expires, so a crash never blocks
the next run for longer than the lease duration.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from kubernetes import client

from vnode_harness.waits import wait_for


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclass
class ClusterLock:
    coordination: client.CoordinationV1Api
    namespace: str
    name: str
    holder: str
    lease_seconds: int = 300

    def _body(self, resource_version: str | None = None) -> client.V1Lease:
        now = _now()
        return client.V1Lease(
            metadata=client.V1ObjectMeta(
                name=self.name, namespace=self.namespace, resource_version=resource_version
            ),
            spec=client.V1LeaseSpec(
                holder_identity=self.holder,
                lease_duration_seconds=self.lease_seconds,
                acquire_time=now,
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
        renewed = spec.renew_time or spec.acquire_time
        expired = (
            renewed is None or renewed + datetime.timedelta(seconds=spec.lease_duration_seconds or 0) < _now()
        )
        if spec.holder_identity == self.holder or expired:
            try:
                self.coordination.replace_namespaced_lease(
                    self.name, self.namespace, self._body(lease.metadata.resource_version)
                )
            except client.ApiException as error:
                if error.status != 409:
                    raise
                return None, "lost a race for the lease"
            return True, "taken over"
        return None, f"held by {spec.holder_identity} since {spec.acquire_time}"

    def acquire(self, timeout: float) -> None:
        wait_for(
            f"the cluster lock {self.namespace}/{self.name}",
            self._try_acquire,
            timeout=timeout,
            interval=0.3,
            hint=f"kubectl -n {self.namespace} get lease {self.name} -o yaml",
        )

    def release(self) -> None:
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
