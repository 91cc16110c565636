"""The profile controller and the Kubernetes plumbing the runtime shares.

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
- Every watch lists first and then watches from the list's resourceVersion; when the API server goes
  away it lists again with exponential backoff (tenacity), so nothing missed while disconnected is
  lost: a resumed list shows the current state, and the handlers are written for states, not deltas.
- Objects are handled as the API server's JSON (camelCase dicts), not the client's model classes:
  the object builders and the comparisons stay plain data, the same in tests and in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final, Protocol

import aiohttp
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_exponential_jitter,
)

from eci_reference.constants import (
    EVENT_REASON_INVALID_PROFILE,
    EVENT_REASON_PROFILE_APPLIED,
    PROFILE_NAME,
    PROFILE_NAMESPACE,
)
from eci_reference.profile import Profile, ProfileError, parse_profile

logger = logging.getLogger("eci_reference.controller")

COMPONENT: Final = "eci-reference"
EVENT_MESSAGE_LIMIT: Final = 1024
EVENT_REASON_RECONCILE_FAILED: Final = "ReconcileFailed"
#: Server-side watch timeout; each watch is re-opened from its last resourceVersion after it.
WATCH_SECONDS: Final = 300
#: A list or GET that takes longer than this is treated as a failure (and retried).
REQUEST_TIMEOUT_SECONDS: Final = 30
#: A watch that failed after running this long is re-listed at once instead of backing off.
HEALTHY_AFTER_SECONDS: Final = 30.0
RESYNC_SECONDS: Final = 60.0
_REMEMBERED_EVENT_OBJECTS: Final = 1024


# --- API helpers ---------------------------------------------------------------------------------


def api_status(error: BaseException) -> int | None:
    """The HTTP status of an API error, ``None`` for anything else (connection errors, timeouts)."""
    return error.status if isinstance(error, ApiException) else None


async def read_json(call: Awaitable[Any]) -> dict[str, Any] | None:
    """Await a client call made with ``_preload_content=False``; its JSON body, ``None`` on 404.

    Any other non-2xx status raises ``ApiException`` (the client raises nothing without preloading).
    """
    response = await call
    try:
        body = await response.read()
    finally:
        response.release()
    if response.status == 404:
        return None
    if not 200 <= response.status < 300:
        error = ApiException(status=response.status, reason=response.reason)
        error.body = body.decode("utf-8", "replace")
        raise error
    decoded: dict[str, Any] = json.loads(body)
    return decoded


def describe_error(error: BaseException) -> str:
    """One line for a log or an Event: status and the API server's message, or the exception."""
    if isinstance(error, ApiException):
        message = error.reason or ""
        with contextlib.suppress(ValueError, AttributeError, TypeError):
            message = json.loads(error.body or "").get("message") or message
        return f"HTTP {error.status}: {message}"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def labels_of(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return MappingProxyType(dict((obj.get("metadata") or {}).get("labels") or {}))


# --- list + watch --------------------------------------------------------------------------------


class WatchHandler(Protocol):
    """Receives the full state after every (re)list, then each change."""

    async def on_list(self, items: list[dict[str, Any]]) -> None: ...

    async def on_event(self, event_type: str, obj: dict[str, Any]) -> None: ...


async def list_watch(
    what: str,
    list_call: Callable[..., Awaitable[Any]],
    handler: WatchHandler,
    *,
    call_kwargs: Mapping[str, Any] | None = None,
    watch_seconds: int = WATCH_SECONDS,
    healthy_after: float = HEALTHY_AFTER_SECONDS,
    initial_backoff: float = 0.5,
    max_backoff: float = 30.0,
) -> None:
    """List, then watch from the list's resourceVersion, forever (until cancelled).

    A watch that ends normally is re-opened where it stopped; 410 Gone, or a failure after a healthy
    run, re-lists at once; a failure soon after (re)listing backs off exponentially with jitter.
    """
    kwargs = dict(call_kwargs or {})
    loop = asyncio.get_running_loop()

    async def session() -> None:
        started = loop.time()
        try:
            listed = await _list(what, list_call, kwargs)
            await handler.on_list(list(listed.get("items") or []))
            version = str(listed["metadata"]["resourceVersion"])
            while True:
                version = await _watch_once(list_call, kwargs, version, handler, watch_seconds)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if api_status(error) == 410:
                logger.info("watch of %s expired (410 Gone); listing again", what)
                return
            if loop.time() - started >= healthy_after:
                logger.warning("watch of %s failed: %s; listing again", what, describe_error(error))
                return
            raise

    def log_retry(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        logger.warning(
            "listing/watching %s failed (attempt %d): %s; retrying in %.1fs",
            what,
            state.attempt_number,
            describe_error(error) if error else "unknown error",
            wait,
        )

    while True:
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(Exception),
            wait=wait_exponential_jitter(multiplier=initial_backoff, max=max_backoff, jitter=initial_backoff),
            before_sleep=log_retry,
            reraise=True,
        )
        await retrying(session)


async def _list(
    what: str, list_call: Callable[..., Awaitable[Any]], kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    listed = await read_json(
        list_call(**kwargs, _preload_content=False, _request_timeout=REQUEST_TIMEOUT_SECONDS)
    )
    if listed is None:
        raise RuntimeError(f"listing {what} answered 404")
    return listed


async def _watch_once(
    list_call: Callable[..., Awaitable[Any]],
    kwargs: Mapping[str, Any],
    version: str,
    handler: WatchHandler,
    watch_seconds: int,
) -> str:
    """One watch request from ``version``; returns the resourceVersion to continue from."""
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=watch_seconds + 30)
    stream = watch.Watch(return_type="object")  # keep the raw JSON; no model classes
    async with stream.stream(
        list_call,
        **kwargs,
        resource_version=version,
        timeout_seconds=watch_seconds,
        allow_watch_bookmarks=True,
        _request_timeout=timeout,
    ) as events:
        async for event in events:
            if event["type"] in ("ADDED", "MODIFIED", "DELETED"):
                await handler.on_event(event["type"], event["raw_object"])
    return str(stream.resource_version or version)


# --- events --------------------------------------------------------------------------------------


def trim_utf8(text: str, limit: int = EVENT_MESSAGE_LIMIT) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes (on a character boundary), marked with "…"."""
    encoded = text.encode("utf-8", "replace")
    if len(encoded) <= limit:
        return text
    marker = "…".encode()
    return encoded[: limit - len(marker)].decode("utf-8", "ignore") + "…"


def object_reference(kind: str, api_version: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    """The ``involvedObject`` of an Event about ``obj`` (as of its current resourceVersion)."""
    metadata = obj.get("metadata") or {}
    reference = {
        "kind": kind,
        "apiVersion": api_version,
        "name": metadata.get("name", ""),
        "uid": metadata.get("uid", ""),
        "resourceVersion": metadata.get("resourceVersion", ""),
    }
    if metadata.get("namespace"):
        reference["namespace"] = metadata["namespace"]
    return reference


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_event(
    reference: Mapping[str, Any],
    event_type: str,
    reason: str,
    message: str,
    *,
    now: datetime,
    component: str = COMPONENT,
    host: str = "",
) -> dict[str, Any]:
    """A core/v1 Event, named like client-go names them (``<object>.<unix nanoseconds in hex>``)."""
    stamp = _timestamp(now)
    nanoseconds = int(now.timestamp() * 1_000_000) * 1000
    source = {"component": component, **({"host": host} if host else {})}
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{reference.get('name') or 'unnamed'}.{nanoseconds:x}",
            # Events about cluster-scoped objects go to "default", as client-go does.
            "namespace": reference.get("namespace") or "default",
        },
        "involvedObject": dict(reference),
        "reason": reason,
        "message": trim_utf8(message),
        "type": event_type,
        "source": source,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
        "reportingComponent": component,
        "reportingInstance": host,
    }


@dataclass
class _Posted:
    key: tuple[str, str, str, str]
    name: str
    namespace: str
    count: int


class EventRecorder:
    """Posts core/v1 Events; an Event identical to the previous one about the same object version
    (same type, reason and message) increments that Event's ``count`` instead of adding another.

    The object's resourceVersion is part of "identical" because the Event records which version it
    is about (the suite looks for the InvalidProfile Event of the version it wrote). Posting is best
    effort: a failure is logged, never raised — an Event must not stop a reconcile.
    """

    def __init__(
        self,
        api_client: Any,
        *,
        component: str = COMPONENT,
        host: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._core: Any = client.CoreV1Api(api_client)
        self._component = component
        self._host = socket.gethostname() if host is None else host
        self._clock = clock
        self._last: OrderedDict[str, _Posted] = OrderedDict()
        self._lock = asyncio.Lock()

    async def post(self, reference: Mapping[str, Any], event_type: str, reason: str, message: str) -> None:
        async with self._lock:
            try:
                await self._post(reference, event_type, reason, trim_utf8(message))
            except asyncio.CancelledError:
                raise
            except Exception as error:
                logger.warning(
                    "posting Event %s on %s %s failed: %s",
                    reason,
                    reference.get("kind"),
                    reference.get("name"),
                    describe_error(error),
                )

    async def _post(self, reference: Mapping[str, Any], event_type: str, reason: str, message: str) -> None:
        key = (str(reference.get("resourceVersion", "")), event_type, reason, message)
        uid = str(reference.get("uid") or reference.get("name"))
        now = self._clock()
        previous = self._last.get(uid)
        if previous is not None and previous.key == key:
            body = {"count": previous.count + 1, "lastTimestamp": _timestamp(now)}
            try:
                await self._core.patch_namespaced_event(previous.name, previous.namespace, body)
            except ApiException as error:
                if error.status != 404:  # expired (events live about an hour): post a new one
                    raise
            else:
                previous.count += 1
                self._last.move_to_end(uid)
                return
        event = build_event(
            reference, event_type, reason, message, now=now, component=self._component, host=self._host
        )
        namespace = event["metadata"]["namespace"]
        await self._core.create_namespaced_event(namespace, event)
        self._last[uid] = _Posted(key=key, name=event["metadata"]["name"], namespace=namespace, count=1)
        self._last.move_to_end(uid)
        while len(self._last) > _REMEMBERED_EVENT_OBJECTS:
            self._last.popitem(last=False)


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
