"""Kubernetes API plumbing the runtime shares: JSON reads, error descriptions, list + watch.

Decisions:

- Objects are handled as the API server's JSON (camelCase dicts), not the client's model classes:
  the object builders and the comparisons stay plain data, the same in tests and in production.
- Every watch lists first and then watches from the list's resourceVersion; when the API server goes
  away it lists again with exponential backoff (tenacity), so nothing missed while disconnected is
  lost: a resumed list shows the current state, and the handlers are written for states, not deltas.

Nothing here knows the profile, the webhook or the disks: those modules import this one, never the
other way round.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Any, Final, Protocol

import aiohttp
from kubernetes_asyncio import watch
from kubernetes_asyncio.client.exceptions import ApiException
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential_jitter

logger = logging.getLogger("eci_reference.kube")

#: Server-side watch timeout; each watch is re-opened from its last resourceVersion after it.
WATCH_SECONDS: Final = 300
#: A list or GET that takes longer than this is treated as a failure (and retried).
REQUEST_TIMEOUT_SECONDS: Final = 30
#: A watch that failed after running this long is re-listed at once instead of backing off.
HEALTHY_AFTER_SECONDS: Final = 30.0


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
