"""The profile controller: the active profile, and with ``NamespaceLabelCache`` the ``AdmissionContext``.

``ProfileController`` watches ``kube-system/eci-profile`` and keeps the *active profile*: a valid
profile becomes active at once (the admission handler reads it on every request), then ``vk-webhook``
and the storage class are reconciled and a Normal ``ProfileApplied`` Event is posted; an invalid one
leaves the last valid profile in force and is reported by a Warning ``InvalidProfile`` Event (the
problems joined, at most 1 KiB) and in the log. With ``NamespaceLabelCache`` it implements the
admission handler's ``AdmissionContext``.

Decisions:

- A missing ConfigMap is created with the defaults at start (ARCHITECTURE.md). A ConfigMap deleted
  while we run is recreated with the defaults too, as ACK's component does, and the last valid profile
  stays in force until the recreated one is observed. Recreating it with the *last* data instead would
  make a deletion impossible to use as "back to defaults" — and the suite's profile editor relies on
  a deleted profile bringing the implementation off the test's profile.
- An invalid profile at start has no "last valid" one to fall back to: the built-in defaults are
  used (label routing keeps working) and the problems are reported as for any invalid profile.
- Reconciliation runs again every ``resync_seconds``: it heals drift (a hand-edited ``vk-webhook``, a
  deleted StorageClass) and retries a reconcile that failed, without a watch on every owned object.
  Reconcilers compare before writing, so an idle resync costs two GETs.
- Watches, reads and Events go through ``eci_reference.kube`` and ``eci_reference.events`` (list,
  then watch; plain JSON objects; repeated Events counted), which know nothing of the profile.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException
from tenacity import AsyncRetrying, stop_after_attempt, wait_exponential

from eci_reference.constants import (
    EVENT_REASON_INVALID_PROFILE,
    EVENT_REASON_PROFILE_APPLIED,
    EVENT_REASON_RECONCILE_FAILED,
    PROFILE_NAME,
    PROFILE_NAMESPACE,
)
from eci_reference.events import EventRecorder, object_reference
from eci_reference.kube import REQUEST_TIMEOUT_SECONDS, describe_error, labels_of, list_watch, read_json
from eci_reference.profile import Profile, ProfileError, parse_profile

logger = logging.getLogger("eci_reference.controller")

RESYNC_SECONDS: Final = 60.0


# --- namespaces ----------------------------------------------------------------------------------


class NamespaceLabelCache:
    """Namespace labels from a watch, with a live GET on a miss (the API server's own webhook
    namespace matcher does the same): a namespace created a moment ago is not yet in the cache, and
    treating it as unlabelled would misroute its first pods."""

    def __init__(self, api_client: Any) -> None:
        self._core: Any = client.CoreV1Api(api_client)
        self._labels: dict[str, Mapping[str, str]] = {}
        self._synced = False

    async def lookup(self, name: str) -> Mapping[str, str] | None:
        if self._synced and name in self._labels:
            return self._labels[name]
        found = await read_json(
            self._core.read_namespace(name, _preload_content=False, _request_timeout=REQUEST_TIMEOUT_SECONDS)
        )
        # Not cached: the watch adds it, and a GET racing a deletion must not resurrect it.
        return None if found is None else labels_of(found)

    async def on_list(self, items: list[dict[str, Any]]) -> None:
        self._labels = {item["metadata"]["name"]: labels_of(item) for item in items}
        self._synced = True

    async def on_event(self, event_type: str, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        if event_type == "DELETED":
            self._labels.pop(name, None)
        else:
            self._labels[name] = labels_of(obj)

    async def run(self) -> None:
        await list_watch("namespaces", self._core.list_namespace, self)


# --- the profile ---------------------------------------------------------------------------------

Reconciler = Callable[[Profile], Awaitable[object]]


@dataclass(frozen=True)
class Evaluation:
    """What a ConfigMap's data means for the active profile."""

    profile: Profile
    #: Problems of an invalid profile; empty when the data was valid.
    problems: tuple[str, ...] = ()
    #: The data was invalid and there was no valid profile yet: the defaults are in force.
    fell_back_to_defaults: bool = False

    @property
    def valid(self) -> bool:
        return not self.problems


