"""The one way tests change the eci-profile: lock, snapshot, change, wait until observed, restore.

Vendors run the suite against real clusters, so the profile they had is restored byte for byte (every
data value, labels and annotations) after each test, failure or not.

"Observed" is judged from outside: every valid profile the editor writes carries one extra *probe
selector* (last, so it never takes precedence over a test's own selectors; its label key is used by
nothing else) whose effect stamps a unique token. A server-side dry-run pod with the probe label comes
back with that token once — and only once — the implementation has applied that exact profile. After
a restore, the token stops appearing, which shows the implementation moved on. An invalid profile is
judged rejected when the implementation posts its declared rejection Event for that resourceVersion;
an implementation that declares none gets the whole propagation limit to show the change did nothing.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import allure
from kubernetes import client

from vnode_harness.formats.implementation import Implementation
from vnode_harness.formats.names import ECI_LABEL
from vnode_harness.plumbing.interruptions import interrupts_deferred
from vnode_harness.plumbing.probes import PROVIDER_PROBE_NAMESPACE
from vnode_harness.plumbing.waits import Probe, WaitTimeout, consistently, wait_for
from vnode_harness.testapi.blame import api_error_text
from vnode_harness.testapi.rw_lease_lock import ReaderLock, WriterLock
from vnode_harness.testapi.workloads import RUN_LABEL, create_namespace, delete_namespaces

PROBE_LABEL = "conformance.vnode.dev/profile-probe"
LOCK_NAME = "vnode-conformance-eci-profile"
LOCK_TIMEOUT_SECONDS = 900.0
"""Profile-changing tests of every worker queue on this lock; the longest queue is the whole set. A test
that assumes the baseline profile waits as long for its shared hold (vnode_harness.testapi.rw_lease_lock)."""


RESTORE_TIMEOUT_SECONDS = 120.0
"""How long the restore waits for an API server that does not answer before giving up on it."""

PROFILE_FEATURE = "selectors-effects"
"""The feature whose selector effect the editor observes a change through (catalogue `requires`)."""
HOT_UPDATES_FEATURE = "hot-updates"
"""The feature that certifies cluster-level parameters: the editor waits for changed ones only then."""


class ProfileNotApplied(AssertionError):
    """The run found before the tests that the implementation does not apply profile changes: every
    test that changes the profile fails at once with that one cause, instead of waiting out its limit."""


class ProfileLockLost(RuntimeError):
    """The profile lock stopped being ours during a test (not an AssertionError: the test is broken)."""


@dataclass
class ProfileSnapshot:
    existed: bool
    data: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


def read_profile_snapshot(core: client.CoreV1Api, implementation: Implementation) -> ProfileSnapshot:
    """The eci-profile as it is now: what a test restores byte for byte, and what the run compares at
    its end with what it found before the first test."""
    observation = implementation.observation
    try:
        config_map = core.read_namespaced_config_map(observation.profile_name, observation.profile_namespace)
    except client.ApiException as error:
        if error.status != 404:
            raise
        return ProfileSnapshot(existed=False)
    return ProfileSnapshot(
        existed=True,
        data=dict(config_map.data or {}),
        labels=dict(config_map.metadata.labels or {}),
        annotations=dict(config_map.metadata.annotations or {}),
    )


def with_probe_selector(selectors_json: str, token: str) -> str:
    """The test's selectors plus the probe selector, as the JSON text written into the profile."""
    selectors: list[Any] = json.loads(selectors_json) if selectors_json.strip() else []
    selectors.append(
        {
            "name": f"conformance-probe-{token}",
            "objectSelector": {"matchLabels": {PROBE_LABEL: token}},
            "effect": {"annotations": {PROBE_LABEL: token}},
        }
    )
    return json.dumps(selectors, indent=2)


