"""Events: core/v1 Events about our objects, posted the way client-go posts them.

Posting is best effort (a failure is logged, never raised: an Event must not stop a reconcile), and
a repeated Event increments the previous one's ``count`` instead of adding another, as client-go's
recorder does, so a failure that repeats every resync does not flood the namespace.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from eci_reference.constants import COMPONENT_NAME
from eci_reference.kube import describe_error
from eci_reference.text import trim_utf8

logger = logging.getLogger("eci_reference.events")

_REMEMBERED_EVENT_OBJECTS: Final = 1024


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
    component: str = COMPONENT_NAME,
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
        component: str = COMPONENT_NAME,
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