def evaluate_profile(
    data: Mapping[str, str], active: Profile | None, default_data: Mapping[str, str]
) -> Evaluation:
    """Parse ``data``; an invalid profile keeps ``active`` (or the defaults when there is none)."""
    try:
        return Evaluation(profile=parse_profile(data))
    except ProfileError as error:
        problems = tuple(error.problems)
    if active is not None:
        return Evaluation(profile=active, problems=problems)
    return Evaluation(profile=parse_profile(default_data), problems=problems, fell_back_to_defaults=True)


def profile_summary(profile: Profile) -> str:
    """The ProfileApplied message: what the profile routes and sets, in one line."""
    routing = [selector.name for selector in profile.routing_selectors]
    global_effects = [selector.name for selector in profile.selectors if selector.is_global_effect]
    parts = [
        f"{len(routing)} routing selector(s)" + (f" ({', '.join(routing)})" if routing else ""),
        f"{len(global_effects)} global effect(s)"
        + (f" ({', '.join(global_effects)})" if global_effects else ""),
        f"vSwitchIds={profile.vswitch_ids or '(none)'}",
        f"securityGroupId={profile.security_group_id or '(none)'}",
        f"WaitForFirstConsumer={'true' if profile.wait_for_first_consumer else 'false'}",
    ]
    return "eci-profile applied: " + ", ".join(parts)