class ProfileEditor:
    def __init__(
        self,
        api: client.ApiClient,
        implementation: Implementation,
        holder: str,
        *,
        known_propagation_failure: str = "",
        probe_namespace: str = PROVIDER_PROBE_NAMESPACE,
        run_id: str = "",
    ) -> None:
        self.core = client.CoreV1Api(api)
        self.probe_namespace = probe_namespace
        self.run_id = run_id
        self.known_propagation_failure = known_propagation_failure
        self.implementation = implementation
        self.observation = implementation.observation
        self.limits = implementation.limits
        self.lock = WriterLock(  # exclusive: no other test, changing the profile or not, runs beside it
            client.CoordinationV1Api(api),
            self.observation.profile_namespace,
            LOCK_NAME,
            holder,
            labels={RUN_LABEL: run_id} if run_id else None,
        )
        self.snapshot: ProfileSnapshot | None = None
        self._last_token: str | None = None
        self._in_force: dict[str, str] = {}
        """The profile data the implementation was last seen applying (its parameters: see
        `_wait_parameters`)."""

    # --- lifecycle ---------------------------------------------------------------------------------

    def begin(self) -> None:
        self.lock.acquire(LOCK_TIMEOUT_SECONDS)
        try:
            self.snapshot = read_profile_snapshot(self.core, self.implementation)
        except BaseException:
            self.lock.release()
            raise
        self._in_force = dict(self.snapshot.data)

    @allure.step("restore the eci-profile byte for byte")
    def restore(self) -> None:
        """Put back the snapshot byte for byte, wait until the implementation left the test's profile,
        release the lock; raise ProfileLockLost if the lock stopped being ours during the test."""
        self.restore_unreported()

    def restore_unreported(self) -> None:
        """`restore` without its Allure step: for the check before the tests, which runs in a shard's
        own thread (Allure steps need a test of the thread's own, or the main thread)."""
        with interrupts_deferred():
            try:
                self._put_back()
            finally:
                self.lock.release()
        if self.lock.lost is not None:
            # Another writer may have changed the profile during the test: its result proves nothing.
            raise ProfileLockLost(
                f"the eci-profile lock {self.observation.profile_namespace}/{LOCK_NAME} was lost while "
                f"this test held it ({self.lock.lost}); another test may have changed the profile meanwhile"
            )

    def _put_back(self) -> None:
        snapshot = self.snapshot
        if snapshot is None:
            return

        def put_back() -> tuple[bool | None, str]:
            if snapshot.existed:
                self._write(snapshot.data, labels=snapshot.labels, annotations=snapshot.annotations)
                return True, "written back"
            try:
                self.core.delete_namespaced_config_map(
                    self.observation.profile_name, self.observation.profile_namespace
                )
            except client.ApiException as error:
                if error.status != 404:
                    raise
            return True, "deleted"

        # The API server may be restarting when a test ends (a fault, a broken test): the restore waits
        # for it rather than leaving the vendor's profile changed (wait_for retries while it is away).
        wait_for("the eci-profile to be written back", put_back, timeout=RESTORE_TIMEOUT_SECONDS)
        if self._last_token is not None:
            token = self._last_token
            written = time.monotonic()
            wait_for(
                "the implementation to leave the test's profile after the restore",
                lambda: self._probe_absent(token),
                timeout=self.limits.profile_propagation_seconds,
                hint=self._kubectl_profile(),
            )
            self._wait_parameters(snapshot.data, token=None, since=written)

    # --- changes -----------------------------------------------------------------------------------

    @property
    def baseline(self) -> dict[str, str]:
        assert self.snapshot is not None, "begin() first"
        return dict(self.snapshot.data)

    @allure.step("change the eci-profile: {changes}")
    def apply(self, changes: Mapping[str, str | None]) -> dict[str, str]:
        """Write baseline + `changes` (None removes a key) and wait until the implementation applied it.

        Returns the data as written without the probe selector (what the test configured).
        """
        return self.apply_unreported(changes)

    def apply_unreported(self, changes: Mapping[str, str | None]) -> dict[str, str]:
        """`apply` without its Allure step (see `restore_unreported`)."""
        if self.known_propagation_failure:
            raise ProfileNotApplied(
                "the implementation did not apply a changed eci-profile when the run checked it before "
                f"the tests, so this test cannot pass: {self.known_propagation_failure}"
            )
        data = self._merged(changes)
        token = uuid.uuid4().hex[:10]
        written = dict(data)
        written["selectors"] = with_probe_selector(data.get("selectors", ""), token)
        self._write(written)
        since = time.monotonic()
        self._last_token = token
        wait_for(
            "the implementation to apply the changed eci-profile",
            lambda: self._probe_present(token),
            timeout=self.limits.profile_propagation_seconds,
            hint=self._kubectl_profile(),
        )
        self._wait_parameters(data, token=token, since=since)
        return data

    def _wait_parameters(self, data: Mapping[str, str], *, token: str | None, since: float) -> None:
        """Each changed cluster-level parameter in force by its own observation, within the propagation
        limit counted from the write: a design may apply parameter defaults a little after the
        selectors (both are documented to apply to new pods, neither says at the same instant), and the
        test must not read a new pod's parameters before they are due. Observed on a dry-run pod the
        probe selector makes an ECI pod (`token`; after a restore, a pod labelled for ECI): a set value
        must be stamped as written; a removed one must stop being stamped. After a restore (no token)
        only the test's own values must stop being stamped (a pod labelled for ECI may not be routed by
        a wrong implementation: that is for the tests to judge, not the restore). Only with hot-updates,
        the feature that certifies parameters."""
        previous, self._in_force = self._in_force, dict(data)
        if not self.implementation.supports(HOT_UPDATES_FEATURE):
            return
        keys = self._parameter_annotations()
        expected: dict[str, tuple[str, str]] = {}  # annotation → (what it must be | must not be, value)
        for key, annotation in keys.items():
            old, new = previous.get(key), data.get(key)
            if new == old or (new is not None and "," in new):  # a list: no single stamped value to expect
                continue
            if token is None:
                if old:
                    expected[annotation] = ("is not", old)
                continue
            expected[annotation] = ("is", new) if new else ("is not", old or "")
        if not expected:
            return

        with self._fresh_namespace() as namespace:

            def stamped() -> tuple[bool | None, str]:
                labels = {PROBE_LABEL: token} if token else {ECI_LABEL: "true"}
                probe = self._dry_run_probe(token or "", labels=labels, namespace=namespace)
                annotations = probe.metadata.annotations or {}
                wrong = [
                    f"{annotation}={annotations.get(annotation)!r} (expected {how} {value!r})"
                    for annotation, (how, value) in expected.items()
                    if (annotations.get(annotation) == value) != (how == "is")
                ]
                return (None if wrong else True), "; ".join(wrong) or "every changed parameter stamped"

            wait_for(
                "the implementation to apply the profile's changed parameters to new ECI pods",
                stamped,
                timeout=max(self.limits.profile_propagation_seconds - (time.monotonic() - since), 1.0),
                hint=self._kubectl_profile(),
            )

    @contextmanager
    def _fresh_namespace(self) -> Iterator[str]:
        """A namespace no ECI pod was admitted in yet, for the parameter probes: an implementation that
        reads parameters once per namespace (wrong: HOT-PARAMS-NEW-PODS) then still shows a change, and
        the tests of other parameter rules judge their own pods, not the editor's stale probe namespace."""
        created: list[str] = []  # known as soon as it exists: an interrupt during the wait still deletes it
        try:
            yield create_namespace(
                self.core, "vnode-parameter-probe", self.run_id or "no-run", on_created=created.append
            ).name
        finally:
            with suppress(client.ApiException):  # a refusal must not hide why the probe ended
                delete_namespaces(self.core, created)

    def _parameter_annotations(self) -> dict[str, str]:
        """Profile key → the pod annotation the implementation stamps its value in."""
        return {
            "securityGroupId": self.observation.security_group_annotation,
            "vSwitchIds": self.observation.vswitch_annotation,
        }

    @allure.step("write an invalid eci-profile: {changes}")
    def apply_invalid(
        self, changes: Mapping[str, str | None], *, also_holding: Mapping[str, Probe[object]] | None = None
    ) -> str:
        """Write an invalid profile verbatim and wait until it is known to have been rejected.

        Before it, a valid profile carrying a probe token is put in force. Rejected means: the
        implementation's declared rejection Event for exactly this resourceVersion appeared (when it
        declares one), and from then on the probe token stays stamped for the hold window — the last
        valid profile stays in force (one read would pass an implementation that applies the invalid
        profile a little later). Without a declared Event there is no moment at which the rejection is
        known, so the token must stay stamped for the propagation limit plus the hold window. A token
        that disappears means the invalid profile was applied: a failed assertion (ConsistencyViolation),
        not a wait. `also_holding` adds the test's own "stays so" claims (description → probe, in the
        shape of a `wait_for` probe) to the same window, so they are watched together rather than one
        window after another. Returns the resourceVersion written.
        """
        if self._last_token is None:
            self.apply({})
        token = self._last_token
        assert token is not None
        data = self._merged(changes)
        written = self._write(data)
        version = str(written.metadata.resource_version)
        rejection = self.observation.profile_rejection_event
        limit = self.limits.profile_propagation_seconds
        if rejection is not None:
            wait_for(
                f"the implementation's {rejection.reason} Event for the invalid eci-profile",
                lambda: self._rejection_event(rejection.reason, version),
                timeout=limit,
                hint=f"kubectl -n {self.observation.profile_namespace} get events "
                f"--field-selector involvedObject.name={self.observation.profile_name}",
            )
            window = float(self.limits.hold_seconds)
        else:
            window = float(limit + self.limits.hold_seconds)
        claims: dict[str, Probe[object]] = {
            "the last valid profile in force (if not, the invalid one was applied)": (
                lambda: self._probe_present(token)
            ),
            **(also_holding or {}),
        }

        def every_claim() -> tuple[bool | None, str]:
            seen_all = []
            for description, probe in claims.items():
                value, seen = probe()
                if value is None:
                    return None, f"{description}: no longer holds, seen {seen}"
                seen_all.append(f"{description}: {seen}")
            return True, "; ".join(seen_all)

        consistently(
            "after an invalid eci-profile was written: " + ", and ".join(claims),
            every_claim,
            hold=window,
            hint=self._kubectl_profile(),
        )
        return version

    def _merged(self, changes: Mapping[str, str | None]) -> dict[str, str]:
        data = self.baseline
        for key, value in changes.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        return data

    def _write(
        self,
        data: Mapping[str, str],
        labels: Mapping[str, str] | None = None,
        annotations: Mapping[str, str] | None = None,
    ) -> Any:
        name, namespace = self.observation.profile_name, self.observation.profile_namespace
        try:
            current = self.core.read_namespaced_config_map(name, namespace)
        except client.ApiException as error:
            if error.status != 404:
                raise
            body = client.V1ConfigMap(
                metadata=client.V1ObjectMeta(
                    name=name, namespace=namespace, labels=labels, annotations=annotations
                ),
                data=dict(data),
            )
            return self.core.create_namespaced_config_map(namespace, body)
        current.data = dict(data)
        if labels is not None:
            current.metadata.labels = dict(labels)
        if annotations is not None:
            current.metadata.annotations = dict(annotations)
        return self.core.replace_namespaced_config_map(name, namespace, current)

    # --- observation -------------------------------------------------------------------------------

    def _dry_run_probe(
        self, token: str, *, labels: Mapping[str, str] | None = None, namespace: str = ""
    ) -> Any:
        pod = {
            "metadata": {"generateName": "profile-probe-", "labels": dict(labels or {PROBE_LABEL: token})},
            "spec": {"containers": [{"name": "app", "image": "registry.invalid/probe:1"}]},
        }
        return self.core.create_namespaced_pod(namespace or self.probe_namespace, pod, dry_run="All")

    def _probe_present(self, token: str) -> tuple[bool | None, str]:
        pod = self._dry_run_probe(token)
        stamped = (pod.metadata.annotations or {}).get(PROBE_LABEL)
        return (True if stamped == token else None), f"probe pod annotation {PROBE_LABEL}={stamped!r}"

    def _probe_absent(self, token: str) -> tuple[bool | None, str]:
        pod = self._dry_run_probe(token)
        stamped = (pod.metadata.annotations or {}).get(PROBE_LABEL)
        return (True if stamped != token else None), f"probe pod still stamped {stamped!r}"

    def _rejection_event(self, reason: str, resource_version: str) -> tuple[bool | None, str]:
        events = self.core.list_namespaced_event(
            self.observation.profile_namespace,
            field_selector=f"involvedObject.name={self.observation.profile_name},reason={reason}",
        ).items
        versions = [e.involved_object.resource_version for e in events]
        return (
            True if resource_version in versions else None
        ), f"{reason} events for resourceVersions {versions}"

    def _kubectl_profile(self) -> str:
        observation = self.observation
        return f"kubectl -n {observation.profile_namespace} get configmap {observation.profile_name} -o yaml"


