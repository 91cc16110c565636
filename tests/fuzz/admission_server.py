"""The reference admission application on a real aiohttp test server, in a thread of its own.

The server gets its own event loop and thread so that a handler that never answers (or blocks its
loop) shows as a client timeout in the test thread, never as a test run that hangs.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import aiohttp
from aiohttp.test_utils import TestServer

from eci_reference.admission import build_admission_app
from eci_reference.constants import ECI_LABEL, MUTATE_PATH
from eci_reference.profile import Profile

from .budget import HANG_SECONDS
from .watchdog import HangError

#: Small enough that the fuzzer's huge values cross it; the real limit (3 MiB) is the same code path.
FUZZ_MAX_BODY_BYTES = 64 * 1024
#: The namespace lookup bound the handler is given; "hangs" exceeds it on every request.
LOOKUP_TIMEOUT_SECONDS = 0.05
NAMESPACES: Mapping[str, Mapping[str, str]] = {
    "default": {},
    "eci": {ECI_LABEL: "true"},
    "gpu": {"gpu": "true"},
}
#: Namespaces whose lookup fails: the handler must deny with 503, not answer 500.
FAILING_NAMESPACES = ("broken", "hangs")


@dataclass
class FuzzContext:
    """The controller's side of the handler: a fixed profile and a namespace table."""

    profile: Profile
    lookups: list[str] = field(default_factory=list)

    def active_profile(self) -> Profile | None:
        return self.profile

    async def namespace_labels(self, name: str) -> Mapping[str, str] | None:
        self.lookups.append(name)
        if name == "broken":
            raise RuntimeError("the API server is unreachable")
        if name == "hangs":
            await asyncio.Event().wait()  # never set: only the handler's own timeout ends this
        return NAMESPACES.get(name)


@dataclass(frozen=True)
class Answer:
    status: int
    text: str


class AdmissionClient:
    """POSTs bodies to ``/mutate`` of a server running in another thread, bounded by ``HANG_SECONDS``."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._loop = asyncio.new_event_loop()
        self._session = self._loop.run_until_complete(self._open())

    async def _open(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HANG_SECONDS))

    def post(self, body: bytes, *, chunked: bool = False, content_type: str = "application/json") -> Answer:
        """The answer to ``body``; ``chunked`` sends it without a Content-Length."""

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(body), 4096):
                yield body[start : start + 4096]

        async def send() -> Answer:
            data = chunks() if chunked else body
            headers = {"Content-Type": content_type}
            async with self._session.post(self._url, data=data, headers=headers) as response:
                return Answer(response.status, await response.text(errors="replace"))

        try:
            return self._loop.run_until_complete(send())
        except TimeoutError:
            raise HangError(f"/mutate did not answer within {HANG_SECONDS:.0f} s") from None

    def close(self) -> None:
        self._loop.run_until_complete(self._session.close())
        self._loop.close()


@contextmanager
def running_admission_server(context: FuzzContext) -> Iterator[AdmissionClient]:
    """Serve ``build_admission_app(context)`` on a local port until the block ends."""
    loop = asyncio.new_event_loop()
    app = build_admission_app(
        context, namespace_lookup_timeout=LOOKUP_TIMEOUT_SECONDS, max_body_bytes=FUZZ_MAX_BODY_BYTES
    )
    server = TestServer(app, host="127.0.0.1")
    thread = threading.Thread(target=loop.run_forever, name="fuzz admission server", daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(server.start_server(), loop).result(HANG_SECONDS)
    client = AdmissionClient(str(server.make_url(MUTATE_PATH)))
    try:
        yield client
    finally:
        client.close()
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(HANG_SECONDS)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(HANG_SECONDS)
        loop.close()