class ProfileController:
    """Keeps the active profile in step with ``kube-system/eci-profile``; the ``AdmissionContext``."""

    def __init__(
        self,
        api_client: Any,
        *,
        default_data: Mapping[str, str],
        events: EventRecorder,
        namespaces: NamespaceLabelCache,
        reconcilers: Sequence[Reconciler] = (),
        resync_seconds: float = RESYNC_SECONDS,
        namespace: str = PROFILE_NAMESPACE,
        name: str = PROFILE_NAME,
    ) -> None:
        self._core: Any = client.CoreV1Api(api_client)
        self._default_data = dict(default_data)
        self._events = events
        self._namespaces = namespaces
        self._reconcilers = tuple(reconcilers)
        self._resync_seconds = resync_seconds
        self._namespace = namespace
        self._name = name
        self._active: Profile | None = None
        self._seen_version: str | None = None
        self._reference: dict[str, Any] | None = None
        self._pending_applied: tuple[dict[str, Any], str] | None = None
        self._reconcile_pending = True
        self._lock = asyncio.Lock()

    # --- AdmissionContext --------------------------------------------------------------------------

    def active_profile(self) -> Profile | None:
        return self._active

    async def namespace_labels(self, name: str) -> Mapping[str, str] | None:
        return await self._namespaces.lookup(name)

    # --- start -------------------------------------------------------------------------------------

    @property
    def where(self) -> str:
        return f"{self._namespace}/{self._name}"

    async def ensure_profile(self) -> bool:
        """Create the ConfigMap with the defaults when it does not exist; True when created."""
        found = await read_json(
            self._core.read_namespaced_config_map(
                self._name, self._namespace, _preload_content=False, _request_timeout=REQUEST_TIMEOUT_SECONDS
            )
        )
        if found is not None:
            return False
        return await self._create_default()

    async def load(self) -> None:
        """The first read: make a profile active before the admission server starts (no writes)."""
        found = await read_json(
            self._core.read_namespaced_config_map(
                self._name, self._namespace, _preload_content=False, _request_timeout=REQUEST_TIMEOUT_SECONDS
            )
        )
        if found is None:  # deleted again since ensure_profile: the watch recreates it
            self._active = parse_profile(self._default_data)
            return
        await self._observe(found)

    async def reconcile(self) -> bool:
        """Bring ``vk-webhook`` and the storage class in step with the active profile; True on success.

        Then post the pending ProfileApplied Event. A failure is retried a few times here, then by
        the resync loop, and reported as a Warning ``ReconcileFailed`` Event (one Event whose count
        grows while the same failure repeats).
        """
        async with self._lock:
            profile = self._active
            if profile is None:
                return False
            try:
                async for attempt in AsyncRetrying(
                    stop=stop_after_attempt(3), wait=wait_exponential(multiplier=0.5, max=4), reraise=True
                ):
                    with attempt:
                        for reconciler in self._reconcilers:
                            await reconciler(profile)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self._reconcile_pending = True
                logger.exception(
                    "reconciling the active profile failed; retrying in %.0fs", self._resync_seconds
                )
                if self._reference is not None:
                    await self._events.post(
                        self._reference,
                        "Warning",
                        EVENT_REASON_RECONCILE_FAILED,
                        f"applying the eci-profile failed (retrying): {describe_error(error)}",
                    )
                return False
            self._reconcile_pending = False
            pending, self._pending_applied = self._pending_applied, None
        if pending is not None:
            await self._events.post(pending[0], "Normal", EVENT_REASON_PROFILE_APPLIED, pending[1])
        return True

    async def run(self) -> None:
        """Watch the ConfigMap and resync periodically, until cancelled."""
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._resync_loop())
            tasks.create_task(
                list_watch(
                    f"configmap {self.where}",
                    self._core.list_namespaced_config_map,
                    self,
                    call_kwargs={
                        "namespace": self._namespace,
                        "field_selector": f"metadata.name={self._name}",
                    },
                )
            )

    # --- WatchHandler ------------------------------------------------------------------------------

    async def on_list(self, items: list[dict[str, Any]]) -> None:
        mine = [item for item in items if item["metadata"]["name"] == self._name]
        if mine:
            await self._changed(mine[0])
        else:
            await self._deleted()

    async def on_event(self, event_type: str, obj: dict[str, Any]) -> None:
        if obj.get("metadata", {}).get("name") != self._name:
            return
        if event_type == "DELETED":
            await self._deleted()
        else:
            await self._changed(obj)

    # --- internals ---------------------------------------------------------------------------------

    async def _changed(self, config_map: Mapping[str, Any]) -> None:
        version = config_map["metadata"].get("resourceVersion")
        if version is not None and version == self._seen_version:
            if self._reconcile_pending:
                await self.reconcile()
            return
        await self._observe(config_map)
        await self.reconcile()

    async def _observe(self, config_map: Mapping[str, Any]) -> None:
        """Evaluate one version of the ConfigMap: switch the active profile or report its problems."""
        self._seen_version = config_map["metadata"].get("resourceVersion")
        reference = object_reference("ConfigMap", "v1", config_map)
        self._reference = reference
        data = config_map.get("data") or {}
        evaluation = evaluate_profile(data, self._active, self._default_data)
        self._active = evaluation.profile
        if evaluation.valid:
            self._pending_applied = (reference, profile_summary(evaluation.profile))
            self._reconcile_pending = True
            logger.info(
                "%s resourceVersion %s is valid and active: %s",
                self.where,
                self._seen_version,
                profile_summary(evaluation.profile),
            )
            return
        in_force = (
            "the built-in defaults are" if evaluation.fell_back_to_defaults else "the last valid profile is"
        )
        self._reconcile_pending = self._reconcile_pending or evaluation.fell_back_to_defaults
        logger.warning(
            "%s resourceVersion %s is invalid and was not applied (%s in force): %s",
            self.where,
            self._seen_version,
            in_force,
            json.dumps(list(evaluation.problems)),
        )
        await self._events.post(
            reference, "Warning", EVENT_REASON_INVALID_PROFILE, "; ".join(evaluation.problems)
        )

    async def _deleted(self) -> None:
        if self._seen_version is not None:
            logger.warning(
                "%s was deleted; the last valid profile stays in force; recreating it with the defaults",
                self.where,
            )
        self._seen_version = None
        try:
            await self._create_default()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the next list (after a reconnect or resync) tries again
            logger.warning("recreating %s failed: %s", self.where, describe_error(error))

    async def _create_default(self) -> bool:
        body = {
            "metadata": {"name": self._name, "namespace": self._namespace},
            "data": dict(self._default_data),
        }
        try:
            await self._core.create_namespaced_config_map(self._namespace, body)
        except ApiException as error:
            if error.status == 409:  # somebody was faster: theirs is the profile
                return False
            raise
        logger.info("created %s with the default profile", self.where)
        return True

    async def _resync_loop(self) -> None:
        while True:
            await asyncio.sleep(self._resync_seconds)
            if self._seen_version is None:  # deleted, and recreating it failed so far
                await self._deleted()
            await self.reconcile()