@contextmanager
def baseline_profile_held(
    api: client.ApiClient, implementation: Implementation, holder: str, *, run_id: str = ""
) -> Iterator[ReaderLock]:
    """The shared hold of the profile lock, for a test that assumes the profile as the run found it: no
    test that changes the profile (those hold it exclusively, ProfileEditor) runs while it is held, in
    this run or another against the same cluster. Raises ProfileLockLost at the end if a writer took the
    hold away meanwhile (it judged us dead): the profile may have changed under the test."""
    lock = ReaderLock(
        client.CoordinationV1Api(api),
        implementation.observation.profile_namespace,
        LOCK_NAME,
        holder,
        labels={RUN_LABEL: run_id} if run_id else None,
    )
    lock.acquire(LOCK_TIMEOUT_SECONDS)
    try:
        yield lock
    finally:
        lock.release()
    if lock.lost is not None:
        raise ProfileLockLost(
            f"the shared hold of the eci-profile lock ({lock.lease_name}) was lost while this test held it "
            f"({lock.lost}); a test changing the profile may have run meanwhile"
        )


def profile_propagation_failure(
    api: client.ApiClient, implementation: Implementation, *, probe_namespace: str, run_id: str
) -> str:
    """Change the profile once (the probe selector only) and restore it: "" when the implementation
    applied the change within its limit, else why not. Run once before the tests, so an implementation
    that never applies profile changes is told so at once rather than after every test's time-out."""
    editor = ProfileEditor(
        api,
        implementation,
        holder=f"readiness@{uuid.uuid4().hex[:8]}",
        probe_namespace=probe_namespace,
        run_id=run_id,
    )
    editor.begin()
    try:
        try:
            editor.apply_unreported({})
        finally:
            editor.restore_unreported()
    except WaitTimeout as error:
        return str(error)
    except client.ApiException as error:  # the implementation's webhook failed the suite's probe
        return f"the API server refused the suite's probe of the profile change: {api_error_text(error)}"
    return ""
