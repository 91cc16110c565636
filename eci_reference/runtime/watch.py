"""A list-then-watch loop that survives an API server going away and coming back.

Each loop lists (handling every item as ADDED), then watches from the list's resourceVersion. When the
watch ends, expires (410 Gone) or the connection fails, it lists again, after a tenacity backoff for
connection errors — so a restarted API server costs a few seconds of delay, never a crashed process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import tenacity
from kubernetes_asyncio import watch
from kubernetes_asyncio.client import ApiClient
from kubernetes_asyncio.client.exceptions import ApiException

Handler = Callable[[str, dict[str, Any]], Awaitable[None]]
log = logging.getLogger("eci_reference.watch")


async def watch_forever(
    api: ApiClient, name: str, list_fn: Callable[..., Any], handle: Handler, **kwargs: Any
) -> None:
    retrying = tenacity.AsyncRetrying(
        wait=tenacity.wait_exponential(multiplier=0.2, max=5),
        retry=tenacity.retry_if_exception_type(
            (aiohttp.ClientError, OSError, asyncio.TimeoutError, ApiException)
        ),
        before_sleep=lambda state: log.warning(
            "watch %s interrupted (%s); listing again",
            name,
            state.outcome.exception() if state.outcome else "?",
        ),
    )
    while True:
        async for attempt in retrying:
            with attempt:
                await _list_and_watch(api, name, list_fn, handle, **kwargs)


async def _list_and_watch(
    api: ApiClient, name: str, list_fn: Callable[..., Any], handle: Handler, **kwargs: Any
) -> None:
    listed = await list_fn(**kwargs)
    for item in listed.items:
        await _safely(name, handle, "ADDED", api.sanitize_for_serialization(item))
    version = listed.metadata.resource_version
    async with watch.Watch() as stream:
        async for event in stream.stream(list_fn, resource_version=version, timeout_seconds=240, **kwargs):
            kind = event["type"]
            if kind == "ERROR":
                return  # typically 410 Gone: list again
            await _safely(name, handle, kind, event["raw_object"])


async def _safely(name: str, handle: Handler, kind: str, obj: dict[str, Any]) -> None:
    """One bad object must not stop the loop: log it and go on."""
    try:
        await handle(kind, obj)
    except ApiException as error:
        log.error(
            "watch %s: handling %s %s failed: %s %s",
            name,
            kind,
            obj.get("metadata", {}).get("name"),
            error.status,
            error.reason,
        )
    except Exception:
        log.exception("watch %s: handling %s %s failed", name, kind, obj.get("metadata", {}).get("name"))
